#!/bin/bash
# multihost.sh - a farm over 3 hosts writes what a farm on one host writes,
# and a host lost mid-run loses no task: --resume on the hosts left
# finishes the work
#
# Usage: bash tests/e2e/multihost.sh path/to/taskfarm   (or TASKFARM=...)
#
# scripts/netns-hosts.sh makes the hosts tfhost1..3: network namespaces on
# a bridge, with 10.99.0.0/24 inside them only, and an rsh agent that starts
# a command on a host in a UTS namespace of its own named after it (no
# sshd). mpirun runs on tfhost1 and starts its daemons on the other hosts
# through that agent; --map-by node puts the master (rank 0) on tfhost1 and
# 2 workers on each host.
#  1. 60 tasks of 0.05 s, each printing its id and a computed value (and
#     TASKFARM_HOST and the host name on stderr), over 7 ranks: stdout is
#     byte for byte that of `taskfarm -j 2 run` (fork) on this machine, and
#     so are the joblog's Seq, Exitval, Signal and Command columns (in
#     Seq order: lines come in completion order); every
#     task saw TASKFARM_HOST equal to the host name where it ran, the
#     joblog's Host column says the same, and all 3 hosts ran tasks.
#  2. A lost host: the same tasks at 0.3 s each, with --results R. Once R
#     holds some records, every process of tfhost3 (workers only) is
#     killed. Open MPI then ends the whole job: the run must end, non-zero,
#     by itself. `--resume --results R` with 5 ranks on tfhost1 and tfhost2
#     finishes: R holds one successful record of every task, the last of
#     its records (a task has a second record only when the first was not
#     a success); the resumed run skipped what was done and ran only on the
#     hosts left; the output kept in R equals the one-host run's.
#  3. Only tfhost3's worker ranks die, under mpirun --mca
#     orte_abort_on_non_zero_status 0: the job lives on, and the run
#     finishes on the other hosts: every task once and successful, one
#     line naming the two lost workers of tfhost3.
#  4. tfhost3's link goes down mid-run (nothing dies, its peers stop
#     hearing it): the run ends by itself within 30 s (taskfarm notices in
#     TASKFARM_LOST_AFTER=5 s, Open MPI its daemon lost within its own
#     keepalive and ends the job), and --resume on the hosts left finishes.
# Between the two: GPUs and cores per worker on 3 hosts. With
# CUDA_VISIBLE_DEVICES=0,1,2,3 set for every rank, --gpus-per-worker 2 and
# --bind cores, 7 ranks: on each host, local worker 0 saw GPUs 0,1 and
# local worker 1 saw 2,3 (CUDA_VISIBLE_DEVICES and TASKFARM_GPUS); each
# worker's tasks ran on the CPUs TASKFARM_CPUS names, and no two workers of
# a host shared a CPU (the hosts are namespaces of one machine, so CPUs are
# compared within a host). And shared data: share_probe shares 32 MiB;
# tfhost1's interface sends it once to each other host, each other host
# receives it once, and each host holds one copy (every task of a host
# finds it in the same file, tfhost1's master too).
#
# Exit 77 (skipped) only when namespaces cannot be made here (not root, no
# ip or unshare, a kernel or container that refuses) or there is no mpirun
# or no MPI in taskfarm, or the launcher is not Open MPI's.

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

TOP=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
HOSTS=$TOP/scripts/netns-hosts.sh
D=$W/hosts
TFQ=$(q "$TF")
NTASKS=60
MIN_RECORDS=6     # records in R before tfhost3 is killed
MPI_TIMEOUT_S=45  # a run takes a few seconds: more is a hang

if ! have_mpirun; then
    e2e_skip_all "$E2E_NO_MPI"
fi
# The hosts are reached through options of Open MPI's mpirun (an rsh agent,
# its TCP interfaces); MPICH's mpiexec has other ones, not written here.
if [ "$E2E_MPI" != openmpi ]; then
    e2e_skip_all "the hosts are driven through Open MPI's mpirun options (--mca plm_rsh_agent ...); $MPIEXEC is MPICH's"
fi

# hosts_down - remove the hosts (again: down may be called twice); its
# messages become comment lines.
# shellcheck disable=SC2317 # called from the EXIT trap
hosts_down()
{
    bash "$HOSTS" down "$D" 2>&1 | sed 's/^/# /'
}
trap 'hosts_down; e2e_cleanup' EXIT
trap 'exit 129' HUP

# The watchdog (this shell's PID) removes the hosts even if this script is
# killed with SIGKILL.
e2e_hosts_up "$HOSTS" "$D" 3
NS3=$(awk '$1 == "tfhost3" { print $2 }' "$D/hosts")
mkdir "$W/ompi"

