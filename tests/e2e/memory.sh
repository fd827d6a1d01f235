#!/bin/bash
# memory.sh - what each task used, and memory as the task's problem
#
# Usage: bash tests/e2e/memory.sh path/to/taskfarm   (or TASKFARM=...)
#
# A task that writes 200 MiB and one that burns half a second of CPU: the
# results file records a peak of at least 200 MiB for the first and a CPU
# time of at least 0.5 s for the second, and `taskfarm results`,
# `taskfarm report` (numbers, columns, the memory chart) show them, forked
# and under mpirun. Then, in a memory-limited cgroup the script makes (cgroup
# v2 under /sys/fs/cgroup, else version 1's memory controller; removed at
# the end): a task that allocates past the limit is killed and recorded as
# out of memory while its worker lives on and runs the other tasks; tasks
# that fit one at a time but not two run two workers into the killer
# without --mem-per-task and wait their turn with it (or with --history of
# a run that measured them); a task that needs more than the cgroup allows
# fails at once, with a message. Forked and under mpirun. Needs python3
# (for tasks that allocate exact amounts) and root for the cgroup; exits 77
# without python3, and skips the cgroup checks only where no cgroup can be
# made.

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
mpi_init

command -v python3 > /dev/null 2>&1 || e2e_skip_all "python3 not found"
TFQ=$(q "$TF")
MIB200=209715200

# A task that writes 200 MiB (every page touched), one that burns 0.5 s of
# CPU whatever the load, and a small one.
cat > "$W/measure.txt" <<'EOF'
python3 -c "a = b'x' * (200 << 20)"
python3 -c "import time; t = time.process_time(); [0 for _ in iter(lambda: time.process_time() - t < 0.5, False)]"
echo small
EOF

# $W/field FILE TASK COLUMN - COLUMN (a name of the TSV header) of TASK in
# `taskfarm results FILE`.
{
    echo '#!/bin/sh'
    echo "$TFQ results \"\$1\" | awk -F '\t' -v id=\"\$2\" -v col=\"\$3\" '"
    echo '    NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }'
    echo "    \$1 == id { print \$c }'"
} > "$W/field"
chmod +x "$W/field"

check_measured()
{
    local r=$1
    check "test \"\$($W/field $r 1 max_rss)\" -ge $MIB200"
    check "awk -v cpu=\"\$($W/field $r 2 cpu)\" 'BEGIN { exit !(cpu >= 0.5) }'"
    check "$TFQ results --format jsonl $r | grep -q '\"cpu\":[0-9.]*,\"max_rss\":[0-9]*,'"
    check "$TFQ report --format txt $r | grep -q '^max memory  *2[0-9][0-9] MiB'"
    check "$TFQ report --format txt $r | grep -q '^CPU time  '"
    check "$TFQ report --format txt $r | grep -q ' CPU  *memory  *worker '"
    run_cmd 0 "$TFQ report -o $r.html $r"
    check "grep -q '<svg id=\"memory\"' $r.html && grep -q '<th class=\"n\">memory</th>' $r.html"
}

# --------------------------------------------------------------- measured
run_cmd 0 "$TFQ -j 2 --results $W/m.tfr run $W/measure.txt > $W/m.out"
check_measured "$W/m.tfr"
# A joblog has no such numbers: its report stays as it was.
run_cmd 0 "$TFQ -j 2 --joblog $W/m.log run $W/measure.txt > /dev/null"
check "! $TFQ report --format txt $W/m.log | grep -q 'max memory'"
if mpi_run 0 "$(mpirun_cmd "-np 3" --results "$W/mpi.tfr" run "$W/measure.txt") > $W/mpi.out"; then
    check_measured "$W/mpi.tfr"
fi
# Every task that ran a command has its peak.
check "$TFQ results $W/m.tfr | awk -F '\t' 'NR > 1 && \$14 == 0 { exit 1 }'"

# ----------------------------------------------------------------- cgroup
CG=
CG_LIMIT=$((300 << 20))
# make_cgroup - makes a cgroup limited to CG_LIMIT bytes of memory (no
# swap) in CG, and $W/incg, which runs its arguments in it. False when none
# can be made here.
make_cgroup()
{
    local name=tf-e2e-memory-$$
    if grep -qw memory /sys/fs/cgroup/cgroup.controllers 2> /dev/null; then
        grep -qw memory /sys/fs/cgroup/cgroup.subtree_control ||
            echo +memory > /sys/fs/cgroup/cgroup.subtree_control ||
            return 1
        CG=/sys/fs/cgroup/$name
        mkdir "$CG" 2> /dev/null || { CG= && return 1; }
        echo "$CG_LIMIT" > "$CG/memory.max" || return 1
        [ ! -e "$CG/memory.swap.max" ] || echo 0 > "$CG/memory.swap.max"
    elif [ -d /sys/fs/cgroup/memory ]; then
        CG=/sys/fs/cgroup/memory/$name
        mkdir "$CG" 2> /dev/null || { CG= && return 1; }
        echo "$CG_LIMIT" > "$CG/memory.limit_in_bytes" || return 1
        [ ! -e "$CG/memory.memsw.limit_in_bytes" ] ||
            echo "$CG_LIMIT" > "$CG/memory.memsw.limit_in_bytes" 2> /dev/null
        [ ! -e "$CG/memory.swappiness" ] || echo 0 > "$CG/memory.swappiness"
    else
        return 1
    fi
    printf '#!/bin/sh\necho $$ > %s/cgroup.procs && exec "$@"\n' "$CG" \
        > "$W/incg"
    chmod +x "$W/incg"
}

