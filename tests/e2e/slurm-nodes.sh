#!/bin/bash
# slurm-nodes.sh - under Slurm, on 3 nodes, a node lost mid-run costs no
# task: taskfarm's master hands the lost workers' tasks to the others and
# the job ends by itself, every task run once
#
# Usage: bash tests/e2e/slurm-nodes.sh path/to/taskfarm   (or TASKFARM=...)
#
# scripts/netns-hosts.sh makes the hosts tfhost1..3 (network namespaces)
# and scripts/slurm-cluster.sh start-hosts a private Slurm cluster with one
# node on each: 2 CPUs per node, SlurmdTimeout=10. Every job is
# slurm/lost-node.sbatch, submitted unchanged from tfhost1 with -N 3
# --ntasks-per-node=2 (the master and 5 workers, 2 of them on tfhost3) and
# TASKS: 60 tasks, each of which starts a background child that sleeps
# 0.5 s and then appends the task's number and host name to a file of the
# task's own, waits for it and prints "task N". Once 10 of those files exist, tfhost3
# is lost in one of three ways:
#  1. ranks: its taskfarm processes are killed (kill -9; slurmd lives). srun
#     exits 137 (the killed ranks' status), so the script's second step,
#     --resume on the same results file, runs and has nothing left to do.
#  2. node: every process of tfhost3 is killed, slurmd and slurmstepd too.
#     srun returns only once slurmctld marks tfhost3 DOWN (25 to 30 s
#     here), exit status 0.
#  3. network: tfhost3's interface goes down, its processes live on. With
#     TASKFARM_LOST_AFTER=5 the master must say both workers are lost
#     within 5 s (plus 3 s for the line to come through srun); once the run
#     has printed its summary the link comes up again.
# Each time the job ends by itself within a bound (JOB_BOUND_S after the
# loss, with tfhost3's DOWN time in it), COMPLETED 0:0, and its output holds
# "lost 2 of 5 workers: worker N on tfhost3 at HH:MM:SS, worker ..." and
# the summary "60 tasks, 0 failed"; "task N" once for every task; the
# joblog every task once, exit status 0; the results file every task once,
# status 0. Every task's file holds one line from the host the joblog
# names for it: the task a lost worker ran was not still running (its
# background child neither) when another worker ran it again. In 3 the
# cut-off workers go on with the tasks they hold until they notice the
# master is gone, so lines from tfhost3 may come on top (the test says how
# many). Between the cases every node must be idle again; at the end the
# cluster stops and none of its daemons may be left.
#
# Exit 77 (skipped) only when namespaces or the cluster cannot be made here
# (not root, ip, unshare, slurm-wlm or munge missing, the kernel refuses),
# there is no mpirun or no MPI in taskfarm, or the MPI is not Open MPI.

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

TOP=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
HOSTS=$TOP/scripts/netns-hosts.sh
CLUSTER=$TOP/scripts/slurm-cluster.sh
SBATCH_SCRIPT=$TOP/slurm/lost-node.sbatch
D=$W/hosts
C=$W/cluster
TFQ=$(q "$TF")
NT=60              # tasks of a job
KILL_AFTER=10      # tasks done before tfhost3 is lost
LOST_AFTER=5       # TASKFARM_LOST_AFTER in case 3
JOB_BOUND_S=75     # a job ends this long after the loss at most
START_BOUND_S=30   # ... and starts its tasks this long after sbatch
IDLE_BOUND_S=60    # the nodes are idle again this long after a job

if ! have_mpirun; then
    e2e_skip_all "srun needs taskfarm with MPI: $E2E_NO_MPI"
fi
if [ "$E2E_MPI" != openmpi ]; then
    e2e_skip_all "written for Open MPI under srun --mpi=pmix; $MPIEXEC is MPICH's"
fi

