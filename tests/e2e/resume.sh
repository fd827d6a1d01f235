#!/bin/bash
# resume.sh - a run killed at 30 random moments (the master, a worker, or
# its whole process group, with SIGKILL) and resumed each time loses
# nothing and runs nothing twice: every task ends with exactly one
# successful record, and the output equals an uninterrupted run's
#
# Usage: bash tests/e2e/resume.sh path/to/taskfarm   (or TASKFARM=...)

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

TFQ=$(q "$TF")
N=300
RANDOM=20261122 # the same moments every time

# Tasks of 0-99 ms that print two lines; some fail the first time they run
# (a counter file per task), so --resume-failed has work too.
T=$W/tasks.txt
for i in $(seq 1 $N); do
    ms=$(( (i * 37) % 100 ))
    if [ $((i % 25)) = 0 ]; then
        echo "sleep 0.0$(printf %02d $ms); echo task $i; echo line 2 of $i; test -e $W/ran.$i || { touch $W/ran.$i; exit 4; }"
    else
        echo "sleep 0.0$(printf %02d $ms); echo task $i; echo line 2 of $i"
    fi
done > "$T"

# The uninterrupted run, in its own directory for the counter files.
mkdir "$W/clean"
sed "s|$W/ran\\.|$W/clean/ran.|g" "$T" > "$W/clean/tasks.txt"
run_cmd 1 "$TFQ -j 2 -q --results $W/clean/r run $W/clean/tasks.txt > $W/clean.out"

# start MODE - one run of 'taskfarm --resume' that is killed after a random
# 0.05-0.3 s: MODE master (SIGKILL to the master), worker (SIGKILL to one
# worker; the run goes on, then its master is killed too) or group (SIGKILL
# to the whole process group). A run that ends first is fine.
start()
{
    local mode=$1 ms pid victim
    ms=$((50 + RANDOM % 250))
    setsid "$TF" -j 2 -q --resume --results "$W/r" --joblog "$W/log" \
        run "$T" >> "$W/run.out" 2>> "$W/run.err" &
    pid=$!
    sleep "$(printf '0.%03d' "$ms")"
    case $mode in
    master) kill -9 "$pid" 2> /dev/null ;;
    worker)
        victim=$(pgrep -P "$pid" | head -n 1)
        [ -n "$victim" ] && kill -9 "$victim" 2> /dev/null
        sleep 0.1
        kill -9 "$pid" 2> /dev/null
        ;;
    group) kill -9 -- "-$pid" 2> /dev/null ;;
    esac
    wait "$pid" 2> /dev/null
    echo "$mode after $ms ms: exit $? at $(date +%s.%N)" >> "$W/kills"
}

modes=(master worker group)
for k in $(seq 0 29); do
    start "${modes[$((k % 3))]}"
done
E2E_N=$((E2E_N + 1))
e2e_ok "30 runs killed at random moments: $(grep -c 'exit 137' "$W/kills") by SIGKILL before they ended"

# Finish: resume until no task is left, then once more with --resume-failed.
check "$TFQ -j 2 -q --resume --results $W/r --joblog $W/log run $T >> $W/run.out 2>> $W/run.err; test \$? -le 1"
run_cmd 0 "$TFQ -j 2 --resume-failed --results $W/r --joblog $W/log run $T >> $W/run.out 2> $W/last.err"
check "grep -q ' skipped (done before)' $W/last.err"

# Every task has exactly one successful record.
run_cmd 0 "$TFQ results --all $W/r > $W/all.tsv"
check "awk -F '\t' 'NR > 1 && \$3 == 0 { ok[\$1]++ } END { for (i = 1; i <= $N; i++) if (ok[i] != 1) { print i, ok[i]; bad = 1 } exit bad }' $W/all.tsv"
# The joblog too: one successful line per task.
check "awk -F '\t' 'NR > 1 && \$7 == 0 { ok[\$1]++ } END { for (i = 1; i <= $N; i++) if (ok[i] != 1) { print i, ok[i]; bad = 1 } exit bad }' $W/log"

# The output kept for each task equals the uninterrupted run's output.
# kept FILE - every task's kept stdout, in task order.
kept()
{
    "$TF" results --format jsonl "$1" |
        python3 -c 'import json, sys
for line in sys.stdin:
    sys.stdout.write(json.loads(line)["stdout"])'
}
kept "$W/r" > "$W/resumed.out"
kept "$W/clean/r" > "$W/clean.kept"
same_file "$W/clean.out" "$W/clean.kept"
same_file "$W/clean.out" "$W/resumed.out"

# A changed task file is not skipped by task number alone: task 3's text
# differs, so it runs again; the others are skipped.
sed '3s/$/ # changed/' "$T" > "$W/changed.txt"
run_cmd 0 "$TFQ -j 2 --resume --results $W/r run $W/changed.txt > $W/changed.out 2> $W/changed.err"
check "test \"\$(cat $W/changed.out)\" = \"\$(printf 'task 3\\nline 2 of 3')\""
check "grep -q '1 tasks, 0 failed, $((N - 1)) skipped' $W/changed.err"

