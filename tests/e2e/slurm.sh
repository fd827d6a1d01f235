#!/bin/bash
# slurm.sh - every shipped slurm/*.sbatch script, submitted unchanged to a
# private single-node Slurm cluster, ends COMPLETED with the output it
# promises
#
# Usage: bash tests/e2e/slurm.sh path/to/taskfarm   (or TASKFARM=...)
#
# scripts/slurm-cluster.sh starts the cluster in the scratch directory: one
# node named after `hostname -s`, with 8 CPUs, whatever the machine has.
# The jobs find the taskfarm under test first in PATH. A script is adapted
# only through the variables its opening comment documents and through
# sbatch options that override its #SBATCH lines: one node, 3 tasks (the
# master and 2 workers), --chdir to a folder of its own; the launchers of
# the build's MPI (lib.sh): MPIRUN, and TASKFARM_SRUN_MPI=pmi2 for MPICH
# (Open MPI's pmix is the scripts' default). All jobs are
# submitted at once and polled with squeue; then each must be COMPLETED
# with exit code 0 (scontrol show job), and its output must show that the
# work was done:
#   run-srun, run-mpirun  50 tasks that print "$TASKFARM_TASK_ID
#                         $TASKFARM_HOST $TASKFARM_NODE/$TASKFARM_NNODES
#                         $TASKFARM_LOCAL_NWORKERS": all 50 lines, in
#                         order, with the node's name, node 0 of 1 and its
#                         2 workers (run-mpirun: in its --output file, and
#                         50 records in its results file); a joblog of 50 lines, all exit 0, all
#                         on the node; the summary names 2 MPI workers
#   gpu                   --gpus-per-node=2 of the cluster's 4 GPUs
#                         (device files that are not GPUs: Slurm sets
#                         CUDA_VISIBLE_DEVICES=0,1 for the step as on a GPU
#                         node), 30 tasks that print their local worker,
#                         CUDA_VISIBLE_DEVICES and TASKFARM_GPUS, and
#                         lib.sh's CPU_TASK line: local worker 0 saw GPU 0
#                         and 1 saw 1, each worker ran on the CPUs
#                         TASKFARM_CPUS names, and the 2 workers shared
#                         none; a joblog of 30 lines, all exit 0
#   pi                    SAMPLES=2e8: the estimate line is the one a local
#                         run gives (it depends on nothing else) and within
#                         6 standard errors of pi
#   linalg                GEMM_N=300, SOLVE_COUNT=40, SOLVE_N=64: gemm's
#                         check < 1e-12, 40 residuals < 1e-12, none failed
#   shared-input          A and B: raw doubles of 300 x 300 matrices
#                         written here (1.4 MB: they go by broadcast into a
#                         shared memory window), CHECK=1: the check < 1e-12
#                         and C's checksum that of `taskfarm -j 2 linalg
#                         gemm` on the same files
#   linkcheck             CRAWL of a 12-page site served by a private nginx
#                         on 127.0.0.1 (scripts/httpd.sh), OUT in the
#                         scratch directory: the job ends FAILED 1:0 (dead
#                         links found, taskfarm's exit status), the report
#                         has every URL of the site once, the dead set is
#                         exactly the 2 missing pages, each found on the
#                         page that links to it, and the job's output
#                         lists them
#   long-run              40 tasks "sleep 0.3; echo $TASKFARM_TASK_ID"
#                         (about 6 s on 2 workers), MARGIN=1s, RESULTS in
#                         the scratch directory, --time=10. Once the
#                         results file holds a few tasks, the test sends
#                         what --signal=B:USR1 would, early:
#                         scancel -b -s USR1 (the batch shell only). Run 1
#                         drains, exits 5 and requeues the job; run 2
#                         resumes and ends it COMPLETED with Restarts=1.
#                         The results file holds tasks 1..40 once each,
#                         all status 0, some from each run; the output
#                         (appended to) holds each task's line once
#   lost-node             the 50 tasks of run-srun, nothing lost (the
#                         losses are tests/e2e/slurm-nodes.sh's, on 3
#                         nodes): the same 50 lines, the summary, 50
#                         records in its results file, its one step ended
#                         with srun exit status 0 and the job with 0
# and one job that is no shipped script, given with --wrap:
#   deadline              taskfarm run --deadline-margin 50s under srun, 20
#                         tasks "sleep 4", in a job of --time=1: its end,
#                         which taskfarm asks squeue for (Slurm 22.05 sets
#                         no SLURM_JOB_END_TIME), is 60 s away, so 10 s of
#                         work are left. Without any signal taskfarm
#                         hands out no more tasks, says so, and exits 5
#                         well before the limit (the job FAILED, 5:0);
#                         its results file holds 1..19 tasks, all status 0
# and, under MPICH, srun --mpi=none: the mismatch said once, exit 3.
# A new script without a case here is an error: add its checks below.
# Finally the cluster stops and none of its daemons may be left.
#
# Every shipped script asks for --exclusive (whole nodes), so these jobs
# run one after another; the deadline job, which does not, waits its turn.
#
# Exit 77 (skipped) only when the cluster cannot start here (not root,
# Slurm or munge not installed, its ports taken) or taskfarm has no MPI.

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

