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

# ------------------------------------------------------------- --retries
# Task i fails its first i-1 runs (a counter file per task) and records the
# worker of each run. With --retries 2, tasks 1-3 succeed and 4 fails; a
# retry never runs on the worker where the run before it failed.
T=$W/flaky.txt
for i in 1 2 3 4; do
    echo "n=\$(( \$(cat $W/runs.$i 2>/dev/null || echo 0) + 1 )); echo \$n > $W/runs.$i; echo \$TASKFARM_WORKER >> $W/workers.$i; if [ \$n -lt $i ]; then exit 3; fi; echo task $i ok"
done > "$T"
run_cmd 1 "$TFQ -j 2 --retries 2 --joblog $W/flaky.log run $T > $W/flaky.out 2> $W/flaky.err"
check "test \"\$(cat $W/flaky.out)\" = \"\$(printf 'task 1 ok\\ntask 2 ok\\ntask 3 ok')\""
check "test \"\$(cat $W/runs.1 $W/runs.2 $W/runs.3 $W/runs.4 | tr '\\n' ' ')\" = '1 2 3 3 '"
check "awk -F '\t' 'NR > 1 { n++; if (\$1 == 4 ? \$7 != 3 : \$7 != 0) bad++ } END { exit n != 4 || bad }' $W/flaky.log"
for i in 2 3 4; do
    check "test \"\$(uniq $W/workers.$i | wc -l)\" = \"\$(wc -l < $W/workers.$i)\""
done
run_cmd 2 "$TFQ --retries -1 run $T > /dev/null 2> $W/r1.err"
check "grep -q -e '--retries' $W/r1.err"
run_cmd 2 "$TFQ --retries x run $T > /dev/null 2> $W/r2.err"

# ------------------------------------------------------------- --timeout
# Past 1 s a task's whole process group gets SIGTERM; one that ignores it
# gets SIGKILL after --kill-grace. Both are recorded as timed out; the
# processes they started are gone too.
T=$W/slow.txt
printf '%s\n' "sleep 0.1; echo fast" \
    "sleep 30 & echo \$! > $W/bg.pid; wait" \
    "trap '' TERM; sleep 30" "echo after" > "$T"
run_cmd 1 "$TFQ -j 2 --timeout 1s --kill-grace 0.5 --joblog $W/slow.log --results $W/slow.res run $T > $W/slow.out 2> $W/slow.err"
check "test \"\$(cat $W/slow.out)\" = \"\$(printf 'fast\\nafter')\""
check "awk -F '\t' '\$1 == 2 && \$7 == 143 && \$8 == 15 && \$4 < 5 { a = 1 } \$1 == 3 && \$7 == 137 && \$8 == 9 && \$4 < 5 { b = 1 } END { exit !(a && b) }' $W/slow.log"
check "test \"\$($TFQ results $W/slow.res | awk -F '\t' '\$5 ~ /timeout/ { print \$1 }' | tr '\\n' ' ')\" = '2 3 '"
check "! kill -0 \$(cat $W/bg.pid) 2> /dev/null || test \"\$(awk '{ print \$3 }' /proc/\$(cat $W/bg.pid)/stat)\" = Z"
# 300% of the median success: the 3 s task among 50 ms ones is ended.
T=$W/pct.txt
{ for i in $(seq 1 10); do echo "sleep 0.05; echo $i"; done
  echo "sleep 3; echo slow"; echo "echo last"; } > "$T"
run_cmd 1 "$TFQ -j 2 --timeout 300% --joblog $W/pct.log run $T > $W/pct.out 2> $W/pct.err"
check "awk -F '\t' '\$1 == 11 && \$8 == 15 && \$4 < 2 { ok = 1 } END { exit !ok }' $W/pct.log"
check "test \"\$(wc -l < $W/pct.out)\" = 11"
for v in 5x 0 abc% 0% -1 ''; do
    run_cmd 2 "$TFQ --timeout $(q "$v") run $T > /dev/null 2> $W/tv.err"
    check "grep -q -e '--timeout' $W/tv.err"
done
run_cmd 2 "$TFQ --kill-grace 2y run $T > /dev/null 2> $W/kg.err"

# --------------------------------------------------------------- signals
# SIGTERM to the master: it hands out nothing more, ends the running tasks,
# writes the results that arrived, says how to resume, and exits 143. The
# resumed run does the rest; every task ends with one record.
# Tasks 1 and 2 end at once; the others wait until the signal was sent.
T=$W/sig.txt
for i in 1 2; do echo "echo task $i"; done > "$T"
for i in $(seq 3 10); do
    echo "test -e $W/sig.go || sleep 30; echo task $i"