# mh_mpirun HOSTFILE NP PROGRAM ARGS... - the command line (a string) that
# runs PROGRAM with NP ranks over the hosts of HOSTFILE, mpirun itself
# started on tfhost1 through the agent and bounded in time. Open MPI's
# session files go to $W/ompi, so a killed run leaves none in /tmp.
mh_mpirun()
{
    local hostfile=$1 np=$2 cmd
    shift 2
    cmd="OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
    cmd="$cmd timeout -k 5 $MPI_TIMEOUT_S $MPIEXEC -np $np --map-by node"
    cmd="$cmd --oversubscribe --bind-to none --hostfile $hostfile"
    cmd="$cmd --mca plm_rsh_agent $D/agent"
    cmd="$cmd --mca oob_tcp_if_include 10.99.0.0/24"
    cmd="$cmd --mca btl_tcp_if_include 10.99.0.0/24 --mca btl tcp,self"
    cmd="$cmd --mca orte_tmpdir_base $W/ompi ${MH_MPIRUN_OPTS:-}$(q "$@")"
    printf '%s %s' "$D/agent tfhost1" "$(q "$cmd")"
}

# --------------------------------------------------- the tasks, on one host
# Task i prints its id and a value computed from it; on stderr, its id,
# TASKFARM_HOST, the host name it runs on, and its worker's place:
# TASKFARM_NODE, _NNODES, _LOCAL_WORKER and _LOCAL_NWORKERS.
T=$W/tasks.txt
for i in $(seq 1 $NTASKS); do
    # shellcheck disable=SC2016 # the task expands it, not this script
    printf 'sleep %s; i=$TASKFARM_TASK_ID; echo "task $i: $((i * i * i %% 1009)) $(echo "task $i" | cksum)"; echo "$i $TASKFARM_HOST $(hostname) $TASKFARM_NODE $TASKFARM_NNODES $TASKFARM_LOCAL_WORKER $TASKFARM_LOCAL_NWORKERS" >&2\n' 0.05
done > "$T"
run_cmd 0 "$TFQ -j 2 -q --joblog $W/one.log run $T > $W/one.out 2> $W/one.err"
check "test \"\$(wc -l < $W/one.out)\" = $NTASKS && test \"\$(head -n 1 $W/one.out)\" = \"task 1: 1 \$(echo 'task 1' | cksum)\""

# ------------------------------------------------- 1. the same, on 3 hosts
run_cmd 0 "$(mh_mpirun "$D/hostfile" 7 "$TF" --joblog "$W/mh.log" run "$T") > $W/mh.out 2> $W/mh.err"
same_file "$W/one.out" "$W/mh.out"
check "cmp <(cut -f 1,7,8,9- $W/one.log | sort -n) <(cut -f 1,7,8,9- $W/mh.log | sort -n)"
check "grep -q -x 'taskfarm: $NTASKS tasks, 0 failed, .* s, 6 workers (mpi), .*' $W/mh.err"
# What each task saw: "ID TASKFARM_HOST HOSTNAME NODE NNODES LOCAL
# LOCAL_N", in task order.
check "grep -E -x '[0-9]+ [^ ]+ [^ ]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+' $W/mh.err > $W/mh.hosts"
check "awk '\$1 != NR || \$2 != \$3 { print; bad = 1 } END { exit bad || NR != $NTASKS }' $W/mh.hosts"
check "test \"\$(cut -d ' ' -f 2 $W/mh.hosts | sort -u | tr '\\n' ' ')\" = 'tfhost1 tfhost2 tfhost3 '"
check "awk -F '\\t' 'NR == FNR { if (FNR > 1) h[\$1] = \$2; next } { split(\$0, f, \" \"); if (h[f[1]] != f[2]) { print; bad = 1 } } END { exit bad }' $W/mh.log $W/mh.hosts"
# Each host is one node: the master's tfhost1 is node 0, then the hosts in
# the order of their first rank (--map-by node: tfhost2, tfhost3); 3 nodes,
# 2 workers on each, whose local indexes are 0 and 1.
check "awk '\$5 != 3 || \$7 != 2 || \$6 > 1 { print; bad = 1 } END { exit bad }' $W/mh.hosts"
check "test \"\$(cut -d ' ' -f 2,4 $W/mh.hosts | sort -u | tr '\\n' ,)\" = 'tfhost1 0,tfhost2 1,tfhost3 2,'"
check "test \"\$(cut -d ' ' -f 2,6 $W/mh.hosts | sort -u | wc -l)\" = 6"