TOP=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
CLUSTER=$TOP/scripts/slurm-cluster.sh
CDIR=$W/cluster
# The jobs run one after another (--exclusive); sanitizer builds are slow.
JOB_TIMEOUT_S=200
NTASKS=3
WORKERS=$((NTASKS - 1))
NTASKLINES=50
GPU_TASKS=30
# long-run: tasks, and how many the results file shows before the signal.
LONG_TASKS=40
LONG_SIGNAL_AFTER=3
# deadline: tasks of 4 s; the job's limit (1 minute) less the margin
# leaves 10 s for them; the run must end well before the limit.
DL_TASKS=20
DL_MARGIN=50s
DL_MAX_S=30

if ! have_mpirun; then
    e2e_skip_all "srun needs taskfarm with MPI: $E2E_NO_MPI"
fi

# cluster_stop - stop the cluster (again: stop may be called twice); its
# messages become comment lines.
# shellcheck disable=SC2317 # called from the EXIT trap
cluster_stop()
{
    bash "$CLUSTER" stop "$CDIR" 2>&1 | sed 's/^/# /'
}
HTTPD=$TOP/scripts/httpd.sh
# shellcheck disable=SC2317 # called from the EXIT trap
httpd_stop()
{
    bash "$HTTPD" stop "$W/httpd" 2>&1 | sed 's/^/# /'
}
trap 'cluster_stop; httpd_stop; e2e_cleanup' EXIT

# munged wants every folder above its socket open to all.
chmod go+x "$W"
START="bash $(q "$CLUSTER") start $CDIR $$"
ENV_LINE=$(eval "$START" 2> "$W/cluster-start.err" < /dev/null)
RC=$?
if [ "$RC" -eq 77 ]; then
    e2e_skip_all "$(head -n 1 "$W/cluster-start.err")"
fi
case $RC:$ENV_LINE in
"0:export SLURM_CONF=$CDIR/slurm.conf")
    e2e_ok "$START"
    eval "$ENV_LINE"
    ;;
*)
    e2e_err "$START" "exit status $RC, printed '$ENV_LINE'" \
        "$(head -n 10 "$W/cluster-start.err")"
    e2e_finish
    ;;
esac

# The jobs inherit this environment (--export=ALL): the binary under test
# comes first in PATH, and the scripts' default TASKFARM=taskfarm finds it.
export PATH=${TF%/*}:$PATH
unset TASKFARM
EXPORTS=ALL
if [ "${TF##*/}" != taskfarm ]; then
    EXPORTS=$EXPORTS,TASKFARM=$TF
fi
# The scripts' launchers for the MPI of the build: mpirun (MPIRUN), and
# srun's --mpi (TASKFARM_SRUN_MPI) where the scripts' default, pmix, is not
# it. Open MPI as root; no single-copy shared memory in containers.
unset TASKFARM_SRUN_MPI MPIRUN
EXPORTS=$EXPORTS,MPIRUN=$MPIEXEC
if [ "$E2E_SRUN_MPI" != pmix ]; then
    EXPORTS=$EXPORTS,TASKFARM_SRUN_MPI=$E2E_SRUN_MPI
