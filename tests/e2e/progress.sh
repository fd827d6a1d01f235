#!/bin/bash
# progress.sh - what a run shows while it runs: the progress line on a
# terminal (a pseudo-terminal made by script(1)), status lines in a log,
# --progress, --no-progress, --quiet, and the SIGUSR2 snapshot on the fork
# and MPI transports. Task output is never mixed into the progress line.
#
# Usage: bash tests/e2e/progress.sh path/to/taskfarm   (or TASKFARM=...)

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
mpi_init

TFQ=$(q "$TF")

# visible FILE - what a terminal shows of FILE, line by line: each line's
# text after its last carriage return (the terminal's own \r\n aside),
# with erase-to-end-of-line dropped.
visible()
{
    sed 's/\r$//' "$1" | awk -F '\r' '{ print $NF }' | sed 's/\x1b\[K//g'
}

# Twelve tasks of 0.15 s on 2 workers: about a second, several redraws.
T=$W/t12.txt
for i in $(seq 1 12); do echo "sleep 0.15; echo task $i"; done > "$T"
seq 1 12 | sed 's/^/task /' > "$W/t12.want"

if command -v script > /dev/null 2>&1; then
    # On a terminal: a line redrawn in place, cleared before task output.
    run_cmd 0 "script -qfec $(q "$TF -j 2 run $T") /dev/null > $W/tty.raw"
    check "grep -q \$'\\r' $W/tty.raw"
    check "grep -a -q '/12 done, 0 failed, [0-2] running, .* tasks/s, 0:0[0-9] elapsed, ETA ' $W/tty.raw"
    # What the terminal shows: the task output in order, whole, then the
    # summary; no progress line is left over on any line.
    check "visible $W/tty.raw | grep -v '^taskfarm: 12 tasks, 0 failed' | cmp -s - $W/t12.want"
    check "visible $W/tty.raw | tail -n 1 | grep -q '^taskfarm: 12 tasks, 0 failed'"
    # --no-progress, and --quiet (which also drops the summary line).
    run_cmd 0 "script -qfec $(q "$TF -j 2 --no-progress run $T") /dev/null > $W/tty.none"
    check "! grep -q \$'\\r\\x1b' $W/tty.none && grep -a -q '^taskfarm: 12 tasks' $W/tty.none"
    run_cmd 0 "script -qfec $(q "$TF -j 2 -q run $T") /dev/null > $W/tty.quiet"
    check "! grep -a -q 'taskfarm' $W/tty.quiet"
else
    e2e_skip "script -qfec 'taskfarm run' /dev/null" "script(1) not found"
fi

# In a log: no line by default in a short run (a status line a minute).
run_cmd 0 "$TFQ -j 2 run $T > $W/log.out 2> $W/log.err"
check "cmp -s $W/log.out $W/t12.want && test \"\$(wc -l < $W/log.err)\" = 1 && grep -q '^taskfarm: 12 tasks, 0 failed' $W/log.err"
# --status-interval: whole lines, no carriage returns, counts that grow.
run_cmd 0 "$TFQ -j 2 --status-interval 0.2s run $T > $W/st.out 2> $W/st.err"
check "cmp -s $W/st.out $W/t12.want"
check "test \"\$(grep -c '^taskfarm: [0-9:]* status: [0-9]*%, [0-9]*/12 done, 0 failed, [0-2] running, ' $W/st.err)\" -ge 2"
check "! grep -q \$'\\r' $W/st.err"
check "grep -o '[0-9]*/12 done' $W/st.err | sort -t/ -k1,1n -c"
# --quiet drops them too; --progress draws the line even in a log.
run_cmd 0 "$TFQ -j 2 -q --status-interval 0.2s run $T > $W/q.out 2> $W/q.err"
check "test ! -s $W/q.err"
run_cmd 0 "$TFQ -j 2 --progress run $T > $W/p.out 2> $W/p.err"
check "grep -q \$'\\r.*/12 done' $W/p.err && cmp -s $W/p.out $W/t12.want"
# From a pipe the total is not known: counts without a total or ETA.
run_cmd 0 "cat $T | $TFQ -j 2 --status-interval 0.2s run - > $W/pipe.out 2> $W/pipe.err"
check "grep -q ' status: [0-9]* done, 0 failed' $W/pipe.err && ! grep -q ETA $W/pipe.err"
usage_error "--status-interval: 'soon' is not a duration" --status-interval soon run "$T"

# SIGUSR2: a snapshot of every worker's task in hand, the longest-running
# tasks and the tasks waiting; the run goes on to its normal end.
S=$W/s6.txt
# Task 1 says when it has started; the signal goes a moment later, however
# long the start took (mpirun under a sanitizer takes seconds).
printf '%s\n' "touch $W/go; sleep 2.5; echo a" 'sleep 0.1; echo b' \
    'sleep 2; echo c' 'echo d' 'echo e' 'echo f' > "$S"
printf '%s\n' a b c d e f > "$W/s6.want"
# Which worker takes which task depends on which says hello first.
snapshot_ok()
{
    local e=$1
    check "grep -q '^taskfarm: [0-9:]* snapshot: [0-9]*%, 1/6 done, 0 failed, 2 running' $e"
    check "grep -q '^taskfarm:   3 tasks waiting' $e"
    check "grep -q '^taskfarm:   worker [01] (.*): task 1, [0-9]\\.[0-9] s: touch ' $e"
    check "grep -q '^taskfarm:   worker [01] (.*): task 3, [0-9]\\.[0-9] s: sleep 2; echo c' $e"
    check "grep -A1 '^taskfarm:   longest running:' $e | grep -q 'task 1 on worker [01]: touch '"
}
# usr2_when_going CMD... - waits for task 1 to start, then sends SIGUSR2 to
# the PIDs that CMD prints.
usr2_when_going()
{
    local i
    for i in $(seq 300); do
        [ -e "$W/go" ] && break
        sleep 0.1
    done
    sleep 1
    # shellcheck disable=SC2046 # one word per PID
    kill -USR2 $("$@")
}
rm -f "$W/go"
run_cmd 0 "$TFQ -j 2 --chunk 1 run $S > $W/s.out 2> $W/s.err & pid=\$!; usr2_when_going echo \$pid; wait \$pid"
check "cmp -s $W/s.out $W/s6.want"
snapshot_ok "$W/s.err"
rm -f "$W/go"
# Under mpirun the signal goes where the launcher passes it to the master
# (lib.sh: mpi_signal_pids).
mpi_run 0 "$(mpirun_cmd "-np 3" --chunk 1 run "$S") > $W/m.out 2> $W/m.err & pid=\$!; usr2_when_going mpi_signal_pids USR2 $(q "$TF --chunk 1 run $S"); wait \$pid" &&
    {
        check "cmp -s $W/m.out $W/s6.want"
        check "grep -q '^taskfarm: [0-9:]* snapshot: ' $W/m.err && grep -q '^taskfarm:   worker [01] (.*): task 1, ' $W/m.err"
        check "grep -q '^taskfarm: 6 tasks, 0 failed, .* 2 workers (mpi)' $W/m.err"
    }

e2e_finish
