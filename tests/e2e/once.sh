#!/bin/bash
# once.sh - every task exactly once and its output never lost, off the
# happy path: a full disk under the output, SIGKILL of the master behind a
# slow first task, a worker killed under its task, outputs larger than
# memory, --halt in both output modes, template joblogs read by GNU Parallel
# and back, guards on the record files, bad input, and the same under
# mpirun -np 3 where it applies. A record means the output is where it was
# going: each check below looks at the records and the output together.
#
# Usage: bash tests/e2e/once.sh path/to/taskfarm   (or TASKFARM=...)
# The full-disk checks need to mount a tmpfs (root); the GNU Parallel
# checks need parallel; the process-limit check needs setpriv and prlimit.
# Each missing one is a SKIP line, and the script then exits 77.

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
mpi_init

TFQ=$(q "$TF")
D=$W/tiny
mkdir "$D"
MOUNTED=0
trap 'if [ "$MOUNTED" = 1 ]; then umount "$D" 2> /dev/null; fi; e2e_cleanup' EXIT

# seq_is FILE N - FILE's lines are exactly 1..N, each once (in any order).
seq_is()
{
    check "test \"\$(sort -n $1 | tr '\\n' ' ')\" = \"\$(seq 1 $2 | tr '\\n' ' ')\""
}

# ids_of JOBLOG - the Seq column, header left out.
ids_of()
{
    tail -n +2 "$1" | cut -f 1
}

# small_disk SIZE - (re)mounts a tmpfs of SIZE on $D; false when it cannot.
small_disk()
{
    if [ "$MOUNTED" = 1 ]; then
        umount "$D" 2> /dev/null
        MOUNTED=0
    fi
    mount -t tmpfs -o "size=$1" tmpfs "$D" 2> /dev/null || return 1
    MOUNTED=1
}

# ------------------------------------- 1. a full disk under the output
# 20 tasks of 5,000 bytes and a last line taskN on a 64 KiB disk: the run
# stops with one line and exit 3, records exactly the tasks whose output is
# whole in the file, which ends with a whole task; --resume with room again
# writes each task's output once across the two runs.
F=$W/full.txt
for i in $(seq 1 20); do
    echo "printf '%05000d\\n' 0; echo task$i"
done > "$F"
task_lines()
{
    grep -a -o '^task[0-9]*$' "$1" | sed 's/^task//'
}
if small_disk 64k; then
    run_cmd 3 "$TFQ -j 2 --joblog $W/f1.log run $F > $D/f1.out 2> $W/f1.err"
    check "test \"\$(wc -l < $W/f1.err)\" = 1 && grep -q 'writing standard output: No space left on device' $W/f1.err"
    check "cmp <(ids_of $W/f1.log | sort -n) <(task_lines $D/f1.out | sort -n)"
    check "test \"\$(tail -n 1 $D/f1.out)\" = task\$(task_lines $D/f1.out | tail -n 1) && test \"\$(tail -c 1 $D/f1.out | od -An -c | tr -d ' ')\" = '\\n'"
    check "test \"\$(ids_of $W/f1.log | wc -l)\" -lt 20"
    mount -o remount,size=4m "$D"
    run_cmd 0 "$TFQ -j 2 --joblog $W/f1.log --resume run $F >> $D/f1.out"
    task_lines "$D/f1.out" > "$W/f1.ids"
    seq_is "$W/f1.ids" 20
    ids_of "$W/f1.log" > "$W/f1.logids"
    seq_is "$W/f1.logids" 20
    # The same with --output on the full disk and a results file: it says
    # which tasks are written, and the resumed run cuts the file back to
    # the last of them first.
    small_disk 64k
    run_cmd 3 "$TFQ -j 2 --results $W/f2.res --output $D/f2.out run $F 2> $W/f2.err"
    check "test \"\$(wc -l < $W/f2.err)\" = 1 && grep -q 'writing $D/f2.out: No space left on device' $W/f2.err"
    check "cmp <($TFQ results $W/f2.res | tail -n +2 | cut -f 1 | sort -n) <(task_lines $D/f2.out | sort -n)"
    mount -o remount,size=4m "$D"
    run_cmd 0 "$TFQ -j 2 --results $W/f2.res --output $D/f2.out --resume run $F"
    task_lines "$D/f2.out" > "$W/f2.ids"
    seq_is "$W/f2.ids" 20
    check "test \"\$(wc -c < $D/f2.out)\" = \$((20 * 5001 + $(seq 1 20 | sed 's/^/task/' | wc -c)))"
    # Unordered, standard error full instead: the same promise.
    small_disk 64k
    sed 's/.*/{ & ; } >\&2/' "$F" > "$W/f3.txt"
    run_cmd 3 "$TFQ -j 2 -u --joblog $W/f3.log run $W/f3.txt 2> $D/f3.err > /dev/null"
    check "cmp <(ids_of $W/f3.log | sort -n) <(task_lines $D/f3.err | sort -n)"