# shellcheck disable=SC2317 # called from the EXIT trap
teardown()
{
    if [ -n "${NS3:-}" ]; then
        ip netns exec "$NS3" ip link set eth0 up 2> /dev/null
    fi
    bash "$CLUSTER" stop "$C" 2>&1 | sed 's/^/# /'
    bash "$HOSTS" down "$D" 2>&1 | sed 's/^/# /'
}
trap 'teardown; e2e_cleanup' EXIT
trap 'exit 129' HUP

# munged wants every folder above its socket open to all.
chmod go+x "$W"
# The watchdogs (this shell's PID) remove the hosts and stop the cluster
# even if this script is killed with SIGKILL.
e2e_hosts_up "$HOSTS" "$D" 3
NS3=$(awk '$1 == "tfhost3" { print $2 }' "$D/hosts")

START="bash $(q "$CLUSTER") start-hosts $C $D $$"
T0=$SECONDS
ENV_LINE=$(eval "$START" 2> "$W/cluster-start.err" < /dev/null)
RC=$?
if [ "$RC" -eq 77 ]; then
    e2e_skip_all "$(head -n 1 "$W/cluster-start.err")"
fi
if [ "$RC:$ENV_LINE" != "0:export SLURM_CONF=$C/slurm.conf" ]; then
    e2e_err "$START" "exit status $RC, printed '$ENV_LINE'" \
        "$(head -n 10 "$W/cluster-start.err")"
    e2e_finish
fi
e2e_ok "$START"
echo "# cluster idle after $((SECONDS - T0)) s"