# ------------------------------------- shared data: once per host, one copy
# share_probe (tests/e2e/share_probe.c) shares SHARE_MIB MiB through the C
# API; each task checks every byte and says which file maps them. tfhost1
# sends the data at most once to each other host (its interface's counter),
# each other host receives it once, and each host holds one copy: the
# master and the workers of tfhost1 map one file, the workers of each other
# host one file of their own, of the data's size.
SHARE_MIB=32
# ns_bytes HOST tx|rx - the bytes HOST's interface sent or received so far.
ns_bytes()
{
    ip netns exec "$(awk -v h="$1" '$1 == h { print $2 }' "$D/hosts")" \
        cat "/sys/class/net/eth0/statistics/${2}_bytes"
}
if [ -z "${TF_SHARE_PROBE:-}" ] || [ ! -x "$TF_SHARE_PROBE" ]; then
    e2e_skip "shared data over the hosts" "no share_probe program (TF_SHARE_PROBE)"
else
    for h in tfhost1 tfhost2 tfhost3; do
        echo "$(ns_bytes $h tx) $(ns_bytes $h rx)"
    done > "$W/bytes0"
    run_cmd 0 "$(mh_mpirun "$D/hostfile" 7 "$TF_SHARE_PROBE" $((SHARE_MIB * 1024)) 24 200) > $W/sp.out 2> $W/sp.err"
    for h in tfhost1 tfhost2 tfhost3; do
        echo "$(ns_bytes $h tx) $(ns_bytes $h rx)"
    done > "$W/bytes1"
    # "HOST TX RX": what each host sent and received during the run.
    paste -d ' ' "$W/bytes0" "$W/bytes1" |
        awk '{ printf "tfhost%d %d %d\n", NR, $3 - $1, $4 - $2 }' > "$W/bytes"
    sed 's/^/# bytes sent and received: /' "$W/bytes"
    SZ=$((SHARE_MIB << 20))
    check "awk '\$1 == \"tfhost1\" && \$2 >= $SZ && \$2 < 2.5 * $SZ { ok = 1 } END { exit !ok }' $W/bytes"
    check "awk '\$1 != \"tfhost1\" && \$3 >= $SZ && \$3 < 1.5 * $SZ { n++ } END { exit n != 2 }' $W/bytes"
    # Every task saw the right bytes, on every host.
    check "test \"\$(grep -c '^task .* ok\$' $W/sp.out)\" = 24"
    check "test \"\$(awk '\$1 == \"task\" { print \$3 }' $W/sp.out | sort -u | tr '\\n' ' ')\" = 'tfhost1 tfhost2 tfhost3 '"
    # One file per host (the same for all its tasks and, on tfhost1, the
    # master), three in all, none smaller than the data.
    check "awk '\$1 == \"master\" { print \$2, \$4 } \$1 == \"task\" { print \$3, \$6 }' $W/sp.out | sort -u > $W/sp.where && test \"\$(wc -l < $W/sp.where)\" = 3 && test \"\$(cut -d ' ' -f 2 $W/sp.where | sort -u | wc -l)\" = 3"
    check "awk '{ split(\$2, f, \":\"); if (f[4] < $SZ) { print; bad = 1 } } END { exit bad }' $W/sp.where"
fi

# --------------------------------------- GPUs and cores per worker, 3 hosts
# Each task prints "G HOST LOCAL_WORKER CUDA_VISIBLE_DEVICES TASKFARM_GPUS"
# and the line of lib.sh's CPU_TASK.
G=$W/gpus-cpus.txt
for i in $(seq 1 30); do
    # shellcheck disable=SC2016 # the task expands them
    echo 'sleep 0.1; echo "G $TASKFARM_HOST $TASKFARM_LOCAL_WORKER $CUDA_VISIBLE_DEVICES $TASKFARM_GPUS"; '"$CPU_TASK"
done > "$G"
# (mpirun's -x CUDA_VISIBLE_DEVICES, as an MCA variable, passes it to every
# host.)
run_cmd 0 "CUDA_VISIBLE_DEVICES=0,1,2,3 OMPI_MCA_mca_base_env_list=CUDA_VISIBLE_DEVICES $(mh_mpirun "$D/hostfile" 7 "$TF" -q --chunk 1 --gpus-per-worker 2 --bind cores run "$G") > $W/gc.out 2> $W/gc.err"
check "grep '^G ' $W/gc.out | sort -u | cmp - <(for h in tfhost1 tfhost2 tfhost3; do echo \"G \$h 0 0,1 0,1\"; echo \"G \$h 1 2,3 2,3\"; done)"
check "grep -v '^G ' $W/gc.out > $W/gc.cpus && cpu_blocks_ok $W/gc.cpus 6"