fi
if [ "$E2E_MPI" = openmpi ]; then
    EXPORTS=$EXPORTS,OMPI_ALLOW_RUN_AS_ROOT=1,OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    EXPORTS=$EXPORTS,OMPI_MCA_btl_vader_single_copy_mechanism=none
fi
echo "# export SLURM_CONF=$SLURM_CONF PATH=\"${TF%/*}:\$PATH\""

NODE=$(sinfo -h -o %N 2> /dev/null)
echo "# node: $NODE"

for ((i = 0; i < NTASKLINES; i++)); do
    echo "echo \$TASKFARM_TASK_ID \$TASKFARM_HOST \$TASKFARM_NODE/\$TASKFARM_NNODES \$TASKFARM_LOCAL_NWORKERS"
done > "$W/tasks.txt"
# One node of the run (0 of 1), with all the workers.
for ((i = 1; i <= NTASKLINES; i++)); do
    echo "$i $NODE 0/1 $WORKERS"
done > "$W/tasks.expect"
for ((i = 0; i < LONG_TASKS; i++)); do
    echo "sleep 0.3; echo \$TASKFARM_TASK_ID"
done > "$W/long.txt"
for ((i = 0; i < GPU_TASKS; i++)); do
    # shellcheck disable=SC2016 # the task expands them
    echo 'sleep 0.1; echo "G $TASKFARM_LOCAL_WORKER $CUDA_VISIBLE_DEVICES $TASKFARM_GPUS"; '"$CPU_TASK"
done > "$W/gpu.txt"
seq 1 "$LONG_TASKS" > "$W/long.expect"
for ((i = 0; i < DL_TASKS; i++)); do
    echo "sleep 4"
done > "$W/sleep4.txt"

# The site linkcheck.sbatch crawls: index links to p1..p10 and to two
# pages that do not exist; each page links back to the index and on to the
# next page.
mkdir -p "$W/site"
{
    echo '<html><body>'
    for ((i = 1; i <= 10; i++)); do echo "<a href=\"p$i.html\">$i</a>"; done
    echo '<a href="/gone1.html">gone</a> <a href="./gone2.html#x">gone</a>'
    echo '</body></html>'
} > "$W/site/index.html"
for ((i = 1; i <= 10; i++)); do
    echo "<html><a href=\"/\">home</a> <a href=\"p$(((i % 10) + 1)).html\">next</a></html>" > "$W/site/p$i.html"
done
HTTP_PORT=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SITE=http://127.0.0.1:$HTTP_PORT
LC_OK=0
if run_cmd 0 "bash $(q "$HTTPD") start $W/httpd $W/site $HTTP_PORT"; then
    LC_OK=1
fi

# ------------------------------------------------------------ submit all
# Each job runs in $W/NAME; $W/NAME/jobid holds its id.
NAMES=
JOBS=
LONG_J=
LONG_R=$W/long-run/results
DL_R=$W/deadline/results

# submit NAME SBATCH-ARGS - submit job NAME (its directory made already).
submit()
{
    local name=$1 j
    if run_cmd 0 "sbatch --parsable --chdir=$W/$name --nodes=1 --ntasks-per-node=$NTASKS $2 > $W/$name/jobid"; then
        j=$(cut -d';' -f1 "$W/$name/jobid")
        NAMES="$NAMES $name"
        JOBS="$JOBS${JOBS:+,}$j"
        if [ "$name" = long-run ]; then
            LONG_J=$j
        fi
    fi
}

# long-run first: its requeued run waits about cred_expire, while the
# others run.
for s in "$TOP"/slurm/long-run.sbatch "$TOP"/slurm/*.sbatch; do
    name=${s##*/}
    name=${name%.sbatch}
    [ ! -d "$W/$name" ] || continue
    time=
    case $name in
    run-srun | run-mpirun | lost-node) vars=,TASKS=$W/tasks.txt ;;
    gpu)
        vars=,TASKS=$W/gpu.txt
        time=" --gpus-per-node=2"
        ;;
    pi) vars=,SAMPLES=2e8 ;;
    linalg) vars=,GEMM_N=300,SOLVE_COUNT=40,SOLVE_N=64 ;;
    shared-input)
        python3 -c 'import random, struct, sys