else
    e2e_skip "mount -t tmpfs -o size=64k tmpfs $D" "cannot mount a tmpfs here (needs root)"
fi

# ------------------------------- 2. SIGKILL behind a slow first task
# Task 1 sleeps; tasks 2..29 each print a line and count their runs. Once
# they are done and a sync interval has passed, the master gets SIGKILL:
# its records hold them (they ended, whatever the order of the output), the
# workers end task 1, and --resume runs none of them again and writes each
# line once across the two runs.
K=$W/kill.txt
{
    echo "sleep \$SLOW_FIRST"
    for i in $(seq 2 29); do
        echo "echo out$i; echo x >> $W/count.$i"
    done
} > "$K"
# kill_behind NAME ARGS... - the first run, killed; its output in
# $W/NAME.1.out.
kill_behind()
{
    local name=$1 pid n
    shift
    rm -f "$W"/count.*
    SLOW_FIRST=60.25 "$TF" -j 2 "$@" run "$K" > "$W/$name.1.out" 2> "$W/$name.1.err" &
    pid=$!
    for n in $(seq 1 200); do
        [ "$(ls "$W"/count.* 2> /dev/null | wc -l)" = 28 ] && break
        sleep 0.1
    done
    sleep 1.6 # one --sync-interval and then some
    kill -9 "$pid"
    wait "$pid" 2> /dev/null
}
# resumed NAME ARGS... - the resumed run and its checks.
resumed()
{
    local name=$1
    shift
    run_cmd 0 "SLOW_FIRST=0 $TFQ -j 2 $(q "$@") --resume run $K > $W/$name.2.out"
    check "test \"\$(cat $W/count.* | wc -l) \$(ls $W/count.* | wc -l)\" = '28 28'"
    check "test \"\$(cat $W/$name.1.out $W/$name.2.out | sort | uniq -c | awk '\$1 != 1' | wc -l) \$(cat $W/$name.1.out $W/$name.2.out | wc -l)\" = '0 28'"
}
for mode in "" -u; do
    kill_behind "kj$mode" $mode --joblog "$W/kj$mode.log"
    check "test \"\$(ids_of $W/kj$mode.log | sort -n | tr '\\n' ' ')\" = \"\$(seq 2 29 | tr '\\n' ' ')\""
    resumed "kj$mode" $mode --joblog "$W/kj$mode.log"
    check "test ! -e $W/kj$mode.log.spool"
    kill_behind "kr$mode" $mode --results "$W/kr$mode.res"
    check "test \"\$($TFQ results $W/kr$mode.res | tail -n +2 | cut -f 1 | tr '\\n' ' ')\" = \"\$(seq 2 29 | tr '\\n' ' ')\""
    resumed "kr$mode" $mode --results "$W/kr$mode.res"