remove_cgroup()
{
    local p
    [ -n "$CG" ] && [ -d "$CG" ] || return 0
    for p in $(cat "$CG/cgroup.procs" 2> /dev/null); do
        kill -9 "$p" 2> /dev/null
    done
    sleep 0.2
    rmdir "$CG" 2> /dev/null || echo "# could not remove $CG"
}
trap 'remove_cgroup; e2e_cleanup' EXIT

if ! make_cgroup; then
    remove_cgroup
    e2e_skip "the cgroup checks" "no memory-limited cgroup can be made here"
    e2e_finish
fi
echo "# cgroup: $CG, $((CG_LIMIT >> 20)) MiB"

# ------------------------------------------------------- out of memory
# One worker: the task past the limit dies, the worker runs the rest.
cat > "$W/oom.txt" <<'EOF'
python3 -c "a = b'x' * (400 << 20)"
echo after 1
echo after 2
echo after 3
EOF
check_oom()
{
    local r=$1 err=$2
    check "$TFQ results $r | awk -F '\t' '\$1 == 1 && \$3 == 137 && \$5 ~ /oom/ { n++ } END { exit n != 1 }'"
    check "$TFQ results $r | awk -F '\t' 'NR > 2 && (\$3 != 0 || \$5 ~ /oom|lost/ || \$7 != 0) { exit 1 } END { exit NR != 5 }'"
    check "grep -q 'task 1 was killed by the kernel for lack of memory' $err"
    check "$TFQ report --format txt $r | grep -q '^out of memory  *1\$'"
}
run_cmd 1 "$W/incg $TFQ -j 1 --results $W/oom.tfr run $W/oom.txt > $W/oom.out 2> $W/oom.err"
check_oom "$W/oom.tfr" "$W/oom.err"
check "grep -c after $W/oom.out | grep -qx 3"
if mpi_run 1 "$W/incg env $(mpirun_cmd "-np 2" --results "$W/oom-mpi.tfr" run "$W/oom.txt") > $W/oom-mpi.out 2> $W/oom-mpi.err"; then
    check_oom "$W/oom-mpi.tfr" "$W/oom-mpi.err"
fi

# ------------------------------------------------------ waiting for memory
# Each fits alone in the cgroup, two do not.
for i in 1 2 3; do
    echo "python3 -c \"import time; a = b'x' * (200 << 20); time.sleep(1)\" # $i"
done > "$W/wait.txt"
# no_overlap FILE - no two tasks of FILE ran at the same time. (Times in
# whole milliseconds: awk's print would round a sum to 6 digits.)
no_overlap()
{
    printf '%s' "$TFQ results $1 | awk -F '\t' 'NR > 1 { printf \"%.0f %.0f\\n\", \$9 * 1000, (\$9 + \$10) * 1000 }' | sort -n | awk 'NR > 1 && \$1 < end { exit 1 } { end = \$2 }'"
}
run_cmd 1 "$W/incg $TFQ -j 2 --results $W/nowait.tfr run $W/wait.txt > /dev/null 2> $W/nowait.err"
check "$TFQ results $W/nowait.tfr | grep -q 'oom'"
run_cmd 0 "$W/incg $TFQ -j 2 --mem-per-task 200M --results $W/wait.tfr run $W/wait.txt > /dev/null 2> $W/wait.err"
check "! $TFQ results $W/wait.tfr | grep -q oom"
check "$(no_overlap "$W/wait.tfr")"
check "grep -q 'waits for memory: task [0-9]* needs 200 MiB' $W/wait.err"
# --history: the peaks of a run outside the cgroup say what each needs.
run_cmd 0 "$TFQ -j 2 --results $W/hist.tfr run $W/wait.txt > /dev/null"
run_cmd 0 "$W/incg $TFQ -j 2 --history $W/hist.tfr --results $W/hwait.tfr run $W/wait.txt > /dev/null 2> $W/hwait.err"
check "! $TFQ results $W/hwait.tfr | grep -q oom"
check "$(no_overlap "$W/hwait.tfr")"
check "grep -q 'waits for memory' $W/hwait.err"
if mpi_run 0 "$W/incg env $(mpirun_cmd "-np 3" --mem-per-task 200M --results "$W/wait-mpi.tfr" run "$W/wait.txt") > /dev/null 2> $W/wait-mpi.err"; then
    check "! $TFQ results $W/wait-mpi.tfr | grep -q oom"
    check "$(no_overlap "$W/wait-mpi.tfr")"
    check "grep -q 'waits for memory' $W/wait-mpi.err"
fi

# A history peak larger than the cgroup is an estimate, not a need: the
# task runs as it would without (here into the killer), not refused.
run_cmd 0 "$TFQ -j 1 --results $W/bighist.tfr run $W/oom.txt > /dev/null"
run_cmd 1 "$W/incg $TFQ -j 1 --history $W/bighist.tfr --results $W/bigest.tfr run $W/oom.txt > /dev/null 2> $W/bigest.err"
check "$TFQ results $W/bigest.tfr | awk -F '\t' '\$1 == 1 && \$3 == 137 && \$5 ~ /oom/ { n++ } END { exit n != 1 }'"
check "grep -q 'task 1: its peak in --history, 4[0-9][0-9] MiB, is more than the 300 MiB of .*: started without waiting' $W/bigest.err"
check "! grep -q 'not run' $W/bigest.err"

# More than the cgroup holds: fails at once rather than wait for ever.
run_cmd 1 "$W/incg $TFQ -j 2 --mem-per-task 1G --results $W/big.tfr run $W/measure.txt > $W/big.out 2> $W/big.err"
check "$TFQ results $W/big.tfr | awk -F '\t' 'NR > 1 && \$3 != 1 { exit 1 } END { exit NR != 4 }'"
check "grep -q 'the task needs 1.00 GiB of memory, more than the 300 MiB of' $W/big.err"
check "test ! -s $W/big.out"

remove_cgroup
e2e_finish