random.seed(7)
for f in sys.argv[1:]:
    with open(f, "wb") as o:
        o.write(struct.pack("<90000d", *(random.uniform(-1, 1) for _ in range(90000))))' \
            "$W/A.bin" "$W/B.bin"
        vars=,A=$W/A.bin,B=$W/B.bin,CHECK=1
        ;;
    linkcheck)
        if [ "$LC_OK" != 1 ]; then
            e2e_err "$s" "not submitted: the web server it crawls did not start"
            continue
        fi
        vars=,CRAWL=$SITE/,OUT=$W/linkcheck/report.jsonl
        ;;
    long-run)
        vars=,TASKS=$W/long.txt,RESULTS=$LONG_R,MARGIN=1s
        time=" --time=10"
        ;;
    *)
        e2e_err "$s" "no checks for slurm/$name.sbatch: add a case to tests/e2e/slurm.sh"
        continue
        ;;
    esac
    mkdir "$W/$name"
    submit "$name" "--export=$EXPORTS$vars$time $(q "$s")"
done

# deadline: taskfarm under srun with no --deadline, in a job of 1 minute.
# The batch shell is sh, so the elapsed time comes from date.
mkdir "$W/deadline"
DL_WRAP="t0=\$(date +%s); srun --mpi=$E2E_SRUN_MPI \"\${TASKFARM:-taskfarm}\" run --results $DL_R --deadline-margin $DL_MARGIN $W/sleep4.txt; rc=\$?; echo \"taskfarm exit status \$rc after \$((\$(date +%s) - t0)) s\"; exit \$rc"
submit deadline "--time=1 --export=$EXPORTS --output=$W/deadline/deadline-%j.out --error=$W/deadline/deadline-%j.err --wrap=$(q "$DL_WRAP")"

# ------------------------------------------------------------ wait
# results_count FILE - the records in results file FILE so far (0 while it
# does not exist; a torn last record is not counted).
results_count()
{
    "$TF" results "$1" --all 2> /dev/null | tail -n +2 | wc -l
}

# squeue lists a job until it has ended; a requeued job stays listed
# (PENDING) until it runs again. Meanwhile, once long-run's results file
# shows LONG_SIGNAL_AFTER tasks, its batch shell gets USR1: Slurm's
# --signal=B:USR1@120, sent early.
DEADLINE=$((SECONDS + JOB_TIMEOUT_S))
LEFT=
SIGNAL_AT=  # when USR1 went out, seconds since the epoch
SIGNAL_SEEN= # the records the results file held then
if [ -n "$JOBS" ]; then
    while :; do
        LEFT=$(squeue -h -j "$JOBS" -o '%i %T' 2> /dev/null)
        if [ -z "$LEFT" ] || [ "$SECONDS" -ge "$DEADLINE" ]; then
            break
        fi
        if [ -n "$LONG_J" ] && [ -z "$SIGNAL_AT" ]; then
            n=$(results_count "$LONG_R")
            if [ "$n" -ge "$LONG_SIGNAL_AFTER" ]; then
                SIGNAL_AT=$(date +%s.%N)
                SIGNAL_SEEN=$n
                run_cmd 0 "scancel -b -s USR1 $LONG_J"
                echo "# USR1 sent at $SIGNAL_AT, with $n tasks in $LONG_R"
                continue
            fi
        fi
        sleep 0.3
    done
fi