done >> "$T"
(
    "$TF" -j 2 --results "$W/sig.res" run "$T" > "$W/sig.out" 2> "$W/sig.err" &
    pid=$!
    for _ in $(seq 1 300); do
        test "$(wc -l < "$W/sig.out")" -ge 2 && break
        sleep 0.1
    done
    kill -TERM "$pid"
    wait "$pid"
    echo $? > "$W/sig.rc"
    # Only now: a task that started after the signal must not finish.
    touch "$W/sig.go"
)
check "test \"\$(cat $W/sig.rc)\" = 143"
check "test \"\$(cat $W/sig.out)\" = \"\$(printf 'task 1\\ntask 2')\""
check "grep -q 'stopped by Terminated' $W/sig.err"
check "grep -q -e 'to finish the run: .*--resume' $W/sig.err"
check "test \"\$($TFQ results $W/sig.res | tail -n +2 | cut -f 1 | tr '\\n' ' ')\" = '1 2 '"
run_cmd 0 "$TFQ -j 2 --resume --results $W/sig.res run $T >> $W/sig.out 2> $W/sig2.err"
check "test \"\$(cat $W/sig.out)\" = \"\$(seq 1 10 | sed 's/^/task /')\""
check "test \"\$($TFQ results --all $W/sig.res | tail -n +2 | wc -l)\" = 10"
# SIGINT to every process of the run, as Ctrl-C sends it: exit 130.
# The signal goes once both first tasks run (a slow start, as under a
# sanitizer, must not let it reach a master that has not set its handlers).
for i in $(seq 1 4); do echo "touch $W/int.started.$i; sleep 5"; done > "$W/int.txt"
(
    setsid "$TF" -j 2 run "$W/int.txt" > /dev/null 2> "$W/int.err" &
    pid=$!
    for _ in $(seq 300); do
        test "$(ls "$W" | grep -c '^int\.started\.')" -ge 2 && break
        sleep 0.1
    done
    kill -INT -- "-$pid"
    wait "$pid"
    echo $? > "$W/int.rc"
)
check "test \"\$(cat $W/int.rc)\" = 130 && grep -q 'stopped by Interrupt' $W/int.err"
# A second signal ends the master at once, while its workers still wait
# for tasks that ignore SIGTERM.
for i in 1 2; do echo "trap '' TERM; touch $W/stubborn.started.$i; sleep 20"; done > "$W/stubborn.txt"
(
    "$TF" -j 2 run "$W/stubborn.txt" > /dev/null 2>&1 &
    pid=$!
    for _ in $(seq 300); do
        test -e "$W/stubborn.started.1" && test -e "$W/stubborn.started.2" && break
        sleep 0.1
    done
    kill -TERM "$pid"
    sleep 0.2
    kill -TERM "$pid"
    for _ in $(seq 30); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2> /dev/null && echo alive > "$W/stubborn.state" || echo gone > "$W/stubborn.state"
    wait "$pid"
    echo $? > "$W/stubborn.rc"
)
check "test \"\$(cat $W/stubborn.state)\" = gone && test \"\$(cat $W/stubborn.rc)\" = 143"

# ------------------------------------------------------------------ --halt
# Every 5th of 20 tasks fails. now,fail=1 stops at the first failure and
# ends the running tasks; soon,fail=2 lets the running ones finish;
# now,success=3 stops after three successes with status 0.
T=$W/halt.txt
for i in $(seq 1 20); do
    if [ $((i % 5)) = 0 ]; then echo "sleep 0.2; exit 1"; else echo "sleep 0.2; echo $i"; fi
done > "$T"
run_cmd 4 "$TFQ -j 2 --halt now,fail=1 --joblog $W/h1.log run $T > $W/h1.out 2> $W/h1.err"
check "grep -q 'halted: 1 task failed (--halt now,fail=1)' $W/h1.err"
check "test \"\$(tail -n +2 $W/h1.log | wc -l)\" -lt 8"
run_cmd 4 "$TFQ -j 2 --halt soon,fail=2 --joblog $W/h2.log run $T > $W/h2.out 2> $W/h2.err"
check "grep -q 'halted: 2 tasks failed' $W/h2.err && test \"\$(tail -n +2 $W/h2.log | wc -l)\" -lt 16"
check "awk -F '\t' 'NR > 1 && \$8 != 0 { bad = 1 } END { exit bad }' $W/h2.log"
run_cmd 0 "$TFQ -j 2 --halt now,success=3 run $T > $W/h3.out 2> $W/h3.err"
check "grep -q 'halted: 3 tasks succeeded' $W/h3.err"
for v in later,fail=1 now,fail=0 now,fail=200% soon now,oops=1; do
    run_cmd 2 "$TFQ --halt $v run $T > /dev/null 2> $W/hv.err"
    check "grep -q -e '--halt' $W/hv.err"
done

e2e_finish
