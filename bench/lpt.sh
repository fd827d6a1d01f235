#!/usr/bin/env bash
# bench/lpt.sh - how much does starting the longest tasks first shorten a
# run whose task times vary?
#
# A task file of TASKS sleeps (default 120) with times drawn once (seeded,
# the same every run): all take 0.02-0.2 s but the last five, which take
# 2-3 s each, as when a task list is sorted by input size. Total work is
# about 25 s; WORKERS (default 4) workers; sleeping tasks need no CPU, so
# more workers than cores measure scheduling, not the machine.
#
# One untimed run with --joblog gives the history. Then, alternately, A B
# A B ... (ROUNDS pairs, default 3):
#   input   taskfarm -j WORKERS run FILE
#   lpt     taskfarm -j WORKERS run --order lpt --history JOBLOG FILE
# and the result is the median of the pairwise ratios of wall time,
# t(input) / t(lpt) (above 1: longest first is faster), with the lower
# bound of any schedule, max(total / workers, longest task), for scale.
# Every run is checked: exit status 0 and every task's output once.
#
# Env: TASKFARM, ROUNDS, TASKS, WORKERS.
# Exit status: 0 when everything ran and checked out, 1 when a run failed
# its check, 2 on a setup error.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-3}
TASKS=${TASKS:-120}
WORKERS=${WORKERS:-4}

awk -v n="$TASKS" 'BEGIN {
    srand(7)
    for (i = 1; i <= n; i++) {
        long = i > n - 5
        t = long ? 2 + rand() : 0.02 + 0.18 * rand()
        printf "sleep %.3f; echo %d\n", t, i
    }
}' >"$tmp/tasks"
seq "$TASKS" | sort >"$tmp/want"
read -r total longest < <(awk '{ t = $2 + 0; s += t; if (t > m) m = t }
    END { printf "%.3f %.3f\n", s, m }' "$tmp/tasks")
bound=$(awk -v s="$total" -v m="$longest" -v w="$WORKERS" \
    'BEGIN { b = s / w; if (m > b) b = m; printf "%.3f", b }')

# run NAME ARGS...: one checked, timed run; sets T.
run() {
    local name=$1 t0 t1 rc=0
    shift
    now; t0=$REPLY
    "$TF" -j "$WORKERS" -q run "$@" "$tmp/tasks" >"$tmp/out" 2>"$tmp/err" || rc=$?
    now; t1=$REPLY
    T=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
    if [[ $rc -ne 0 ]] || ! sort "$tmp/out" | cmp -s - "$tmp/want"; then
        echo "lpt.sh: the $name run failed its check (exit status $rc)" >&2
        tail -n 5 "$tmp/err" >&2
        exit 1
    fi
}

echo "lpt: $TASKS tasks, $WORKERS workers, $total s of work, longest $longest s, $ROUNDS pairs"
run history --joblog "$tmp/history.log"
ti="" tl="" ratios=""
for ((r = 1; r <= ROUNDS; r++)); do
    run input; a=$T
    run lpt --order lpt --history "$tmp/history.log"; b=$T
    ti+=" $a" tl+=" $b"
    ratios+=" $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.6f", a / b }')"
done
printf '%-22s %8s\n' order "wall s"
printf '%-22s %8.2f\n' "input (median)" "$(median <<<"$ti")"
printf '%-22s %8.2f\n' "lpt (median)" "$(median <<<"$tl")"
printf '%-22s %8.2f\n' "lower bound" "$bound"
printf 'makespan ratio t(input) / t(lpt), median of %d pairs: %.2f\n' "$ROUNDS" "$(median <<<"$ratios")"