# Under MPI a task that crashes takes only its own process; a worker rank
# killed with SIGKILL ends the whole job (the launcher aborts it), and
# --resume under mpirun finishes the work from the results file.
if have_mpirun; then
    M=$W/mpi
    mkdir "$M"
    for i in $(seq 1 40); do echo "sleep 0.1; echo task $i"; done > "$M/t.txt"
    echo 'kill -SEGV $$' >> "$M/t.txt"
    (
        eval "$(mpirun_cmd "-np 3" -q --results "$M/r" run "$M/t.txt") > $M/1.out 2> $M/1.err &"
        pid=$!
        sleep 1.5
        for p in $(mpi_rank_pids 1 "results $M/r run"); do
            kill -9 "$p"
        done
        wait "$pid"
        echo $? > "$M/1.rc"
    )
    check "test \"\$(cat $M/1.rc)\" != 0"
    run_cmd 1 "$(mpirun_cmd "-np 3" -q --resume --results "$M/r" run "$M/t.txt") > $M/2.out 2> $M/2.err"
    check "test \"\$($TFQ results $M/r | tail -n +2 | awk -F '\t' '\$3 == 0' | wc -l)\" = 40"
    check "$TFQ results $M/r | awk -F '\t' '\$1 == 41 && \$4 == 11 { ok = 1 } END { exit !ok }'"
    check "test \"\$($TFQ results --all $M/r | tail -n +2 | awk -F '\t' '\$3 == 0 { n[\$1]++ } END { for (i in n) if (n[i] > 1) bad = 1; exit bad }'; echo \$?)\" = 0"
else
    e2e_skip "MPI: a rank killed mid-run, then --resume" "$E2E_NO_MPI"
fi

# Told not to end the job when a rank exits badly (Open MPI: mpirun --mca
# orte_abort_on_non_zero_status 0), the launcher keeps the others and the
# master hands the killed worker's tasks to them: the run finishes, every
# task once and successful, with a line that names the lost worker; mpirun
# itself then exits 137 for the killed rank (not 124: no timeout). The task
# the worker ran dies with it, and so does what the task started (its
# background child never writes), as the master runs it again. (MPICH's
# mpiexec has no such mode that works as it is: docs/mpi-slurm.md.)
if have_mpirun && [ "$E2E_MPI" = openmpi ]; then
    L=$W/lost
    mkdir "$L"
    for i in $(seq 1 24); do
        echo "echo \$PPID > $L/w.\$PPID; (sleep 2; echo $i >> $L/ran.$i) & wait; echo task $i"
    done > "$L/t.txt"
    keep="--mca orte_abort_on_non_zero_status 0"
    (
        eval "$(mpirun_cmd "-np 4 $keep" --joblog "$L/log" run "$L/t.txt") > $L/1.out 2> $L/1.err &"
        pid=$!
        for _ in $(seq 300); do
            set -- "$L"/w.*
            test -e "$1" && test $# -ge 3 && break
            sleep 0.1
        done
        sleep 0.5
        set -- "$L"/w.*
        kill -9 "${1##*/w.}"
        wait "$pid"
        echo $? > "$L/1.rc"
    )
    check "test \"\$(sort -n -k 2 $L/1.out)\" = \"\$(seq 1 24 | sed 's/^/task /')\""
    check "test \"\$(tail -n +2 $L/log | awk -F '\t' '\$7 == 0 { print \$1 }' | sort -n | uniq | wc -l)\" = 24 && test \"\$(tail -n +2 $L/log | wc -l)\" = 24"
    check "grep -Eq '^taskfarm: lost 1 of 3 workers: worker [1-3] on [^ ]+ at [0-9:]{8}\$' $L/1.err"
    check "grep -q '24 tasks, 0 failed' $L/1.err && test \"\$(cat $L/1.rc)\" = 137"
    check "test \"\$(cat $L/ran.* | wc -l)\" = 24 && test \"\$(ls $L | grep -c '^ran\\.')\" = 24"
elif have_mpirun; then
    # Not a case under MPICH: its mpiexec ends the job (the block above).
    echo "# MPICH's mpiexec has no mode that keeps a job whose rank died"
else
    e2e_skip "MPI: a worker rank lost, the run goes on" "$E2E_NO_MPI"
fi

# A lost master ends the run under any launcher: its workers see their
# sockets close and end by themselves (no rank of the run is left), and
# --resume finishes the work from the results file.
if have_mpirun; then
    K=$W/kill0
    mkdir "$K"
    for i in $(seq 1 40); do echo "sleep 0.2; echo task $i"; done > "$K/t.txt"
    (
        eval "$(mpirun_cmd "-np 3" -q --results "$K/r" run "$K/t.txt") > $K/1.out 2> $K/1.err &"
        pid=$!
        for _ in $(seq 300); do
            test "$("$TF" results "$K/r" 2> /dev/null | tail -n +2 | wc -l)" -ge 5 && break
            sleep 0.1
        done
        for p in $(mpi_rank_pids 0 "results $K/r run"); do
            kill -9 "$p"
        done
        wait "$pid"
        echo $? > "$K/1.rc"
        sleep 3
        pgrep -f "results $K/r run" > "$K/left" || true
    )
    check "test \"\$(cat $K/1.rc)\" != 0 && test \"\$(cat $K/1.rc)\" != 124"
    check "test ! -s $K/left"
    run_cmd 0 "$(mpirun_cmd "-np 3" -q --resume --results "$K/r" run "$K/t.txt") > $K/2.out 2> $K/2.err"
    check "test \"\$($TFQ results $K/r | tail -n +2 | awk -F '\t' '\$3 == 0' | wc -l)\" = 40"
else
    e2e_skip "MPI: the master killed mid-run, then --resume" "$E2E_NO_MPI"
fi

# --resume without a record to resume from is a usage error.
run_cmd 2 "$TFQ --resume run $T > /dev/null 2> $W/noresume.err"
check "grep -q -e '--resume needs --joblog' $W/noresume.err"

e2e_finish