# job_ended NAME [STATE EXITCODE] - the job of NAME has ended in STATE with
# EXITCODE (default: COMPLETED, 0:0); sets J and OUT (its output file).
job_ended()
{
    local name=$1 want=${2:-COMPLETED} code=${3:-0:0} cmd state
    J=$(cut -d';' -f1 "$W/$name/jobid")
    OUT=$(echo "$W/$name/"*"-$J.out")
    cmd="scontrol show job $J > $W/$name/state && grep -q ' JobState=$want ' $W/$name/state && grep -q ' ExitCode=$code' $W/$name/state"
    E2E_N=$((E2E_N + 1))
    if (eval "$cmd") > /dev/null 2>&1; then
        e2e_ok "$cmd"
        return 0
    fi
    state=$(grep -o -E '(JobState|Reason|ExitCode)=[^ ]*' "$W/$name/state" 2> /dev/null | tr '\n' ' ')
    case " $LEFT" in
    *" $J "*) state="still in the queue after ${JOB_TIMEOUT_S} s: $state" ;;
    esac
    e2e_err "$cmd" "job $J ($name): ${state:-unknown to scontrol}" \
        "$(head -c 2000 "$OUT" 2> /dev/null | head -n 15)" \
        "$(grep -F -e "[$J." "$CDIR/log/slurmd.log" 2> /dev/null | tail -n 5)"
    return 1
}

# ------------------------------------------------------------ wrong --mpi
# srun with no PMI (--mpi=none) starts 3 processes that MPI sees as 3 jobs
# of 1 rank each. Where MPI_Init returns to taskfarm then (MPICH; Open MPI's
# ends the process with a message of its own), rank 0 alone says why, in
# one line, and the run exits 3. Run once the jobs have left the node.
if [ "$E2E_MPI" = mpich ]; then
    run_cmd 3 "timeout -k 5 60 srun --mpi=none -N 1 -n 3 --overcommit $(q "$TF") run $W/tasks.txt > $W/mpi-none.out 2> $W/mpi-none.err"
    check "test ! -s $W/mpi-none.out && test \"\$(grep -c '^taskfarm: ' $W/mpi-none.err)\" = 1 && grep -q '^taskfarm: MPI sees 1 rank where the launcher started 3: .*check --mpi' $W/mpi-none.err"
fi

