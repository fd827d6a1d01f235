#!/bin/bash
# transports.sh - the same tasks give the same output over every transport
#
# Usage: bash tests/e2e/transports.sh path/to/taskfarm   (or TASKFARM=...)
#
# One task file holds every kind of task the farm must carry: success,
# failure, stderr only, no output, binary bytes, 10 MB of output, death by a
# signal, a command not found or not executable, comments, blank lines, CRLF,
# sleeps that make tasks finish out of order. It runs over the fork
# transport with 1, 2 and 4 workers and under mpirun with 2, 3 and 5 ranks;
# every run must write the same bytes, the same joblog columns, and exactly
# what running the tasks one by one with sh -c writes. The MPI runs are
# skipped (and reported as such) without mpirun or without MPI in taskfarm.
# Then: empty and comment-only files, --unordered, --tag, --template and
# shell injection through it, standard input, the TASKFARM_* variables, and
# --chunk.

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

TFQ=$(q "$TF")
HOST=$(hostname)
mpi_init

printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n' \
    > "$W/header.txt"

# ------------------------------------------------------------ the task file
# A task's id is its line number: the checks below name tasks by it (2 the
# first task, 10 the 10 MB one, 12 kill -9, 13 not found, 15 not
# executable, 20 kill -TERM, 21 CRLF, 22 TAB-indented, 29 no final newline).
T=$W/tasks.txt
printf '#!/bin/sh\necho never\n' > "$W/noexec.sh"
chmod 644 "$W/noexec.sh"
{
    cat <<'EOF'
# transports.sh: every kind of task the farm must carry
echo "id=$TASKFARM_TASK_ID first"

sleep 0.3; echo "slow $TASKFARM_TASK_ID"
echo "fails with 3 ($TASKFARM_TASK_ID)"; exit 3
echo "stderr only $TASKFARM_TASK_ID" >&2
true
printf 'bin:\000\001\177\200\377:end\n'
sleep 0.2; echo out; echo err >&2; echo out2
head -c 10000000 /dev/zero | tr '\0' x; echo
   # an indented comment
kill -9 $$
no_such_command_tf_e2e --flag
seq 1 5
EOF
    # Plain, it is exec'd directly, and that failing must give 126. Under
    # valgrind posix_spawn cannot report a failed exec (valgrind runs its
    # clone(CLONE_VM | CLONE_VFORK) as a plain fork, so the child's errno
    # never reaches the parent, and the child exits 127 in silence): there
    # it is quoted, so the shell runs it and reports it the same way.
    if [ -n "${TF_E2E_VALGRIND:-}" ]; then
        echo "\"$W/noexec.sh\""                                 # line 15
    else
        echo "$W/noexec.sh"                                   # line 15
    fi
    cat <<'EOF'
sleep 0.1; echo "id=$TASKFARM_TASK_ID after 0.1"
printf 'no newline at end'
echo "next $TASKFARM_TASK_ID"
sleep 0.05; exit 1
kill -TERM $$
EOF
    # shellcheck disable=SC2016 # the task expands it, not this script
    printf 'echo "crlf $TASKFARM_TASK_ID"\r\n'                # line 21
    # shellcheck disable=SC2016
    printf '\techo "tab-indented $TASKFARM_TASK_ID"\n'        # line 22
    cat <<'EOF'
for i in 1 2 3; do echo "loop $TASKFARM_TASK_ID.$i"; done
sleep 0.15; echo "id=$TASKFARM_TASK_ID"
echo "id=$TASKFARM_TASK_ID"
sleep 0.25; echo "id=$TASKFARM_TASK_ID" >&2; echo "id=$TASKFARM_TASK_ID"
echo "id=$TASKFARM_TASK_ID"
sleep 0.05; echo "id=$TASKFARM_TASK_ID"
EOF
    # shellcheck disable=SC2016
    printf 'echo "last line, no newline, id=$TASKFARM_TASK_ID"'  # line 29
} > "$T"