done
# The workers ended task 1 when the master died.
check "for i in \$(seq 1 50); do pgrep -f 'sleep 60[.]25' > /dev/null || exit 0; sleep 0.1; done; exit 1"
# --output with --results: the file holds each task's output exactly once
# after the kill and the resumed run.
kill_behind ko --results "$W/ko.res" --output "$W/ko.out"
run_cmd 0 "SLOW_FIRST=0 $TFQ -j 2 --results $W/ko.res --output $W/ko.out --resume run $K"
check "test \"\$(sort $W/ko.out | uniq -c | awk '\$1 != 1' | wc -l) \$(wc -l < $W/ko.out)\" = '0 28'"

# ---------------------------------- 3. a worker killed under its task
# SIGKILL to the worker while its task sleeps: the task is ended before it
# runs again, so its side effect happens once. A task that kills its own
# worker fails alone after three tries, and none of its copies runs on.
printf 'sleep 2; echo A >> %s/side.log\n' "$W" > "$W/side.txt"
"$TF" -j 1 -q run "$W/side.txt" > /dev/null 2> "$W/side.err" &
pid=$!
for n in $(seq 1 100); do
    wk=$(pgrep -P "$pid" -x taskfarm)
    [ -n "$wk" ] && pgrep -P "$wk" > /dev/null && break
    sleep 0.05
done
kill -9 "$wk"
wait "$pid"
echo $? > "$W/side.rc"
check "test \"\$(cat $W/side.rc)\" = 0"
check "sleep 2.5; test \"\$(cat $W/side.log)\" = A"
printf 'kill -9 $PPID; sleep 1; echo B >> %s/side2.log\n' "$W" > "$W/self.txt"
run_cmd 1 "$TFQ -j 1 -q --joblog $W/self.log run $W/self.txt 2> $W/self.err"
check "sleep 1.5; test ! -e $W/side2.log && awk -F '\\t' 'NR == 2 && \$7 == -1 && \$8 == 9 { ok = 1 } END { exit !ok }' $W/self.log"