# The jobs' environment (sbatch --export=ALL): the binary under test first
# in PATH, as root, Open MPI's shared memory without CMA.
JOB_ENV="export SLURM_CONF=$C/slurm.conf PATH=$(q "${TF%/*}"):\$PATH"
JOB_ENV="$JOB_ENV TASKFARM=$TFQ OMPI_ALLOW_RUN_AS_ROOT=1"
JOB_ENV="$JOB_ENV OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
JOB_ENV="$JOB_ENV OMPI_MCA_btl_vader_single_copy_mechanism=none"

# in1 CMD - the shell command CMD on tfhost1, where the client commands
# work, with the jobs' environment; at most 20 s.
in1()
{
    timeout -k 2 20 "$D/agent" tfhost1 "$JOB_ENV; $1" < /dev/null
}

# nodes_idle, wait_idle and ns_pids run in the checks' command lines.
# shellcheck disable=SC2317
# nodes_idle - every node is idle (not allocated, not down).
nodes_idle()
{
    test "$(in1 "sinfo -h -N -o '%N %T'" 2> /dev/null | awk '$2 == "idle"' |
        sort -u | wc -l)" = 3
}

# shellcheck disable=SC2317
# wait_idle - wait (IDLE_BOUND_S at most) until every node is idle.
wait_idle()
{
    local i
    for ((i = 0; i < IDLE_BOUND_S * 2; i++)); do
        nodes_idle && return 0
        sleep 0.5
    done
    return 1
}

# shellcheck disable=SC2317
# ns_pids NS [COMM] - the PIDs in network namespace NS (named COMM only).
ns_pids()
{
    local p
    for p in $(ip netns pids "$1" 2> /dev/null); do
        if [ -z "${2:-}" ] || [ "$(cat "/proc/$p/comm" 2> /dev/null)" = "$2" ]; then
            echo "$p"
        fi
    done
}

# now - seconds since the epoch, to the millisecond.
now()
{
    date +%s.%3N
}

# case_run NAME HOW [ENV] - one job of lost-node.sbatch in $W/NAME with
# tasks of its own; once KILL_AFTER tasks have ended, tfhost3 is lost as
# HOW says (ranks, node or link); then the checks.
case_run()
{
    local name=$1 how=$2 env=${3:-} p=$W/$1 i j n t_sub t_loss t_end state out
    local lost_t line_t sum_t
    mkdir "$p"
    for ((i = 1; i <= NT; i++)); do
        echo "(sleep 0.5; echo $i \$(hostname) >> $p/ran.$i) & wait; echo task $i"
    done > "$p/t.txt"
    echo "# $name: tfhost3 lost by: $how"
    if ! run_cmd 0 "wait_idle"; then
        return 1
    fi
    t_sub=$(now)
    if ! run_cmd 0 "in1 $(q "$env sbatch --parsable --chdir=$p -N 3 --ntasks-per-node=2 --export=ALL,TASKS=$p/t.txt $SBATCH_SCRIPT") > $p/jobid"; then
        return 1
    fi
    j=$(cut -d';' -f1 "$p/jobid")
    out=$p/taskfarm-lost-node-$j.out
    # KILL_AFTER tasks done (their files written).
    n=0
    for ((i = 0; i < START_BOUND_S * 10; i++)); do
        n=$(find "$p" -name 'ran.*' | wc -l)
        [ "$n" -ge "$KILL_AFTER" ] && break
        sleep 0.1
    done
    E2E_N=$((E2E_N + 1))
    if [ "$n" -ge "$KILL_AFTER" ] && [ "$n" -lt "$NT" ]; then
        e2e_ok "$name: job $j has run $n tasks of $NT; the run goes on"
    else
        e2e_err "$name: job $j has run $n tasks of $NT: wanted $KILL_AFTER to $((NT - 1)) within $START_BOUND_S s" \
            "$(in1 "scontrol show job $j" 2> /dev/null | head -n 5)" \
            "$(head -n 10 "$out" 2> /dev/null)"
        in1 "scancel $j" > /dev/null 2>&1
        return 1
    fi
    check "test \"\$(ns_pids $NS3 taskfarm | wc -l)\" = 2"
    t_loss=$(now)
    case $how in
    ranks)
        check "for k in 1 2 3; do ns_pids $NS3 taskfarm | xargs -r kill -9; sleep 0.05; done; test -z \"\$(ns_pids $NS3 taskfarm)\""
        ;;
    node)
        # slurmd, slurmstepd, the ranks, their tasks; again, for a
        # process forked while the others died.
        check "for k in 1 2 3 4 5; do ns_pids $NS3 | xargs -r kill -9; sleep 0.05; done; test -z \"\$(ns_pids $NS3)\""
        ;;
    link)
        check "ip netns exec $NS3 ip link set eth0 down"
        ;;
    esac
    # Wait for the job's end; a link that went down comes up once the
    # run has printed its summary.
    state=
    for ((i = 0; i < JOB_BOUND_S * 4; i++)); do
        if [ "$how" = link ] && [ -z "$sum_t" ]; then
            if [ -z "$line_t" ] && grep -q "^taskfarm: worker .* is lost" "$out" 2> /dev/null; then
                line_t=$(now)
            fi
            if grep -q "^taskfarm: $NT tasks, " "$out" 2> /dev/null; then
                sum_t=$(now)
                run_cmd 0 "ip netns exec $NS3 ip link set eth0 up"
            fi
        fi
        state=$(in1 "squeue -h -j $j -o %T" 2> /dev/null)
        [ -z "$state" ] && break
        sleep 0.25
    done
    t_end=$(now)
    if [ -n "$state" ]; then
        e2e_err "$name: job $j ends within $JOB_BOUND_S s of the loss" \
            "still $state: $(tail -n 5 "$out" 2> /dev/null)"
        in1 "scancel $j" > /dev/null 2>&1
        if [ "$how" = link ]; then
            ip netns exec "$NS3" ip link set eth0 up
        fi
        sleep 6
    else
        e2e_ok "$name: job $j ends within $JOB_BOUND_S s of the loss"
    fi
    echo "# $name: job $j: loss $(awk -v a="$t_sub" -v b="$t_loss" 'BEGIN { printf "%.1f", b - a }') s after sbatch, job gone $(awk -v a="$t_loss" -v b="$t_end" 'BEGIN { printf "%.1f", b - a }') s after the loss"
    grep -E '^(lost-node|srun): ' "$out" 2> /dev/null | sed 's/^/#   /'
    check "in1 'scontrol show job $j' > $p/state && grep -q ' JobState=COMPLETED ' $p/state && grep -q ' ExitCode=0:0' $p/state"
    check "grep -Eq '^taskfarm: lost 2 of 5 workers: worker [1-5] on tfhost3 at [0-9:]{8}, worker [1-5] on tfhost3 at [0-9:]{8}\$' $out"
    check "grep -q '^taskfarm: $NT tasks, 0 failed, .* 5 workers (mpi)' $out"
    check "test \"\$(grep '^task ' $out | sort -k 2n)\" = \"\$(seq 1 $NT | sed 's/^/task /')\""
    L=$p/taskfarm-$j.joblog
    check "test \"\$(tail -n +2 $L | awk -F '\\t' '\$7 == 0 && \$8 == 0 { print \$1 }' | sort -n | uniq)\" = \"\$(seq 1 $NT)\" && test \"\$(tail -n +2 $L | wc -l)\" = $NT"
    check "$TFQ results --all $p/taskfarm-$j.results > $p/all.tsv && test \"\$(tail -n +2 $p/all.tsv | awk -F '\\t' '\$3 == 0 && \$4 == 0 { print \$1 }' | sort -n | uniq)\" = \"\$(seq 1 $NT)\" && test \"\$(tail -n +2 $p/all.tsv | wc -l)\" = $NT"
    # Every task's background child wrote once, on the host the joblog
    # names: nothing of a lost worker's task ran on while another worker
    # ran it again. In 3, the cut-off workers on tfhost3 may also have run
    # the tasks they held: extra lines, from tfhost3 only.
    check "test \"\$(ls $p | grep -c '^ran\\.')\" = $NT"
    cat "$p"/ran.* > "$p/ran.all" 2> /dev/null
    check "awk -v extra=$([ "$how" = link ] && echo 1 || echo 0) 'NR == FNR { split(\$0, f, \"\\t\"); if (FNR > 1) h[f[1]] = f[2]; next } \$2 == h[\$1] { ok[\$1]++; next } extra && \$2 == \"tfhost3\" { next } { print; bad = 1 } END { for (i = 1; i <= $NT; i++) if (ok[i] != 1) { print i, ok[i] + 0; bad = 1 } exit bad }' $L $p/ran.all"
    echo "# $name: $(($(wc -l < "$p/ran.all") - NT)) tasks ran twice (on tfhost3, cut off)"
    if [ "$how" = link ]; then
        # The lost line came within LOST_AFTER of the cut (its time is to
        # the second), and through srun within 3 s more.
        lost_t=$(grep -m 1 -o '^taskfarm: worker .* is lost (at [0-9:]*)' "$out" | sed 's/.*(at \(.*\))/\1/')
        echo "# $name: link down at $(date -d "@$t_loss" +%T.%3N), first lost line says $lost_t, seen here $(awk -v a="$t_loss" -v b="${line_t:-0}" 'BEGIN { printf "%.1f", b - a }') s after the cut"
        check "test -n '$lost_t' && test \$((\$(date -d '$lost_t' +%s) - ${t_loss%.*})) -le $LOST_AFTER && test -n '$line_t' && awk 'BEGIN { exit !($line_t - $t_loss <= $LOST_AFTER + 3) }'"
    fi
}

case_run ranks ranks
case_run link link "TASKFARM_LOST_AFTER=$LOST_AFTER"
case_run node node
# The killed slurmstepd left its socket, which stop would wait for.
check "test -z \"\$(ns_pids $NS3)\" && find $C/spool/tfhost3 -maxdepth 1 -type s -delete"

# No daemon of the cluster may outlive stop.
PIDS=$(cat "$C"/pid.* 2> /dev/null | tr '\n' ',')
T0=$SECONDS
run_cmd 0 "bash $(q "$CLUSTER") stop $C"
echo "# cluster stopped in $((SECONDS - T0)) s"
check "test -n '$PIDS' && ! ps -p '${PIDS%,}' > /dev/null"

e2e_finish