# ------------------------------------------------------------ check each
for name in $NAMES; do
    if [ "$name" = deadline ]; then
        # taskfarm's exit status 5 is the job's.
        job_ended "$name" FAILED 5:0 || continue
    elif [ "$name" = linkcheck ]; then
        # Dead links found: taskfarm's exit status 1 is the job's.
        job_ended "$name" FAILED 1:0 || continue
    else
        job_ended "$name" || continue
    fi
    check "test -f $OUT"
    case $name in
    run-*)
        # The job's output holds the tasks' stdout (under mpirun, the file
        # --output names) and taskfarm's stderr.
        if [ "$name" = run-mpirun ]; then
            cp "$W/$name/taskfarm-$J.txt" "$W/$name/tasks.out"
            check "test \"\$($(q "$TF") results $W/$name/taskfarm-$J.results | tail -n +2 | wc -l)\" = $NTASKLINES"
        else
            grep -v '^taskfarm: ' "$OUT" > "$W/$name/tasks.out"
        fi
        same_file "$W/tasks.expect" "$W/$name/tasks.out"
        check "grep -q -x 'taskfarm: $NTASKLINES tasks, 0 failed, .* s, $WORKERS workers (mpi), .* tasks/s' $OUT"
        L=$W/$name/taskfarm-$J.joblog
        check "head -n 1 $L | grep -q -x 'Seq.Host.Starttime.JobRuntime.Send.Receive.Exitval.Signal.Command'"
        check "tail -n +2 $L | sort -n | awk -F '\\t' '{ n++; if (\$1 != n || \$2 != \"$NODE\" || \$7 != 0 || \$8 != 0) bad++ } END { exit !(n == $NTASKLINES && !bad) }'"
        ;;
    lost-node)
        grep -v -e '^taskfarm: ' -e '^lost-node: ' "$OUT" > "$W/$name/tasks.out"
        same_file "$W/tasks.expect" "$W/$name/tasks.out"
        check "grep -q -x 'taskfarm: $NTASKLINES tasks, 0 failed, .* s, $WORKERS workers (mpi), .* tasks/s' $OUT"
        check "test \"\$($(q "$TF") results $W/$name/taskfarm-$J.results | tail -n +2 | wc -l)\" = $NTASKLINES"
        check "grep -q '^lost-node: job $J step 1 ends .*, srun exit status 0\$' $OUT && ! grep -q 'step 2' $OUT && grep -q '^lost-node: job $J ends .*, exit status 0\$' $OUT"
        ;;
    gpu)
        grep -v '^taskfarm: ' "$OUT" > "$W/gpu/tasks.out"
        check "grep '^G ' $W/gpu/tasks.out | sort -u | cmp - <(printf 'G 0 0 0\\nG 1 1 1\\n')"
        check "grep -v '^G ' $W/gpu/tasks.out > $W/gpu/cpus && cpu_blocks_ok $W/gpu/cpus $WORKERS"
        check "tail -n +2 $W/gpu/taskfarm-$J.joblog | awk -F '\\t' '\$7 != 0 { bad++ } END { exit !(NR == $GPU_TASKS && !bad) }'"
        ;;
    pi)
        head -n 1 "$OUT" > "$W/pi/line"
        check "grep -q -x 'pi = 3\\.[0-9]\\{12\\}  stderr = [0-9.]*e-[0-9]*  samples = 200000000  hits = [0-9]*' $W/pi/line"
        check "awk '{ d = \$3 - 3.14159265358979324; if (d < 0) d = -d; exit !(\$6 > 0 && d < 6 * \$6) }' $W/pi/line"
        check "grep -q -x 'rate = .* samples/s  time = .* s  workers = $WORKERS' $OUT"
        run_cmd 0 "$(q "$TF") -j 2 pi --samples 2e8 > $W/pi/local.out"
        head -n 1 "$W/pi/local.out" > "$W/pi/local.line"
        same_file "$W/pi/local.line" "$W/pi/line"
        ;;
    linalg)
        check "grep -q -x 'gemm n=300: .* s, .* GFLOP/s, $WORKERS workers, [0-9]* blocks of .*rows' $OUT"
        check "awk '/^check: max relative error / { e = \$NF; n++ } END { exit !(n == 1 && e + 0 < 1e-12) }' $OUT"
        check "test \"\$(grep -c -E '^[0-9]+ n=64 residual ' $OUT)\" = 40"
        check "awk '/^[0-9]+ n=64 residual / && \$NF + 0 >= 1e-12 { bad++ } END { exit bad > 0 }' $OUT"
        check "grep -q -x 'solve: 40 systems, 0 failed, max residual [0-9.e+-]*, .* s, .* systems/s, $WORKERS workers' $OUT"
        ;;
    shared-input)
        check "grep -q -x 'gemm n=300: .* s, .* GFLOP/s, $WORKERS workers, [0-9]* blocks of .*rows' $OUT"
        check "awk '/^check: max relative error / { e = \$NF; n++ } END { exit !(n == 1 && e + 0 < 1e-12) }' $OUT"
        run_cmd 0 "$(q "$TF") -j $WORKERS linalg gemm --a $W/A.bin --b $W/B.bin --print-checksum > $W/shared-input/local.out"
        check "test -n \"\$(grep '^checksum: ' $OUT)\" && test \"\$(grep '^checksum: ' $OUT)\" = \"\$(grep '^checksum: ' $W/shared-input/local.out)\""
        ;;
    linkcheck)
        R=$W/linkcheck/report.jsonl
        # Each URL once, ok or dead, with the pages it is on (sorted).
        python3 -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(r["url"], "ok" if r["ok"] else "dead", *sorted(r["found_on"]))' "$R" | sort > "$W/linkcheck/got"
        python3 -c 'import sys