# ------------------------------------------ 2. tfhost3 is lost mid-run
# The same tasks, longer: the same output.
T2=$W/tasks-long.txt
sed 's/^sleep 0\.05;/sleep 0.3;/' "$T" > "$T2"
check "test \"\$(grep -c '^sleep 0\\.3;' $T2)\" = $NTASKS"
R=$W/r
B1="$(mh_mpirun "$D/hostfile" 7 "$TF" -q --results "$R" run "$T2") > $W/b1.out 2> $W/b1.err"
# records R - how many records R holds (0 before it exists).
records()
{
    "$TF" results "$1" 2> /dev/null | tail -n +2 | wc -l
}
# start_until_records CMD R - starts CMD (a string) in the background, its
# PID in BG_PID, and waits until the results file R holds MIN_RECORDS
# records, or CMD ended, or 30 s passed; N is how many R holds then.
start_until_records()
{
    local i
    echo "# in the background: $1"
    (eval "$1") < /dev/null &
    BG_PID=$!
    N=0
    for ((i = 0; i < 300; i++)); do
        N=$(records "$2")
        [ "$N" -ge "$MIN_RECORDS" ] && break
        kill -0 "$BG_PID" 2> /dev/null || break
        sleep 0.1
    done
}
start_until_records "$B1" "$R"
B1_PID=$BG_PID
E2E_N=$((E2E_N + 1))
if [ "$N" -ge "$MIN_RECORDS" ] && [ "$N" -lt "$NTASKS" ]; then
    e2e_ok "$R holds $N records; the run goes on"
else
    e2e_err "$R holds $N records: wanted $MIN_RECORDS to $((NTASKS - 1)) while the run goes on" \
        "$(head -n 10 "$W/b1.err" 2> /dev/null)"
fi
# Every process of tfhost3: its mpirun daemon, the worker ranks, their
# tasks, and the agent that started them; again, for a task forked while
# the others died.
check "test -n \"\$(ip netns pids $NS3)\" && for k in 1 2 3 4 5; do ip netns pids $NS3 | xargs -r kill -9 2> /dev/null; sleep 0.05; done"
wait "$B1_PID"
echo $? > "$W/b1.rc"
run_cmd 0 "awk '\$1 != 0 && \$1 != 124 && \$1 != 137 { ok = 1 } END { exit !ok }' $W/b1.rc" \
    "the run must end by itself, non-zero, when a host is lost (124 or 137: it was stopped by its timeout after $MPI_TIMEOUT_S s): exit status $(cat "$W/b1.rc")"
check "test -z \"\$(ip netns pids $NS3)\""
run_cmd 0 "$TFQ results --all $R > $W/all1.tsv"
# S: the tasks the killed run finished, which --resume skips.
S=$(awk -F '\t' 'NR > 1 && $3 == 0 && !ok[$1]++ { n++ } END { print n + 0 }' \
    "$W/all1.tsv")
check "test $S -ge $MIN_RECORDS && test $S -lt $NTASKS"

# ------------------------------------------- --resume on the hosts left
check "grep -v -w tfhost3 $D/hostfile > $W/hostfile2 && test \"\$(wc -l < $W/hostfile2)\" = 2"
run_cmd 0 "$(mh_mpirun "$W/hostfile2" 5 "$TF" --resume --results "$R" run "$T2") > $W/b2.out 2> $W/b2.err"
check "grep -q -x 'taskfarm: $((NTASKS - S)) tasks, 0 failed, $S skipped (done before), .* s, 4 workers (mpi), .*' $W/b2.err"
run_cmd 0 "$TFQ results --all $R > $W/all.tsv"
# Every task has one successful record, its last one.
check "awk -F '\\t' 'NR > 1 { if (ok[\$1]) { print; bad = 1 } if (\$3 == 0) ok[\$1] = 1 } END { for (i = 1; i <= $NTASKS; i++) if (!ok[i]) { print \"no success: \" i; bad = 1 } exit bad }' $W/all.tsv"
check "test \"\$($TFQ results $R | tail -n +2 | awk -F '\\t' '\$3 == 0' | wc -l)\" = $NTASKS"
# The resumed run's records name only the hosts left.
check "test \"\$(tail -n +\$((\$(wc -l < $W/all1.tsv) + 1)) $W/all.tsv | cut -f 8 | sort -u | tr '\\n' ' ')\" = 'tfhost1 tfhost2 '"
# The output kept in R, task by task, is the one-host run's.
check "for i in \$(seq 1 $NTASKS); do $TFQ results $R --task \$i 2> /dev/null || exit; done > $W/kept.out"
same_file "$W/one.out" "$W/kept.out"