# expect_tasks FILE OUT ERR COLS - runs the tasks of FILE one after another
# with sh -c, following the task file rules (CR stripped, blank and #
# lines skipped, the id is the line number), to give the stdout, stderr and
# joblog columns (Seq Exitval Signal Command) that a correct farm writes.
expect_tasks()
{
    local n=0 line t rc blank=$' \t'
    : > "$2"
    : > "$3"
    printf 'Seq\tExitval\tSignal\tCommand\n' > "$4"
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        line=${line%$'\r'}
        t=${line#"${line%%[!"$blank"]*}"}
        case $t in
        '' | '#'*) continue ;;
        esac
        TASKFARM_TASK_ID=$n sh -c "$line" < /dev/null >> "$2" 2>> "$3"
        rc=$?
        printf '%s\t%s\t%s\t%s\n' "$n" "$rc" \
            "$((rc > 128 ? rc - 128 : 0))" "$line" >> "$4"
    done < "$1"
}
# bash reports the killed tasks on its own stderr: keep that out.
expect_tasks "$T" "$W/expected.out" "$W/expected.err" "$W/expected.cols" \
    2> /dev/null

# -------------------------------------------------- every transport, ordered
# Every run that was made is compared below, whatever its exit status.
RUNS=
for j in 1 2 4; do
    run_cmd 1 "$TFQ -j $j -q --joblog $W/fork-j$j.log run $T > $W/fork-j$j.out 2> $W/fork-j$j.err"
    RUNS="$RUNS fork-j$j"
done
for np in 2 3 5; do
    r=mpi-np$np
    mpi_run 1 "$(mpirun_cmd "-np $np" -q --joblog "$W/$r.log" run "$T") > $W/$r.out 2> $W/$r.err"
    if [ "$MPI" = 1 ]; then
        RUNS="$RUNS $r"
    fi
done
for r in $RUNS; do
    joblog_cols "$W/$r.log" > "$W/$r.cols" 2> /dev/null
done

# The reference run against the tasks run one by one, and against facts
# stated here independently of both.
R=$W/fork-j1
same_file "$W/expected.out" "$R.out"
same_file "$W/expected.err" "$R.err"
same_file "$W/expected.cols" "$R.cols"
check "test \"\$(head -n 1 $R.out)\" = 'id=2 first'"
check "grep -a -q -x 'slow 4' $R.out"
check "grep -a -q -x 'fails with 3 (5)' $R.out"
check "grep -a -q -x 'stderr only 6' $R.err && ! grep -a -q 'stderr only' $R.out"
check "test \"\$(grep -a '^bin:' $R.out | od -An -tx1 | tr -d ' \\n')\" = 62696e3a00017f80ff3a656e640a"
check "grep -a -q -x 'id=16 after 0.1' $R.out"
check "grep -a -q -x 'no newline at endnext 18' $R.out"
check "grep -a -q -x 'crlf 21' $R.out && grep -a -q -x 'tab-indented 22' $R.out"
check "grep -a -q -x 'loop 23.3' $R.out"
check "test \"\$(tail -n 1 $R.out)\" = 'last line, no newline, id=29'"
check "test \"\$(grep -a -c -x 'out2\\?' $R.out) \$(grep -c -x err $R.err)\" = '2 1'"
check "grep -a -q -x -e 1 -e 5 $R.out && test \"\$(grep -a -x '[1-5]' $R.out | tr -d '\\n')\" = 12345"
check "grep -q 'no_such_command_tf_e2e: not found' $R.err && grep -q 'noexec.sh: Permission denied' $R.err"
# joblog: the header, and exit value and signal of the special tasks
check "head -n 1 $R.log | cmp - $W/header.txt"
check "awk -F '\\t' '\$1 == 5 && \$7 == 3 && \$8 == 0 { f = 1 } END { exit !f }' $R.log"
check "awk -F '\\t' '\$1 == 12 && \$7 == 137 && \$8 == 9 { f = 1 } END { exit !f }' $R.log"
check "awk -F '\\t' '\$1 == 13 && \$7 == 127 && \$8 == 0 { f = 1 } END { exit !f }' $R.log"
check "awk -F '\\t' '\$1 == 15 && \$7 == 126 && \$8 == 0 { f = 1 } END { exit !f }' $R.log"
check "awk -F '\\t' '\$1 == 20 && \$7 == 143 && \$8 == 15 { f = 1 } END { exit !f }' $R.log"
check "awk -F '\\t' '\$1 == 10 && \$6 == 10000001 && \$7 == 0 { f = 1 } END { exit !f }' $R.log"
check "awk -F '\\t' '\$1 == 22 && \$9 == \"\" && \$10 ~ /^echo / { f = 1 } END { exit !f }' $R.log"
check "test \"\$(cut -f 1 $R.log | tr '\\n' ' ')\" = 'Seq 2 4 5 6 7 8 9 10 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 '"