s = sys.argv[1]
rows = [(s + "/", "ok", sorted(s + "/p%d.html" % i for i in range(1, 11)))]
rows += [(s + "/gone%d.html" % i, "dead", [s + "/"]) for i in (1, 2)]
rows += [(s + "/p%d.html" % i, "ok", sorted([s + "/", s + "/p%d.html" % ((i + 8) % 10 + 1)])) for i in range(1, 11)]
for u, st, refs in rows:
    print(u, st, *refs)' "$SITE" | sort > "$W/linkcheck/want"
        same_file "$W/linkcheck/want" "$W/linkcheck/got"
        check "grep -q -x 'linkcheck: report in $R, exit status 1' $OUT"
        check "test \"\$(grep -c '\"ok\": *false' $OUT)\" = 2"
        ;;
    long-run)
        if [ -z "$SIGNAL_AT" ]; then
            e2e_err "scancel -b -s USR1 $J" "never sent: $LONG_R did not show $LONG_SIGNAL_AFTER tasks while the job ran"
        fi
        check "grep -q ' Restarts=1 ' $W/$name/state"
        # Run 1 drained, exited 5 and requeued the job; run 2 ended it.
        check "grep -q '^taskfarm: handed out no more tasks: .* asked the run to finish\$' $OUT"
        check "awk '/^long-run: job $J run 1 ends .*, taskfarm exit status 5\$/ { a = NR } /^long-run: tasks are left: requeueing job $J\$/ && a { b = NR } /^long-run: job $J run 2 starts / && b { c = NR } /^long-run: job $J run 2 ends .*, taskfarm exit status 0\$/ && c { d = NR } /^long-run: job $J run 3 / { bad = 1 } END { exit !(d && !bad) }' $OUT"
        # Every task's line once in the output, appended to by both runs.
        grep -x '[0-9][0-9]*' "$OUT" | sort -n > "$W/$name/tasks.out"
        same_file "$W/long.expect" "$W/$name/tasks.out"
        # Every task once in the results file, status 0: none lost, none
        # run twice (--all: every record, not the last of each task).
        run_cmd 0 "$(q "$TF") results $LONG_R --all > $W/$name/all.tsv"
        check "awk -F '\t' 'NR == 1 { next } \$3 != 0 || \$4 != 0 || \$1 < 1 || \$1 > $LONG_TASKS || seen[\$1]++ { bad++ } END { exit !(NR - 1 == $LONG_TASKS && !bad) }' $W/$name/all.tsv"
        # Some tasks started before the signal (run 1), some after run 2
        # began (its 'starts' line, to the second).
        S2=$(sed -n "s/^long-run: job $J run 2 starts \([^ ]*\)\$/\1/p" "$OUT" | head -n 1)
        S2=$(date -d "$S2" +%s 2> /dev/null) || S2=
        check "test -n '$S2' && test -n '$SIGNAL_AT' && test '$SIGNAL_SEEN' -lt $LONG_TASKS"
        check "awk -F '\t' -v sig='$SIGNAL_AT' -v s2='$S2' 'NR > 1 && \$9 < sig + 0 { n1++ } NR > 1 && \$9 >= s2 + 0 { n2++ } END { exit !(n1 > 0 && n2 > 0 && n1 < $LONG_TASKS && n2 < $LONG_TASKS) }' $W/$name/all.tsv"
        ;;
    deadline)
        E=${OUT%.out}.err
        # No signal: the deadline alone stopped the hand-out, long before
        # the job's limit.
        check "grep -q '^taskfarm: handed out no more tasks: the deadline is [0-9.]* s away, less its margin of 50.0 s, and the next task is expected to take [0-9.]* s\$' $E"
        check "! grep -q 'asked the run to finish' $E"
        check "awk '/^taskfarm exit status 5 after [0-9]+ s\$/ && \$6 < $DL_MAX_S { ok = 1 } END { exit !ok }' $OUT"
        run_cmd 0 "$(q "$TF") results $DL_R --all > $W/$name/all.tsv"
        check "awk -F '\t' 'NR == 1 { next } \$3 != 0 || seen[\$1]++ { bad++ } END { exit !(NR > 1 && NR - 1 < $DL_TASKS && !bad) }' $W/$name/all.tsv"
        ;;
    esac
done

# ------------------------------------------------------------ stop
# No daemon of the cluster may outlive stop.
PIDS=$(cat "$CDIR"/pid.* 2> /dev/null | tr '\n' ',')
run_cmd 0 "bash $(q "$CLUSTER") stop $CDIR"
check "test -n '$PIDS' && ! ps -p '${PIDS%,}' > /dev/null"

e2e_finish
