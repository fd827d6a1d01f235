#!/usr/bin/env bash
# bench/ab.sh - two taskfarm binaries on the workloads of bench/dispatch.sh
# and bench/overhead.sh, alternated, to tell what a change cost:
#
#   bash bench/ab.sh OLD NEW
#
# Workloads, each on the fork transport with 2 workers (with AB_MPI=1,
# under `mpirun -np 3` instead: a master and 2 worker ranks):
#   true      TASKS lines `true`            (dispatch.sh's first set)
#   echo      TASKS lines `echo N`          (dispatch.sh's second set)
#   null      seq N | taskfarm --joblog J null -   (overhead.sh's fork run:
#             ordered output and the joblog, both to files)
# House rule: the two binaries alternate, A B A B ..., ROUNDS pairs per
# workload, and the result is the median of the pairwise ratios
# t(OLD) / t(NEW): above 1 the new binary is faster. The check of each run:
# exit status 0, the output exactly the expected lines in order, and for
# `null` a joblog of N+1 lines.
#
# Env: TASKS (default 2000), N (default 2000000), ROUNDS (default 5),
# AB_MPI (default 0).
# Exit status: 0 when every run checked out, 1 when one failed its check, 2
# on a setup error.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
TASKS=${TASKS:-2000}
N=${N:-2000000}
ROUNDS=${ROUNDS:-5}

if [[ $# -ne 2 || ! -x $1 || ! -x $2 ]]; then
    echo "usage: bash bench/ab.sh OLD-TASKFARM NEW-TASKFARM" >&2
    exit 2
fi
A=$1
B=$2
# How a binary is started: forked workers, or MPI ranks.
launch=(env)
jobs=(-j 2)
if [[ ${AB_MPI:-0} == 1 ]]; then
    launch=(env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
        mpirun --oversubscribe --bind-to none -np 3)
    jobs=()
fi

awk -v n="$TASKS" 'BEGIN { for (i = 0; i < n; i++) print "true" }' >"$tmp/true.txt"
seq "$TASKS" | sed 's/^/echo /' >"$tmp/echo.txt"
: >"$tmp/true.want"
seq "$TASKS" >"$tmp/echo.want"
seq "$N" >"$tmp/null.txt"
cp "$tmp/null.txt" "$tmp/null.want"

# one BIN SET: runs the workload SET with BIN, checks it, sets T.
one() {
    local bin=$1 set=$2
    rm -f "$tmp/joblog"
    case $set in
    true | echo) timeit "$tmp/out" "${launch[@]}" "$bin" "${jobs[@]}" -q run "$tmp/$set.txt" </dev/null ;;
    null) timeit "$tmp/out" "${launch[@]}" "$bin" "${jobs[@]}" -q --joblog "$tmp/joblog" null "$tmp/null.txt" </dev/null ;;
    esac || { echo "$bin $set: exit status $?" >&2; return 1; }
    if ! cmp -s "$tmp/out" "$tmp/$set.want"; then
        echo "$bin $set: wrong output" >&2
        return 1
    fi
    if [[ $set == null && $(wc -l <"$tmp/joblog") -ne $((N + 1)) ]]; then
        echo "$bin $set: joblog has $(wc -l <"$tmp/joblog") lines" >&2
        return 1
    fi
}

echo "A (old): $A"
echo "B (new): $B"
echo "ratio = t(A) / t(B), median of $ROUNDS alternating pairs (>1: B is faster)"
printf '%-6s %10s %10s %14s %14s %8s\n' set 'A tasks/s' 'B tasks/s' 'A median s' 'B median s' ratio
status=0
for set in true echo null; do
    count=$TASKS
    [[ $set == null ]] && count=$N
    one "$A" "$set" && one "$B" "$set" || status=1 # warm-up, untimed
    ta=() tb=() ratios=()
    for ((r = 0; r < ROUNDS; r++)); do
        one "$A" "$set" || status=1
        a=$T
        one "$B" "$set" || status=1
        b=$T
        ta+=("$a")
        tb+=("$b")
        ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", a / b }')")
    done
    ma=$(median <<<"${ta[*]}")
    mb=$(median <<<"${tb[*]}")
    printf '%-6s %10.0f %10.0f %14.3f %14.3f %7.2fx\n' "$set" \
        "$(awk -v n="$count" -v t="$ma" 'BEGIN { print n / t }')" \
        "$(awk -v n="$count" -v t="$mb" 'BEGIN { print n / t }')" \
        "$ma" "$mb" "$(median <<<"${ratios[*]}")"
done
exit $status