# Every run writes the same bytes and joblog columns as the reference, and
# the 10 MB block arrives whole.
for r in $RUNS; do
    if [ "$r" != fork-j1 ]; then
        same_file "$R.out" "$W/$r.out"
        same_file "$R.cols" "$W/$r.cols"
        case $r in
        fork-*) same_file "$R.err" "$W/$r.err" ;;
        esac
    fi
    check "test \"\$(grep -a -x 'x\\+' $W/$r.out | wc -c)\" = 10000001"
    check "awk -F '\\t' -v h=$(q "$HOST") 'NR > 1 && \$2 != h { bad = 1 } END { exit bad || NR != 27 }' $W/$r.log"
done

# ------------------------------------------------ more output than is held
# The first task is slow and the others write 72 MB, more than the master
# holds back for ordered output (64 MB): workers must wait, not deadlock,
# and the order must survive.
H=$W/hold.txt
{
    echo 'sleep 1; echo first'
    for i in 1 2 3 4 5 6 7 8; do
        printf '%s\n' "head -c 9000000 /dev/zero | tr '\\0' $i; echo"
    done
    echo 'echo last'
} > "$H"
expect_tasks "$H" "$W/hold.expected" "$W/hold.expected-err" \
    "$W/hold.expected-cols" 2> /dev/null
run_cmd 0 "$TFQ -j 4 --chunk 1 -q run $H > $W/hold-j4.out"
# (72 MB files: kept only when the comparison fails)
same_file "$W/hold.expected" "$W/hold-j4.out" && rm -f "$W/hold-j4.out"
if mpi_run 0 "$(mpirun_cmd "-np 3" -q run "$H") > $W/hold-np3.out"; then
    same_file "$W/hold.expected" "$W/hold-np3.out" && rm -f "$W/hold-np3.out"
fi

# ------------------------------------------------------- chunk sizes
for c in 1 3 1000; do
    run_cmd 1 "$TFQ -j 3 --chunk $c -q --joblog $W/chunk$c.log run $T > $W/chunk$c.out 2> $W/chunk$c.err"
    same_file "$R.out" "$W/chunk$c.out"
    same_file "$R.err" "$W/chunk$c.err"
    joblog_cols "$W/chunk$c.log" > "$W/chunk$c.cols"
    same_file "$R.cols" "$W/chunk$c.cols"
done
if mpi_run 1 "$(mpirun_cmd "-np 3" --chunk 1 -q --joblog "$W/mpi-chunk1.log" run "$T") > $W/mpi-chunk1.out 2> $W/mpi-chunk1.err"; then
    same_file "$R.out" "$W/mpi-chunk1.out"
    joblog_cols "$W/mpi-chunk1.log" > "$W/mpi-chunk1.cols"
    same_file "$R.cols" "$W/mpi-chunk1.cols"
fi

# ------------------------------------------------------- standard input
run_cmd 1 "$TFQ -j 2 -q --joblog $W/stdin.log run - < $T > $W/stdin.out 2> $W/stdin.err"
same_file "$R.out" "$W/stdin.out"
same_file "$R.err" "$W/stdin.err"
joblog_cols "$W/stdin.log" > "$W/stdin.cols"
same_file "$R.cols" "$W/stdin.cols"
run_cmd 1 "cat $T | $TFQ -j 3 -q run - > $W/pipe.out 2> $W/pipe.err"
same_file "$R.out" "$W/pipe.out"
same_file "$R.err" "$W/pipe.err"
# no FILE at all: standard input, when it is not a terminal
run_cmd 1 "$TFQ -j 2 -q run < $T > $W/nofile.out 2> $W/nofile.err"
same_file "$R.out" "$W/nofile.out"

# ------------------------------------------------------- large shared data
# share_probe (tests/e2e/share_probe.c) shares 8 MiB through the C API,
# then other bytes (a second round, which replaces the first), then 100
# KiB; each task checks every byte and says which file maps them. Large
# data is in one file for the master and every worker, of at least the
# data's size, forked (the master's memory file) and under MPI (the node's
# shared memory window); small data is in each process's own memory.
if [ -z "${TF_SHARE_PROBE:-}" ] || [ ! -x "$TF_SHARE_PROBE" ]; then
    e2e_skip "large shared data" "no share_probe program (TF_SHARE_PROBE)"