# ------------------- 3. tfhost3's worker ranks die, its mpirun daemon lives
# With --mca orte_abort_on_non_zero_status 0, Open MPI keeps the job when
# ranks die: the master hands the dead workers' tasks to the other hosts'
# and the run finishes, every task once and successful, naming the two
# workers of tfhost3 as lost; mpirun then exits 137 for the killed ranks.
R4=$W/r4
MH_MPIRUN_OPTS="--mca orte_abort_on_non_zero_status 0 "
E1="$(mh_mpirun "$D/hostfile" 7 "$TF" -q --joblog "$W/e1.log" --results "$R4" run "$T2") > $W/e1.out 2> $W/e1.err"
MH_MPIRUN_OPTS=
start_until_records "$E1" "$R4"
E1_PID=$BG_PID
check "test $N -ge $MIN_RECORDS && test $N -lt $NTASKS"
check "for p in \$(ip netns pids $NS3); do test \"\$(cat /proc/\$p/comm 2> /dev/null)\" = taskfarm && kill -9 \$p; done; true"
wait "$E1_PID"
echo $? > "$W/e1.rc"
check "test \"\$(cat $W/e1.rc)\" = 137"
check "grep -Eq '^taskfarm: lost 2 of 6 workers: worker [0-9] on tfhost3 at [0-9:]{8}, worker [0-9] on tfhost3 at [0-9:]{8}\$' $W/e1.err"
check "test \"\$(tail -n +2 $W/e1.log | wc -l)\" = $NTASKS && test \"\$(tail -n +2 $W/e1.log | awk -F '\\t' '\$7 == 0 { print \$1 }' | sort -u | wc -l)\" = $NTASKS"
check "test \"\$($TFQ results $R4 | tail -n +2 | awk -F '\\t' '\$3 == 0' | wc -l)\" = $NTASKS"

# -------------------------------- 4. tfhost3 goes silent: its link is down
# Nothing of tfhost3 dies and nothing closes: its peers only stop hearing
# from it. The master notices its workers lost within TASKFARM_LOST_AFTER
# (here 5 s) by TCP keepalive, and mpirun its daemon within its own
# keepalive (the options below: 2 s idle, then 4 probes 1 s apart); Open
# MPI then ends the job. Whoever is first, the run ends by itself well
# within the bound (no hang until the timeout), and --resume on the hosts
# left finishes the work: one successful record of every task.
R3=$W/r3
MH_MPIRUN_OPTS="--mca oob_tcp_keepalive_time 2 --mca oob_tcp_keepalive_intvl 1 --mca oob_tcp_keepalive_probes 4 -x TASKFARM_LOST_AFTER=5 "
C1="TASKFARM_LOST_AFTER=5 $(mh_mpirun "$D/hostfile" 7 "$TF" -q --results "$R3" run "$T2") > $W/c1.out 2> $W/c1.err"
MH_MPIRUN_OPTS=
start_until_records "$C1" "$R3"
C1_PID=$BG_PID
check "test $N -ge $MIN_RECORDS && test $N -lt $NTASKS"
DOWN_AT=$(date +%s)
check "ip netns exec $NS3 ip link set eth0 down"
wait "$C1_PID"
echo $? > "$W/c1.rc"
echo $(($(date +%s) - DOWN_AT)) > "$W/c1.secs"
check "ip netns exec $NS3 ip link set eth0 up"
run_cmd 0 "awk '\$1 != 124 && \$1 != 137 { ok = 1 } END { exit !ok }' $W/c1.rc && test \$(cat $W/c1.secs) -le 30" \
    "the run must end by itself within 30 s of the link going down: exit status $(cat "$W/c1.rc") after $(cat "$W/c1.secs") s"
echo "# the run ended $(cat "$W/c1.secs") s after the link went down, exit status $(cat "$W/c1.rc")"
run_cmd 0 "$(mh_mpirun "$W/hostfile2" 5 "$TF" --resume --results "$R3" run "$T2") > $W/c2.out 2> $W/c2.err"
run_cmd 0 "$TFQ results --all $R3 > $W/all3.tsv"
check "awk -F '\\t' 'NR > 1 { if (ok[\$1]) { print; bad = 1 } if (\$3 == 0) ok[\$1] = 1 } END { for (i = 1; i <= $NTASKS; i++) if (!ok[i]) { print \"no success: \" i; bad = 1 } exit bad }' $W/all3.tsv"

e2e_finish
