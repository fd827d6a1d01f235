#!/bin/bash
# deadline.sh - running out of time well: --deadline and SIGUSR1 start no
# task that would not end in time, leave nothing half-recorded and exit 5;
# --resume then runs exactly the tasks left. --order lpt --history starts
# the longest tasks first and shortens the run.
#
# Usage: bash tests/e2e/deadline.sh path/to/taskfarm   (or TASKFARM=...)

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

TFQ=$(q "$TF")

# ids_ok FILE N - the results file FILE holds each task 1..N exactly once,
# all with status 0.
ids_ok()
{
    "$TF" results "$1" | awk -F '\t' -v n="$2" '
        NR == 1 { next }
        { seen[$1]++; if ($3 != 0) bad = 1 }
        END {
            for (i = 1; i <= n; i++) if (seen[i] != 1) bad = 1
            for (k in seen) if (k + 0 < 1 || k + 0 > n) bad = 1
            exit bad
        }'
}

# ------------------------------------------------ --deadline, then --resume
# 24 tasks of 0.3 s on 2 workers need 3.6 s; the deadline allows 1.5 s.
T=$W/d24.txt
for i in $(seq 1 24); do echo "sleep 0.3; echo task $i"; done > "$T"
seq 1 24 | sed 's/^/task /' > "$W/d24.want"
run_cmd 5 "$TFQ -j 2 run --results $W/d24.tfr --deadline 2s --deadline-margin 0.5s $T > $W/d24.out1 2> $W/d24.err1"
check "grep -q 'handed out no more tasks: the deadline is' $W/d24.err1"
check "grep -q 'to finish the run: .* --resume' $W/d24.err1"
# What the first run wrote is whole: a prefix of the tasks, each once.
check "n=\$(wc -l < $W/d24.out1); [ \"\$n\" -ge 2 ] && [ \"\$n\" -lt 24 ] && head -n \"\$n\" $W/d24.want | cmp -s - $W/d24.out1"
check "test \"\$($TFQ results $W/d24.tfr | tail -n +2 | wc -l)\" = \"\$(wc -l < $W/d24.out1)\""
run_cmd 0 "$TFQ -j 2 run --results $W/d24.tfr --resume $T > $W/d24.out2 2> $W/d24.err2"
check "cat $W/d24.out1 $W/d24.out2 | cmp -s - $W/d24.want"
check "ids_ok $W/d24.tfr 24"

# A deadline already past: nothing starts, exit 5; the clock-time and
# epoch forms parse.
run_cmd 5 "$TFQ -j 2 run --deadline @1000000000 $T > $W/past.out 2> $W/past.err"
check "test ! -s $W/past.out"
check "grep -q '0 tasks, 0 failed' $W/past.err"
expect_status 2 "$TF" -j 2 run --deadline 25:99 "$T"
expect_status 2 "$TF" -j 2 run --deadline yesterday "$T"
expect_status 2 "$TF" -j 2 run --deadline-margin -1 "$T"
run_cmd 0 "$TFQ -j 2 run --deadline 2099-12-31T23:59 --deadline-margin 0 $T > /dev/null 2>&1"

# --------------------------------------------------- SIGUSR1 drains the run
# 40 tasks of 0.2 s; SIGUSR1 to the master after 1 s. The tasks running end,
# the run exits 5, and --resume runs exactly the rest.
T=$W/u40.txt
for i in $(seq 1 40); do echo "sleep 0.2; echo task $i"; done > "$T"
seq 1 40 | sed 's/^/task /' > "$W/u40.want"
(
    "$TF" -j 2 run --results "$W/u40.tfr" "$T" > "$W/u40.out1" 2> "$W/u40.err1" &
    pid=$!
    sleep 1
    kill -USR1 "$pid"
    wait "$pid"
    echo $? > "$W/u40.rc"
)
check "test \"\$(cat $W/u40.rc)\" = 5"
check "grep -q 'User defined signal 1 asked the run to finish' $W/u40.err1"
check "n=\$(wc -l < $W/u40.out1); [ \"\$n\" -ge 2 ] && [ \"\$n\" -lt 40 ]"
run_cmd 0 "$TFQ -j 2 run --results $W/u40.tfr --resume $T > $W/u40.out2 2> $W/u40.err2"
check "cat $W/u40.out1 $W/u40.out2 | cmp -s - $W/u40.want"
check "ids_ok $W/u40.tfr 40"
# A worker that gets the signal too (as under mpirun) lives on.
(
    "$TF" -j 2 run --results "$W/w40.tfr" "$T" > "$W/w40.out" 2> "$W/w40.err" &
    pid=$!
    sleep 1
    pkill -USR1 -P "$pid"
    wait "$pid"
    echo $? > "$W/w40.rc"
)
check "test \"\$(cat $W/w40.rc)\" = 0"
check "cmp -s $W/w40.out $W/u40.want"
check "! grep -q 'died' $W/w40.err"

# ------------------------------------------------ --order lpt --history
# Six tasks of 0.2 s, then one of 1.2 s: in input order 2 workers need about
# 1.8 s (the long one starts last); longest first they need about 1.2 s.
T=$W/lpt.txt
{
    for i in 1 2 3 4 5 6; do echo "sleep 0.2; echo short $i"; done
    echo "sleep 1.2; echo long"
} > "$T"
run_cmd 0 "$TFQ -j 2 run --joblog $W/lpt.log $T > $W/lpt.out1 2> $W/lpt.err1"
run_cmd 0 "$TFQ -j 2 run --order lpt --history $W/lpt.log --joblog $W/lpt2.log $T > $W/lpt.out2 2> $W/lpt.err2"
# The long task was handed out first, and every task ran once.
check "test \"\$(head -n 1 $W/lpt.out2)\" = long"
check "sort $W/lpt.out1 | cmp -s - <(sort $W/lpt.out2)"
# (It starts with the first: the other worker's first task may start a
# moment before it.)
check "awk -F '\t' 'NR > 1 && \$9 ~ /long/ { l = \$3 } NR > 1 { if (min == \"\" || \$3 < min) min = \$3 } END { exit !(l - min < 0.1) }' $W/lpt2.log"
# Makespan: the last end minus the first start, from each joblog.
span()
{
    awk -F '\t' 'NR > 1 { s = $3; e = $3 + $4; if (lo == "" || s < lo) lo = s; if (e > hi) hi = e }
                 END { printf "%.3f\n", hi - lo }' "$1"
}
check "awk -v a=\"\$(span $W/lpt.log)\" -v b=\"\$(span $W/lpt2.log)\" 'BEGIN { exit !(b < a - 0.3) }'"
# A results file is a history too; lpt without one is a usage error.
run_cmd 0 "$TFQ -j 2 run --results $W/lpt.tfr $T > /dev/null 2>&1"
run_cmd 0 "$TFQ -j 2 run --order lpt --history $W/lpt.tfr $T > $W/lpt.out3 2> /dev/null"
check "test \"\$(head -n 1 $W/lpt.out3)\" = long"
expect_status 2 "$TF" -j 2 run --order lpt "$T"
expect_status 2 "$TF" -j 2 run --order fastest "$T"
expect_status 2 "$TF" -j 2 run --history "$W/no-such-file" "$T"
printf 'not a joblog\n' > "$W/bad.log"
run_cmd 2 "$TFQ -j 2 run --history $W/bad.log $T > /dev/null 2> $W/bad.err"
check "grep -q 'bad.log:1: not a joblog line' $W/bad.err"

e2e_finish