else
    SPQ=$(q "$TF_SHARE_PROBE")
    # where OUT - the files OUT's master and tasks found the data in, one
    # per line: "MASTER|TASK WHERE", sorted, unique.
    where()
    {
        awk '$1 == "master" { print "master", $4 } $1 == "task" { print "task", $6 }' "$1" | sort -u
    }
    # one_copy OUT ROUNDS - every task of every round saw the right bytes,
    # in the file the master's were in, of at least 8 MiB: one file for
    # the master and the tasks each round.
    one_copy()
    {
        check "test \"\$(grep -c '^task .* ok\$' $1)\" = $((12 * $2)) && test \"\$(grep -c '^master ' $1)\" = $2"
        check "awk '\$1 == \"master\" { m = \$4; split(m, f, \":\"); if (f[4] < 8 * 1048576) bad = 1 } \$1 == \"task\" && \$6 != m { bad = 1 } END { exit bad }' $1"
    }
    run_cmd 0 "TF_EXAMPLE_WORKERS=2 $SPQ 8192 12 20 2 > $W/share-fork.out"
    one_copy "$W/share-fork.out" 2
    run_cmd 0 "TF_EXAMPLE_WORKERS=2 $SPQ 100 12 0 > $W/share-small-fork.out"
    check "test \"\$(grep -c '^task .* ok\$' $W/share-small-fork.out)\" = 12 && test \"\$(where $W/share-small-fork.out | tr '\\n' ,)\" = 'master private,task private,'"
    for np in 3 5; do
        if mpi_run 0 "$(TF=$TF_SHARE_PROBE mpirun_cmd "-np $np" 8192 12 20 2) > $W/share-np$np.out"; then
            one_copy "$W/share-np$np.out" 2
        fi
    done
    if mpi_run 0 "$(TF=$TF_SHARE_PROBE mpirun_cmd "-np 3" 100 12 0) > $W/share-small-np3.out"; then
        check "test \"\$(grep -c '^task .* ok\$' $W/share-small-np3.out)\" = 12 && test \"\$(where $W/share-small-np3.out | tr '\\n' ,)\" = 'master private,task private,'"
    fi
fi

# ------------------------------------------------------- empty inputs
: > "$W/empty.txt"
printf '# only comments\n\n   # indented\n\t\n  \n#\n' > "$W/comments.txt"
for f in empty comments; do
    run_cmd 0 "$TFQ -j 2 -q --joblog $W/$f.log run $W/$f.txt > $W/$f.out 2> $W/$f.err"
    check "test ! -s $W/$f.out && test ! -s $W/$f.err"
    same_file "$W/header.txt" "$W/$f.log"
done
if mpi_run 0 "$(mpirun_cmd "-np 3" -q --joblog "$W/mpi-empty.log" run "$W/empty.txt") > $W/mpi-empty.out 2> $W/mpi-empty.err"; then
    check "test ! -s $W/mpi-empty.out"
    same_file "$W/header.txt" "$W/mpi-empty.log"
fi

# ------------------------------------------------------- TASKFARM_* variables
E=$W/env.txt
{
    echo "# id worker nworkers host node nnodes local-worker local-nworkers"
    for s in 0.1 0 0.05 0 0.2 0 0.01 0.1 0 0.05 0 0; do
        echo "sleep $s; echo \"\$TASKFARM_TASK_ID \$TASKFARM_WORKER \$TASKFARM_NWORKERS \$TASKFARM_HOST \$TASKFARM_NODE \$TASKFARM_NNODES \$TASKFARM_LOCAL_WORKER \$TASKFARM_LOCAL_NWORKERS\""
    done
} > "$E"
# env_ok N OUT - each line is "ID WORKER NWORKERS HOST NODE NNODES LOCAL
# LOCAL_N" with ID the line number, 0 <= WORKER < N, NWORKERS = N, HOST
# this host, and one node (0 of 1) whose N workers are all of them (LOCAL
# = WORKER, LOCAL_N = N).
env_ok()
{
    check "awk -v n=$1 -v h=$(q "$HOST") '\$1 != NR + 1 || \$2 !~ /^[0-9]+\$/ || \$2 >= n || \$3 != n || \$4 != h || \$5 != 0 || \$6 != 1 || \$7 != \$2 || \$8 != n { bad = 1 } END { exit bad || NR != 12 }' $2"
}
for j in 1 2 4; do
    run_cmd 0 "$TFQ -j $j run $E > $W/env-j$j.out 2> $W/env-j$j.err"
    env_ok "$j" "$W/env-j$j.out"
    check "grep -q -x 'taskfarm: 12 tasks, 0 failed, .* s, $j workers (fork), .*' $W/env-j$j.err"