# ------------------------------------------ 4. output larger than memory
# A task writing BIG bytes behind a slow first task: its output waits in
# the spool file, every process stays under 100 MB, and every byte arrives
# in order. 2 GB where the temporary directory has room for it, else less;
# TF_E2E_BIG sets another size (scripts/test.sh: 300 MB in the builds that
# repeat the normal build's checks, still three times the 100 MB bound).
BIG=${TF_E2E_BIG:-2000000000}
free_kb=$(df -Pk "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $4 }')
if [ "$free_kb" -lt 6000000 ]; then
    e2e_skip "2 GB output" "only $free_kb kB free in ${TMPDIR:-/tmp}; checking 300 MB instead"
    BIG=300000000
fi
printf '%s\n' "sleep 1; echo first" "yes 0123456789abcdef | head -c $BIG" \
    "echo; echo last" > "$W/big.txt"
# peak_rss PID OUT - the largest RSS (kB) of PID and its children while PID
# lives, written to OUT.
peak_rss()
{
    local pid=$1 out=$2 max=0 p r
    while kill -0 "$pid" 2> /dev/null; do
        for p in "$pid" $(pgrep -P "$pid"); do
            r=$(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2> /dev/null)
            [ -n "$r" ] && [ "$r" -gt "$max" ] && max=$r
        done
        sleep 0.1
    done
    echo "$max" > "$out"
}
# big_run NAME FILE ARGS... - runs the task file FILE with ARGS, its output
# summed into $W/NAME.sum, and its peak memory in $W/NAME.rss.
big_run()
{
    local name=$1 file=$2 pid sum
    shift 2
    rm -f "$W/fifo"
    mkfifo "$W/fifo"
    md5sum < "$W/fifo" > "$W/$name.sum" &
    sum=$!
    # (Under AddressSanitizer freed memory waits in a quarantine: keep it
    # small, so that the bound is the program's, not the sanitizer's.)
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4" \
        "$TF" -j 2 -q "$@" run "$file" > "$W/fifo" 2> "$W/$name.err" &
    pid=$!
    peak_rss "$pid" "$W/$name.rss"
    wait "$pid"
    echo $? > "$W/$name.rc"
    wait "$sum"
}
{ echo first; yes 0123456789abcdef | head -c $BIG; echo; echo last; } | md5sum > "$W/big.want"
big_run big "$W/big.txt"
check "test \"\$(cat $W/big.rc)\" = 0 && cmp $W/big.want $W/big.sum && test ! -s $W/big.err"
check "test \"\$(cat $W/big.rss)\" -gt 0 && test \"\$(cat $W/big.rss)\" -lt 100000"
# Unordered: the task alone, its output streamed as it comes.
sed -n 2p "$W/big.txt" > "$W/bigu.txt"
yes 0123456789abcdef | head -c $BIG | md5sum > "$W/bigu.want"
big_run bigu "$W/bigu.txt" -u
check "cmp $W/bigu.want $W/bigu.sum && test \"\$(cat $W/bigu.rss)\" -gt 0 && test \"\$(cat $W/bigu.rss)\" -lt 100000"
# In a results file it goes in pieces, and comes back whole.
if [ "$BIG" -gt 300000000 ]; then
    sed -i "s/head -c $BIG/head -c 300000000/" "$W/big.txt"
    { echo first; yes 0123456789abcdef | head -c 300000000; echo; echo last; } | md5sum > "$W/big.want"
fi
big_run bigr "$W/big.txt" --results "$W/big.res"
check "cmp $W/big.want $W/bigr.sum && test \"\$(cat $W/bigr.rss)\" -lt 100000"
check "test \"\$($TFQ results $W/big.res --task 2 | md5sum)\" = \"\$(yes 0123456789abcdef | head -c 300000000 | md5sum)\""

# ------------------------------------------------------- 5. --halt
# Halting acts on completions, not on the order of the output: behind a
# first task of a minute, the second task's failure (or success) halts a
# `now` run at once, in both output modes; a `soon` run starts nothing more.
H=$W/halt.txt
{
    echo "sleep 60.5"
    echo "false"
    for i in $(seq 3 22); do echo "touch $W/ran.$i"; done
} > "$H"
for mode in "" -u; do
    run_cmd 4 "timeout -k 5 20 $TFQ -j 2 --chunk 1 $mode --halt now,fail=1 run $H > /dev/null 2> $W/halt$mode.err"
    check "grep -q 'halted: 1 task failed (--halt now,fail=1)' $W/halt$mode.err"
    rm -f "$W"/ran.*
    sed '1s/.*/sleep 2/' "$H" > "$W/halt-soon.txt"
    run_cmd 4 "$TFQ -j 2 --chunk 1 $mode --halt soon,fail=1 run $W/halt-soon.txt > /dev/null"
    check "test \"\$(ls $W | grep -c '^ran\\.')\" -le 2"
    sed '2s/.*/true/' "$H" > "$W/halt-ok.txt"
    run_cmd 0 "timeout -k 5 20 $TFQ -j 2 --chunk 1 $mode --halt now,success=1 run $W/halt-ok.txt > /dev/null 2> $W/halt-ok$mode.err"
    check "grep -q 'halted: 1 task succeeded' $W/halt-ok$mode.err"
done
# --halt now ends the run with tasks still running (lib.sh: mpi_ended_with).
if mpi_run 0 "$(mpirun_cmd "-np 3" --chunk 1 --halt now,fail=1 run "$H") > /dev/null 2> $W/halt-mpi.err; mpi_ended_with 4 \$?"; then
    check "grep -q 'halted: 1 task failed' $W/halt-mpi.err"
fi

# ------------------------------------------- 6. templates and joblogs
# With --template the joblog's Command column is the command as run, as
# GNU Parallel writes it; every line is data (#autosave#, blank, empty);
# GNU Parallel's --retry-failed runs those commands, and taskfarm resumes
# from GNU Parallel's joblog of the same template.
printf '%s\n' 'a b' "it's" '#autosave#' '' '  ' 'plain' > "$W/data.txt"
printf '%s\n' '[a b]' "[it's]" '[#autosave#]' '[]' '[  ]' '[plain]' > "$W/tm.want"
mkdir "$W/rf"
TM="printf '[%s]\\n' {}; test {} != plain || { touch $W/rf/failed.{#}; false; }"
run_cmd 1 "$TFQ -j 2 --joblog $W/tm.log run --template $(q "$TM") $W/data.txt > $W/tm.out"
same_file "$W/tm.want" "$W/tm.out"
check "test \"\$(ids_of $W/tm.log | sort -n | tr '\\n' ' ')\" = '1 2 3 4 5 6 '"
printf '%s\n' "printf '[%s]\\n' 'a b'; test 'a b' != plain || { touch $W/rf/failed.1; false; }" > "$W/tm.cmd1"
check "cmp <(awk -F '\\t' '\$1 == 1 { print \$9 }' $W/tm.log) $W/tm.cmd1"
check "test -e $W/rf/failed.6 && rm $W/rf/failed.6"
if command -v parallel > /dev/null 2>&1; then
    run_cmd 0 "cd $W/rf && parallel --retry-failed --joblog $W/tm.log > $W/rf.out 2>&1; test \$? = 1"
    check "test -e $W/rf/failed.6 && test \"\$(cat $W/rf.out)\" = '[plain]'"
    # GNU Parallel ran the first three lines; taskfarm runs the rest.
    head -n 3 "$W/data.txt" > "$W/half.txt"
    run_cmd 0 "parallel -j 1 --joblog $W/gp.log 'printf \"[%s]\\n\" {}' :::: $W/half.txt > /dev/null"
    run_cmd 0 "$TFQ -j 2 --joblog $W/gp.log --resume run --template 'printf \"[%s]\\n\" {}' $W/data.txt > $W/gp.out"
    check "test \"\$(cat $W/gp.out)\" = \"\$(printf '[]\\n[  ]\\n[plain]')\""
else
    e2e_skip "parallel --retry-failed --joblog ..." "GNU Parallel (parallel) is not installed"
fi
# Replacement strings: columns, and refusal of those not implemented.
printf 'a,b\nc,d,e\n' > "$W/cols.txt"
run_cmd 0 "$TFQ -j 2 -q run --colsep , --template 'echo {2}-{1}-{3}' $W/cols.txt > $W/cols.out"
check "test \"\$(cat $W/cols.out)\" = \"\$(printf 'b-a-\\nd-c-e')\""
usage_error "'{= s/a/b/ =}' is not a replacement string" run --template 'echo {= s/a/b/ =}' "$W/cols.txt"
usage_error "--colsep" run --template 'echo {2}' "$W/cols.txt"
usage_error "{+/}" run --template 'echo {+/}' "$W/cols.txt"

# ------------------------------------ 7. guards on the record files
cp "$F" "$W/guard.txt"
usage_error "--joblog" --joblog "$W/guard.txt" run "$W/guard.txt"
usage_error "--results" --results "$W/guard.txt" run "$W/guard.txt"
usage_error "--output" --output "$W/guard.txt" run "$W/guard.txt"
check "cmp $F $W/guard.txt"
usage_error "--joblog and --results are one file" --joblog "$W/same" --results "$W/same" run "$F"
check "test ! -e $W/same"
usage_error "are one file" --joblog "$W/same" --results "$W/../$(basename "$W")/same" run "$F"
: > "$W/so.log"
run_cmd 2 "$TFQ --joblog $W/so.log run $F > $W/so.log 2> $W/so.err"
check "grep -q 'standard output is --joblog' $W/so.err"
# Two runs on one joblog: the second is refused and the first goes on.
printf 'sleep 1; echo one\nsleep 1; echo two\n' > "$W/two.txt"
"$TF" -j 2 -q --joblog "$W/two.log" run "$W/two.txt" > "$W/two.out" &
pid=$!
sleep 0.3
run_cmd 2 "$TFQ -j 2 --joblog $W/two.log run $W/two.txt > /dev/null 2> $W/two.err"
check "grep -q 'in use by another taskfarm run' $W/two.err"
wait "$pid"
echo $? > "$W/two.rc"
check "test \"\$(cat $W/two.rc)\" = 0"
check "test \"\$(cat $W/two.out)\" = \"\$(printf 'one\\ntwo')\" && test \"\$(ids_of $W/two.log | sort -n | tr '\\n' ' ')\" = '1 2 '"

# ---------------------------------------------------- 8. bad input
# A malformed joblog to resume from: one line naming the file and line.
printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n1\th\t1.0\t1.0\t0\t0\t0\t0\techo\nnot a joblog line\n' > "$W/bad.log"
usage_error "$W/bad.log:3: not a joblog line" --joblog "$W/bad.log" --resume run "$F"
# -j past the tasks of a file starts no more workers than tasks.
echo "echo one" > "$W/one.txt"
run_cmd 0 "$TFQ -j 100000 run $W/one.txt > $W/one.out 2> $W/one.err"
check "grep -q ' 1 workers (fork)' $W/one.err && test \"\$(cat $W/one.out)\" = one"
# -j past the process limit: refused in one line, nothing started.
if command -v setpriv > /dev/null 2>&1 && command -v prlimit > /dev/null 2>&1 &&
    [ "$(id -u)" = 0 ]; then
    chmod 755 "$W"
    run_cmd 2 "setpriv --reuid=65534 --regid=65534 --clear-groups prlimit --nproc=20 $TFQ -j 30 run $F > $W/np.out 2> $W/np.err"
    check "test \"\$(wc -l < $W/np.err)\" = 1 && grep -q 'ulimit -u' $W/np.err && test ! -s $W/np.out"
else
    e2e_skip "setpriv ... prlimit --nproc=20 taskfarm -j 30 ..." "needs root, setpriv and prlimit"
fi
# Lines past the kernel's limit for one argument (128 KiB) run whole.
for n in 200000 900000; do
    { printf 'echo '; head -c "$n" /dev/zero | tr '\0' a; echo; } > "$W/long$n.txt"
    run_cmd 0 "$TFQ -j 1 -q run $W/long$n.txt > $W/long$n.out"
    check "test \"\$(wc -c < $W/long$n.out)\" = $((n + 1)) && test \"\$(tr -d a < $W/long$n.out)\" = ''"
done
head -c 200000 /dev/zero | tr '\0' b > "$W/longt.txt"
echo >> "$W/longt.txt"
run_cmd 0 "$TFQ -j 1 -q run --template 'printf %s {} | wc -c' $W/longt.txt > $W/longt.out"
check "test \"\$(cat $W/longt.out)\" = 200000"
# A task past its time limit fails, also when its own process exited 0 and
# only a child holding its output was ended: one verdict, the run's and the
# report's.
printf '%s\n' '(sleep 30 &); echo hi' 'echo ok' > "$W/to.txt"
run_cmd 1 "$TFQ -j 2 --timeout 1 --kill-grace 0.2 --joblog $W/to.log run $W/to.txt > /dev/null 2> $W/to.err"
check "grep -q '2 tasks, 1 failed' $W/to.err && awk -F '\\t' '\$1 == 1 && \$7 == 124 { ok = 1 } END { exit !ok }' $W/to.log"
check "$TFQ report --format txt $W/to.log | grep -q -E '^failed +1\$'"

# -------------------------------------------- 9. under mpirun -np 3
# Killing mpirun loses nothing that --output and --results recorded: the
# resumed run writes each task's output into the file exactly once. A
# full disk under --output stops the run with exit 3 there too.
if [ "$MPI" = 1 ]; then
    rm -f "$W"/count.*
    # (The resumed run has a quick first task: it runs, the others do not.)
    sed '1s/.*/sleep 60.75/' "$K" > "$W/km.txt"
    bash -c "$(mpirun_cmd "-np 3" --results "$W/km.res" --output "$W/km.out" run "$W/km.txt")" > /dev/null 2>&1 &
    pid=$!
    for n in $(seq 1 300); do
        [ "$(ls "$W"/count.* 2> /dev/null | wc -l)" = 28 ] && break
        sleep 0.1
    done
    sleep 1.6
    pkill -9 -f "^$MPIEXEC -np 3 $TF --results $W/km.res"
    wait "$pid" 2> /dev/null
    # The ranks, which the MPI library ends once mpirun is gone, take their
    # tasks with them.
    check "for i in \$(seq 1 100); do pgrep -f 'sleep 60[.]75' > /dev/null || exit 0; sleep 0.1; done; exit 1"
    pkill -f 'sleep 60[.]75'
    sed -i '1s/.*/true/' "$W/km.txt"
    mpi_run 0 "$(mpirun_cmd "-np 3" --results "$W/km.res" --output "$W/km.out" --resume run "$W/km.txt")"
    check "test \"\$(sort $W/km.out | uniq -c | awk '\$1 != 1' | wc -l) \$(wc -l < $W/km.out)\" = '0 28'"
    check "test \"\$(cat $W/count.* | wc -l)\" = 28"
    # The ways to stop a run under mpirun in order: SIGUSR1 drains it, exit
    # 5 (sent to Open MPI's mpirun, which forwards it, or to rank 0); SIGTERM
    # to rank 0 alone stops it, with the resume command, exit 143 (lib.sh:
    # mpi_ended_with). Either way the output file holds exactly the
    # recorded tasks.
    for i in $(seq 1 30); do echo "sleep 0.3; echo sig$i"; done > "$W/sig.txt"
    # mpirun_stop NAME SIGNAL - a run signalled once under way, where the
    # launcher lets the signal reach the master (lib.sh: mpi_signal_pids).
    # Its exit status in $W/NAME.rc.
    mpirun_stop()
    {
        local name=$1 sig=$2 p bp
        bash -c "$(mpirun_cmd "-np 3" --results "$W/$name.res" --output "$W/$name.out" run "$W/sig.txt")" > /dev/null 2> "$W/$name.err" &
        bp=$!
        # Once the run is under way: its first output is in the file.
        for p in $(seq 1 600); do
            [ -s "$W/$name.out" ] && break
            sleep 0.1
        done
        for p in $(mpi_signal_pids "$sig" "$TF --results $W/$name.res"); do
            kill "-$sig" "$p"
        done
        wait "$bp"
        echo $? > "$W/$name.rc"
    }
    mpirun_stop su USR1
    check "test \"\$(cat $W/su.rc)\" = 5 && grep -q 'asked the run to finish' $W/su.err"
    check "cmp <($TFQ results $W/su.res | tail -n +2 | cut -f 1 | sort -n) <(sed 's/^sig//' $W/su.out | sort -n)"
    mpirun_stop st TERM
    check "mpi_ended_with 143 \$(cat $W/st.rc) && grep -q 'stopped by Terminated' $W/st.err && grep -q 'to finish the run: .*--resume' $W/st.err"
    check "cmp <($TFQ results $W/st.res | tail -n +2 | cut -f 1 | sort -n) <(sed 's/^sig//' $W/st.out | sort -n)"
    if small_disk 64k; then
        mpi_run 0 "$(mpirun_cmd "-np 3" --results "$W/fm.res" --output "$D/fm.out" run "$F") 2> $W/fm.err; mpi_ended_with 3 \$?"
        check "grep -q 'writing $D/fm.out: No space left on device' $W/fm.err"
        check "cmp <($TFQ results $W/fm.res | tail -n +2 | cut -f 1 | sort -n) <(task_lines $D/fm.out | sort -n)"
    fi
else
    e2e_skip "mpirun -np 3 taskfarm --results ... --output ..." "$E2E_NO_MPI"
fi

e2e_finish
