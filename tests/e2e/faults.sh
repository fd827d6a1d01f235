#!/bin/bash
# faults.sh - nothing is lost when processes die: a killed worker's tasks
# run elsewhere and a new worker takes its place; a task that kills its
# worker every time fails alone; workers whose master died end their tasks
#
# Usage: bash tests/e2e/faults.sh path/to/taskfarm   (or TASKFARM=...)

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

TFQ=$(q "$TF")

# alive PID - true when PID exists and is not a zombie.
alive()
{
    local state
    state=$(awk '{ print $3 }' "/proc/$1/stat" 2> /dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# --------------------------------------------- a worker killed mid-run
# 40 tasks of 50 ms on 2 workers; one worker is killed with SIGKILL after
# 0.4 s. Every task's output appears once, in order, and the run succeeds.
T=$W/t40.txt
for i in $(seq 1 40); do echo "sleep 0.05; echo task $i"; done > "$T"
seq 1 40 | sed 's/^/task /' > "$W/t40.want"
(
    "$TF" -j 2 --joblog "$W/t40.log" run "$T" > "$W/t40.out" 2> "$W/t40.err" &
    master=$!
    sleep 0.4
    victim=$(pgrep -P "$master" | head -n 1)
    [ -n "$victim" ] && kill -9 "$victim"
    wait "$master"
    echo $? > "$W/t40.rc"
)
check "test \"\$(cat $W/t40.rc)\" = 0"
same_file "$W/t40.want" "$W/t40.out"
check "grep -q 'died: Killed; a new one takes its place' $W/t40.err"
check "test \"\$(tail -n +2 $W/t40.log | wc -l)\" = 40"

# ------------------------------------ a task that kills its worker each time
# Task 7 kills the worker running it. It is tried alone on fresh workers
# until it has killed three, then fails with signal 9; the others succeed.
T=$W/t20.txt
for i in $(seq 1 20); do
    if [ "$i" = 7 ]; then echo 'kill -9 $PPID'; else echo "echo task $i"; fi
done > "$T"
run_cmd 1 "timeout 60 $TFQ -j 2 --joblog $W/t20.log run $T > $W/t20.out 2> $W/t20.err"
check "test \"\$(wc -l < $W/t20.out)\" = 19 && ! grep -q -x 'task 7' $W/t20.out"
check "awk -F '\t' '\$1 == 7 && \$7 == -1 && \$8 == 9 { ok = 1 } END { exit !ok }' $W/t20.log"
check "grep -q 'the worker running this task died each time it ran' $W/t20.err"
check "grep -q '20 tasks, 1 failed' $W/t20.err"

# --------------------------------- the master killed: workers end their tasks
# Each task records its shell's pid, then sleeps. After SIGKILL to the
# master, the workers and every task's process group end within seconds.
T=$W/t4.txt
for i in 1 2 3 4; do echo "echo \$\$ >> $W/t4.pids; sleep 60"; done > "$T"
(
    "$TF" -j 2 run "$T" > /dev/null 2>&1 &
    master=$!
    for _ in $(seq 50); do
        [ -f "$W/t4.pids" ] && [ "$(wc -l < "$W/t4.pids")" = 2 ] && break
        sleep 0.1
    done
    pgrep -P "$master" > "$W/t4.workers"
    kill -9 "$master"
    wait "$master" 2> /dev/null
    for _ in $(seq 50); do
        left=0
        for p in $(cat "$W/t4.pids" "$W/t4.workers"); do
            alive "$p" && left=$((left + 1))
        done
        [ "$left" = 0 ] && break
        sleep 0.1
    done
    echo "$left" > "$W/t4.left"
)
check "test \"\$(wc -l < $W/t4.pids)\" = 2 && test \"\$(wc -l < $W/t4.workers)\" = 2"
check "test \"\$(cat $W/t4.left)\" = 0"

e2e_finish