done
run_cmd 0 "TASKFARM_TASK_ID=999 TASKFARM_WORKER=77 TASKFARM_NWORKERS=99 TASKFARM_HOST=elsewhere TASKFARM_NODE=7 TASKFARM_LOCAL_WORKER=7 $TFQ -j 2 -q run $E > $W/env-inherit.out"
env_ok 2 "$W/env-inherit.out"
for np in 2 3 5; do
    r=env-np$np
    n=$((np - 1))
    if mpi_run 0 "$(mpirun_cmd "-np $np" run "$E") > $W/$r.out 2> $W/$r.err"; then
        env_ok "$n" "$W/$r.out"
        check "grep -q -x 'taskfarm: 12 tasks, 0 failed, .* s, $n workers (mpi), .*' $W/$r.err"
    fi
done

# ------------------------------------------------------- GPUs per worker
# Each worker gets K of the node's GPUs by its local index, in the variable
# the node named them in (all of them for --gpus), and in TASKFARM_GPUS; too
# few is a one-line error naming the variable, exit 2. (The tasks' lines:
# local worker, the three variables, TASKFARM_GPUS; blanks squeezed.)
G=$W/gpus.txt
for i in $(seq 1 12); do
    # shellcheck disable=SC2016 # the task expands them
    echo 'sleep 0.02; echo "$TASKFARM_LOCAL_WORKER ${CUDA_VISIBLE_DEVICES-} ${ROCR_VISIBLE_DEVICES-} ${ZE_AFFINITY_MASK-} $TASKFARM_GPUS"'
done > "$G"
run_cmd 0 "CUDA_VISIBLE_DEVICES=0,1,2,3 $TFQ -j 2 --chunk 1 -q --gpus-per-worker 2 run $G | tr -s ' ' | sort -u > $W/gpus-cuda.out"
check "printf '0 0,1 0,1\n1 2,3 2,3\n' | cmp - $W/gpus-cuda.out"
run_cmd 0 "env -u CUDA_VISIBLE_DEVICES ROCR_VISIBLE_DEVICES=3,2,1 $TFQ -j 3 --chunk 1 -q --gpus-per-worker 1 run $G | tr -s ' ' | sort -u > $W/gpus-rocr.out"
check "printf '0 3 3\n1 2 2\n2 1 1\n' | cmp - $W/gpus-rocr.out"
run_cmd 0 "CUDA_VISIBLE_DEVICES=9 $TFQ -j 2 --chunk 1 -q --gpus a,b,c,d --gpus-per-worker 2 run $G | tr -s ' ' | sort -u > $W/gpus-list.out"
check "printf '0 a,b a,b a,b a,b\n1 c,d c,d c,d c,d\n' | cmp - $W/gpus-list.out"
run_cmd 2 "CUDA_VISIBLE_DEVICES=0,1,2 $TFQ -j 2 -q --gpus-per-worker 2 run $G > $W/gpus-few.out 2> $W/gpus-few.err"
check "test ! -s $W/gpus-few.out && test \"\$(wc -l < $W/gpus-few.err)\" = 1 && grep -q 'gpus-per-worker 2: the 2 workers on .* need 4 GPUs, and CUDA_VISIBLE_DEVICES names 3' $W/gpus-few.err"
run_cmd 2 "env -u CUDA_VISIBLE_DEVICES -u ROCR_VISIBLE_DEVICES -u HIP_VISIBLE_DEVICES -u ZE_AFFINITY_MASK $TFQ -j 2 -q --gpus-per-worker 1 run $G > /dev/null 2> $W/gpus-none.err"
check "grep -q 'gpus-per-worker 1: no GPUs named on ' $W/gpus-none.err"
if mpi_run 0 "CUDA_VISIBLE_DEVICES=5,7 $(mpirun_cmd "-np 3" --chunk 1 -q --gpus-per-worker 1 run "$G") | tr -s ' ' | sort -u > $W/gpus-mpi.out"; then
    check "printf '0 5 5\n1 7 7\n' | cmp - $W/gpus-mpi.out"
fi

# ------------------------------------------------------- cores per worker
# --bind cores pins each worker and its tasks to a block of its own of the
# CPUs it may use, named in TASKFARM_CPUS, OMP_PLACES and OMP_PROC_BIND
# with as many OpenMP threads; no CPU is pinned to two workers; a launcher's
# narrower set (taskset, mpirun --bind-to core) is the set it splits; more
# workers than CPUs is a one-line error, exit 2. (The tasks print CPU_TASK's
# line, see lib.sh.)
C=$W/cpus.txt
ALLOWED=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
NCPUS=$(nproc)
for i in $(seq 1 12); do
    echo "sleep 0.02; $CPU_TASK"
done > "$C"
if [ "$NCPUS" -ge 2 ]; then
    run_cmd 0 "$TFQ -j 2 --chunk 1 -q --bind cores run $C > $W/cpus-2.out"
    check "cpu_blocks_ok $W/cpus-2.out 2"
else
    e2e_skip "$TFQ -j 2 --bind cores run $C" "one CPU: no two blocks"
fi
run_cmd 0 "$TFQ -j 1 -q --bind cores run $C | sort -u > $W/cpus-1.out"
check "cpu_blocks_ok $W/cpus-1.out 1 && test \"\$(cut -d ' ' -f 3 $W/cpus-1.out)\" = $ALLOWED"
run_cmd 0 "OMP_PROC_BIND=spread $TFQ -j 1 -q --bind cores --threads-per-worker 1 run $C | sort -u > $W/cpus-t1.out"
check "grep -q -x '0 0 \([0-9]*\) \\1 1 spread {\\1}' $W/cpus-t1.out && test \"\$(wc -l < $W/cpus-t1.out)\" = 1"
LAST=${ALLOWED##*[,-]}
run_cmd 0 "taskset -c $LAST $TFQ -j 1 -q --bind cores run $C | sort -u > $W/cpus-taskset.out"
check "printf '0 0 $LAST $LAST 1 close {$LAST}\n' | cmp - $W/cpus-taskset.out"
run_cmd 0 "$TFQ -j 2 -q run $C | sort -u > $W/cpus-none.out"
check "test \"\$(cut -d ' ' -f 3,4 $W/cpus-none.out | sort -u)\" = '$ALLOWED unset'"
run_cmd 2 "$TFQ -j $((NCPUS + 1)) -q --bind cores run $C > $W/cpus-many.out 2> $W/cpus-many.err"
check "test ! -s $W/cpus-many.out && test \"\$(wc -l < $W/cpus-many.err)\" = 1 && grep -q 'bind cores: the workers on .* ($((NCPUS + 1))) share $NCPUS CPUs ($ALLOWED), fewer than one each' $W/cpus-many.err"
run_cmd 2 "$TFQ -j 1 -q --bind cores --threads-per-worker $((NCPUS + 1)) run $C > /dev/null 2> $W/cpus-threads.err"
check "grep -q 'need $((NCPUS + 1)) CPUs for --threads-per-worker $((NCPUS + 1)), and share $NCPUS' $W/cpus-threads.err"
usage_error "--bind: " -q --bind sockets run "$C"
if [ "$NCPUS" -ge 2 ]; then
    if mpi_run 0 "$(mpirun_cmd "-np 3" --chunk 1 -q --bind cores run "$C") > $W/cpus-mpi.out"; then
        check "cpu_blocks_ok $W/cpus-mpi.out 2"
    fi
    # Each rank bound to its own core by the launcher: the worker keeps its
    # core, alone on it.
    if [ "$E2E_MPI" = openmpi ] &&
        mpi_run 0 "$(mpirun_cmd "-np 2 --bind-to core" --chunk 1 -q --bind cores run "$C") | sort -u > $W/cpus-mpicore.out"; then
        check "cpu_blocks_ok $W/cpus-mpicore.out 1 && grep -q -x '0 0 [0-9]* [0-9]* 1 close {[0-9]*}' $W/cpus-mpicore.out"
    fi
    # (Rank 0 ends while ranks run: lib.sh's mpi_ended_with.)
    if mpi_run 0 "$(mpirun_cmd "-np $((NCPUS + 2))" -q --bind cores run "$C") > /dev/null 2> $W/cpus-mpimany.err; mpi_ended_with 2 \$?"; then
        check "grep -q 'bind cores: the workers on .* ($((NCPUS + 1))) share $NCPUS CPUs ($ALLOWED), fewer than one each' $W/cpus-mpimany.err"
    fi
    # Ranks the launcher pinned themselves, as srun --cpu-bind does (pin.sh
    # runs rank R under taskset -c $PIN_R): each worker keeps its own CPUs,
    # here the other way round from the split by local index; sets that
    # overlap without being equal are a one-line error.
    FIRST=${ALLOWED%%[,-]*}
    cat > "$W/pin.sh" <<EOF
#!/bin/sh
r=\${OMPI_COMM_WORLD_RANK:-\${PMI_RANK:-0}}
eval "cpus=\\\${PIN_\$r-}"
if [ -n "\$cpus" ]; then
    exec taskset -c "\$cpus" $TFQ "\$@"
fi
exec $TFQ "\$@"
EOF
    chmod +x "$W/pin.sh"
    if mpi_run 0 "PIN_1=$LAST PIN_2=$FIRST $(TF=$W/pin.sh mpirun_cmd "-np 3" --chunk 1 -q --bind cores run "$C") | sort -u > $W/cpus-mpipin.out"; then
        check "printf '0 0 $LAST $LAST 1 close {$LAST}\\n0 1 $FIRST $FIRST 1 close {$FIRST}\\n' | cmp - $W/cpus-mpipin.out"
    fi
    if mpi_run 0 "PIN_2=$LAST $(TF=$W/pin.sh mpirun_cmd "-np 3" -q --bind cores run "$C") > /dev/null 2> $W/cpus-overlap.err; mpi_ended_with 2 \$?"; then
        check "grep -q 'bind cores: the launcher gave the workers on .* CPU sets that overlap and differ' $W/cpus-overlap.err && test \"\$(grep -c '^taskfarm' $W/cpus-overlap.err)\" = 1"
    fi
fi

# ------------------------------------------------------- --unordered
U=$W/unordered.txt
{
    for s in 0.3 0 0.2 0.05 0 0.25 0 0.1 0 0.15 0 0 0.05 0 0.1 0; do
        echo "sleep $s; echo \"task \$TASKFARM_TASK_ID a\"; echo \"task \$TASKFARM_TASK_ID b\" >&2; echo \"task \$TASKFARM_TASK_ID c\""
    done
} > "$U"
for i in $(seq 1 16); do
    printf 'task %s a\ntask %s c\n' "$i" "$i"
done > "$W/unordered.expected"
run_cmd 0 "$TFQ -j 4 -q --joblog $W/ordered.log run $U > $W/ordered.out"
same_file "$W/unordered.expected" "$W/ordered.out"
run_cmd 0 "$TFQ -j 4 -k -q run $U > $W/keep.out"
same_file "$W/unordered.expected" "$W/keep.out"
for u in -u --unordered; do
    run_cmd 0 "$TFQ -j 4 $u -q --joblog $W/unordered$u.log run $U > $W/unordered$u.out 2> $W/unordered$u.err"
    check "cmp $W/unordered.expected <(sort -k 2n,2 -k 3 $W/unordered$u.out)"
    # each task's lines stay together: 16 runs of one id, on both streams
    check "awk '\$2 != p { n++; p = \$2 } END { exit n != 16 || NR != 32 }' $W/unordered$u.out"
    check "awk '\$2 != p { n++; p = \$2 } END { exit n != 16 || NR != 16 }' $W/unordered$u.err"
    check "cmp <(cut -f 1,7,8,9- $W/ordered.log | sort -n) <(cut -f 1,7,8,9- $W/unordered$u.log | sort -n)"
done
if mpi_run 0 "$(mpirun_cmd "-np 3" -u -q run "$U") > $W/mpi-unordered.out"; then
    check "cmp $W/unordered.expected <(sort -k 2n,2 -k 3 $W/mpi-unordered.out)"
fi

# ------------------------------------------------------- --tag
G=$W/tag.txt
cat > "$G" <<'EOF'
echo a; echo b
# a comment
printf 'no newline'
true
echo err >&2; echo out
printf 'x\n\ny\n'
EOF
printf '1\ta\n1\tb\n3\tno newline\n5\tout\n6\tx\n6\t\n6\ty\n' > "$W/tag.expected"
printf '5\terr\n' > "$W/tag.expected-err"
run_cmd 0 "$TFQ -j 2 --tag -q run $G > $W/tag.out 2> $W/tag.err"
same_file "$W/tag.expected" "$W/tag.out"
same_file "$W/tag.expected-err" "$W/tag.err"

# ------------------------------------------------------- --template
P=$W/paths.txt
cat > "$P" <<'EOF'
/tmp/dir one/file name.tar.gz
relative/it's here.txt
#autosave#
plain.c
/rootfile
dir.d/.hidden
dir.d/noext
a "double" quote $HOME `x` * ;|& 'single'
./x.y/z
EOF
cat > "$W/paths.expected" <<'EOF'
/tmp/dir one/file name.tar.gz|/tmp/dir one/file name.tar|file name.tar.gz|/tmp/dir one|file name.tar|1
relative/it's here.txt|relative/it's here|it's here.txt|relative|it's here|2
#autosave#|#autosave#|#autosave#|.|#autosave#|3
plain.c|plain|plain.c|.|plain|4
/rootfile|/rootfile|rootfile|/|rootfile|5
dir.d/.hidden|dir.d/.hidden|.hidden|dir.d|.hidden|6
dir.d/noext|dir.d/noext|noext|dir.d|noext|7
a "double" quote $HOME `x` * ;|& 'single'|a "double" quote $HOME `x` * ;|& 'single'|a "double" quote $HOME `x` * ;|& 'single'|.|a "double" quote $HOME `x` * ;|& 'single'|8
./x.y/z|./x.y/z|z|./x.y|z|9
EOF
TMPL="printf '%s|%s|%s|%s|%s|%s\n' {} {.} {/} {//} {/.} {#}"
run_cmd 0 "$TFQ -j 3 -q run --template $(q "$TMPL") $P > $W/paths.out"
same_file "$W/paths.expected" "$W/paths.out"
if mpi_run 0 "$(mpirun_cmd "-np 3" -q run --template "$TMPL" "$P") > $W/mpi-paths.out"; then
    same_file "$W/paths.expected" "$W/mpi-paths.out"
fi
# {%} is the worker slot, 1..N (with a template every line is a task, the
# one starting with # too); a template without a replacement string gets
# the line as its last argument.
run_cmd 0 "$TFQ -j 2 -q run --template 'echo slot {%}' $E > $W/slot.out"
check "test \"\$(sort -u $W/slot.out | grep -v -x -e 'slot 1' -e 'slot 2' | wc -l) \$(wc -l < $W/slot.out)\" = '0 13'"
printf 'a b\nc  d\n' > "$W/noplace.txt"
run_cmd 0 "$TFQ -j 2 -q run --template 'echo got' $W/noplace.txt > $W/noplace.out"
check "test \"\$(cat $W/noplace.out)\" = \"\$(printf 'got a b\\ngot c  d')\""

# ------------------------------------------------------- shell injection
I=$W/inject.txt
cat > "$I" <<'EOF'
'; touch INJECTED #
$(touch INJECTED2)
`touch INJECTED3`
; touch INJECTED4
a && touch INJECTED5 | touch INJECTED6
"; touch INJECTED7; echo "
it's'$(touch INJECTED8)'
EOF
mkdir "$W/inject"
run_cmd 0 "cd $W/inject && $TFQ -j 2 -q run --template 'echo {}' $I > $W/inject.out 2> $W/inject.err"
same_file "$I" "$W/inject.out"
check "test -z \"\$(ls -A $W/inject)\" && test ! -s $W/inject.err"
# The issue's own examples, literally, with HOME a scratch directory and
# a reboot in PATH that only leaves a mark: both reach echo as data.
mkdir "$W/home" "$W/bin"
touch "$W/home/keep"
printf '#!/bin/sh\ntouch %s\n' "$W/rebooted" > "$W/bin/reboot"
chmod +x "$W/bin/reboot"
printf '%s\n' "'; rm -rf ~ #'" '$(reboot)' > "$W/inject2.txt"
run_cmd 0 "HOME=$W/home PATH=$W/bin:\$PATH $TFQ -j 2 -q run --template 'echo {}' $W/inject2.txt > $W/inject2.out"
same_file "$W/inject2.txt" "$W/inject2.out"
check "test -e $W/home/keep && test ! -e $W/rebooted"

e2e_finish
