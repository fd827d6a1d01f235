#!/usr/bin/env bash
# bench/dispatch.sh - how fast does taskfarm start short shell commands,
# compared with the usual ways of doing it?
#
# Two task sets of TASKS lines each (default 2,000): `true`, and `echo N` for
# N = 1..TASKS. Every contestant uses 2 workers and runs each line with the
# effect of `sh -c LINE` (the peers always through a shell; taskfarm and the
# floor exec a plain, non-builtin line directly - here a lone `true` - and
# give `echo N` to /bin/sh, whose builtin echo is the cheaper way):
#   taskfarm fork   taskfarm -j 2 run FILE
#   taskfarm mpi    mpirun -np 3 taskfarm run FILE        (master + 2 workers)
#   GNU Parallel    parallel -j2 --joblog J < FILE
#   xargs           xargs -P2 -d '\n' -n1 sh -c < FILE    (each whole line is
#                   the script of one `sh -c`; -L1 would split it into words)
#   Python Pool     multiprocessing.Pool(2).map of subprocess.run(line, shell=True)
#   floor           bench/floor.c: 2 processes doing posix_spawn + waitpid
#                   of each line, nothing else (floor.c says why that is the
#                   cheapest honest way to start each command)
#
# House rule: every comparison alternates taskfarm and the peer, A B A B ...,
# ROUNDS pairs (default 5), and the result is the MEDIAN of the pairwise
# ratios t(peer) / t(taskfarm), i.e. how many times faster taskfarm is.
# Per round the order is: fork, peer, mpi, peer. The tasks/s column is
# TASKS / median wall time of that contestant's timed runs, for reference.
#
# Every run, timed or not, is checked, so a broken run cannot look fast:
# exit status 0; `echo` output is exactly 1..TASKS, in order for taskfarm
# (ordered by default) and in any order for the peers; `true` prints
# nothing, so taskfarm's summary line on stderr must also say "TASKS tasks,
# 0 failed" (checked on both sets) and GNU Parallel's joblog must have
# TASKS+1 lines, all with exit value 0. One untimed warm-up run of each
# contestant per set comes first.
#
# Env: TASKFARM (binary, default ../build/taskfarm beside this script),
#      ROUNDS (pairs per comparison, default 5), TASKS (default 2000),
#      PYTHON (interpreter for the Pool peer; default: the real executable
#      behind python3, so that a pyenv shim's start-up is not timed).
# Exit status: 0 when everything ran and checked out (whether or not the
# targets were met), 1 when a run failed its check, 2 on a setup error.
# The c_* functions are called by name: "c_$name".
# shellcheck disable=SC2317
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-5}
TASKS=${TASKS:-2000}

# ---- helpers ---------------------------------------------------------------

# ---- the contestants -------------------------------------------------------
# Each takes the task file as $1 and writes the tasks' output to stdout.

c_fork()     { "$TF" -j 2 run "$1" </dev/null; }
c_mpi()      { mpirun -np 3 "$TF" run "$1" </dev/null; }
c_parallel() { parallel -j2 --joblog "$tmp/parallel.joblog" <"$1"; }
c_xargs()    { xargs -P2 -d '\n' -n1 sh -c <"$1"; }
c_pool()     { "$PY" "$tmp/pool.py" "$1" </dev/null; }
c_floor()    { "$tmp/floor" 2 "$1" </dev/null; }

declare -A LABEL=([fork]="taskfarm fork" [mpi]="taskfarm mpi" [parallel]="GNU Parallel"
    [xargs]="xargs -P2" [pool]="Python Pool(2)" [floor]="fork+exec floor")
declare -A TARGET=([parallel]=">=10" [xargs]=">1" [pool]=">1" [floor]=">=0.8")

# ---- what is installed -----------------------------------------------------

transports=(fork)
peers=()
skipped=()
if command -v mpirun >/dev/null 2>&1; then
    transports+=(mpi)
else
    skipped+=("taskfarm mpi: skipped: mpirun not installed")
fi
if ! command -v parallel >/dev/null 2>&1; then
    skipped+=("GNU Parallel: skipped: parallel not installed")
elif ! parallel --version 2>/dev/null | grep -q '^GNU parallel'; then
    skipped+=("GNU Parallel: skipped: 'parallel' is not GNU Parallel (moreutils?)")
else
    peers+=(parallel)
fi
if command -v xargs >/dev/null 2>&1 && xargs --version 2>/dev/null | grep -q GNU; then
    peers+=(xargs)
else
    skipped+=("xargs -P2: skipped: GNU xargs (findutils) not installed")
fi
PY=${PYTHON:-}
if [[ -z $PY ]] && command -v python3 >/dev/null 2>&1; then
    PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)
fi
if [[ -n $PY ]] && "$PY" -c 'import multiprocessing, subprocess' 2>/dev/null; then
    cat >"$tmp/pool.py" <<'EOF'
import subprocess
import sys
from multiprocessing import Pool


def run(line):
    return subprocess.run(line, shell=True).returncode


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    with Pool(2) as pool:
        rcs = pool.map(run, lines)
    sys.exit(1 if any(rcs) else 0)
EOF
    peers+=(pool)
else
    skipped+=("Python Pool(2): skipped: python3 with multiprocessing not installed")
fi
CC=${CC:-gcc}
if ! command -v "$CC" >/dev/null 2>&1; then
    skipped+=("fork+exec floor: skipped: $CC not installed")
elif ! "$CC" -O2 -o "$tmp/floor" "$here/floor.c" 2>"$tmp/cc.err"; then
    skipped+=("fork+exec floor: skipped: $here/floor.c did not compile: $(head -1 "$tmp/cc.err")")
else
    peers+=(floor)
fi

# ---- task files --------------------------------------------------------------

seq "$TASKS" >"$tmp/expect.echo"
: >"$tmp/expect.true"
for ((i = 1; i <= TASKS; i++)); do echo true; done >"$tmp/tasks.true"
sed 's/^/echo /' "$tmp/expect.echo" >"$tmp/tasks.echo"

# check NAME SET RC: is the last run's output ($tmp/out) right? Prints why not.
check() {
    local name=$1 set=$2 rc=$3
    if [[ $rc -ne 0 ]]; then
        echo "exit status $rc"
        return 1
    fi
    case $name in
    fork | mpi)
        # `true` prints nothing, so the output alone cannot tell a run that
        # did nothing; taskfarm's summary line on stderr must count them.
        if ! grep -Eq "(^|[^0-9])$TASKS tasks([^0-9]|$)" "$tmp/stderr" ||
            ! grep -Eq '(^|[^0-9])0 failed' "$tmp/stderr"; then
            echo "its summary line on stderr does not say '$TASKS tasks, 0 failed': $(tail -n 1 "$tmp/stderr")"
            return 1
        fi
        if ! cmp -s "$tmp/out" "$tmp/expect.$set"; then
            echo "output is not the expected $([[ $set == true ]] && echo "empty output" || echo "1..$TASKS in order") ($(wc -l <"$tmp/out") lines, $(wc -c <"$tmp/out") bytes)"
            return 1
        fi
        ;;
    *)
        if ! sort -n "$tmp/out" | cmp -s - "$tmp/expect.$set"; then
            echo "output is not the expected lines ($(wc -l <"$tmp/out") lines)"
            return 1
        fi
        ;;
    esac
    if [[ $name == parallel ]]; then
        local n
        n=$(wc -l <"$tmp/parallel.joblog")
        if [[ $n -ne $((TASKS + 1)) ]]; then
            echo "joblog has $n lines, expected $((TASKS + 1))"
            return 1
        fi
        if awk -F'\t' 'NR > 1 && $7 != 0 { bad = 1 } END { exit !bad }' "$tmp/parallel.joblog"; then
            echo "joblog shows a failed task"
            return 1
        fi
    fi
    return 0
}

declare -A TIMES=() RATIOS=() FAILED=()
status=0

# run NAME SET: one checked, timed run; sets T. Returns 1 (and marks NAME
# failed for SET) when the run fails its check.
run() {
    local name=$1 set=$2 rc=0 why
    T=
    timeit "$tmp/out" "c_$name" "$tmp/tasks.$set" || rc=$?
    if ! why=$(check "$name" "$set" "$rc"); then
        FAILED[$name.$set]="FAILED: $why"
        {
            echo "dispatch.sh: ${LABEL[$name]} on the '$set' set: $why"
            tail -n 5 "$tmp/stderr" | sed 's/^/  stderr: /'
        } >&2
        status=1
        return 1
    fi
}

echo "dispatch: $TASKS tasks per set, 2 workers, $ROUNDS pairs per comparison (median of pairwise ratios)"
echo "taskfarm: $TF"
for s in "${skipped[@]}"; do echo "$s"; done

for set in true echo; do
    # untimed warm-up and pre-flight check of everyone
    for name in "${transports[@]}" "${peers[@]}"; do
        run "$name" "$set" || true
    done
    for peer in "${peers[@]}"; do
        [[ -z ${FAILED[$peer.$set]:-} ]] || continue
        for ((r = 1; r <= ROUNDS; r++)); do
            for tf in "${transports[@]}"; do
                [[ -z ${FAILED[$tf.$set]:-} && -z ${FAILED[$peer.$set]:-} ]] || continue
                run "$tf" "$set" || continue
                ttf=$T
                run "$peer" "$set" || continue
                tp=$T
                TIMES[$tf.$set]+=" $ttf"
                TIMES[$peer.$set]+=" $tp"
                RATIOS[$tf.$peer.$set]+=" $(awk -v p="$tp" -v a="$ttf" 'BEGIN { printf "%.6f", p / a }')"
            done
        done
    done
done

# ---- report ------------------------------------------------------------------

echo
printf '%-5s  %-16s  %10s\n' set contestant tasks/s
for set in true echo; do
    for name in "${transports[@]}" "${peers[@]}"; do
        if [[ -n ${FAILED[$name.$set]:-} ]]; then
            printf '%-5s  %-16s  %s\n' "$set" "${LABEL[$name]}" "${FAILED[$name.$set]}"
            continue
        fi
        m=$(median <<<"${TIMES[$name.$set]:-}")
        if [[ -z $m ]]; then
            printf '%-5s  %-16s  %10s\n' "$set" "${LABEL[$name]}" "-"
        else
            printf '%-5s  %-16s  %10.0f\n' "$set" "${LABEL[$name]}" "$(awk -v n="$TASKS" -v t="$m" 'BEGIN { print n / t }')"
        fi
    done
done

echo
echo "ratio = t(peer) / t(taskfarm), median of $ROUNDS alternating pairs (>1: taskfarm is faster)"
printf '%-5s  %-14s  %-16s  %8s  %7s  %s\n' set taskfarm peer ratio target verdict
for set in true echo; do
    for tf in "${transports[@]}"; do
        for peer in "${peers[@]}"; do
            vals=${RATIOS[$tf.$peer.$set]:-}
            m=$(median <<<"$vals")
            if [[ -z $m ]]; then
                why=${FAILED[$tf.$set]:-${FAILED[$peer.$set]:-no run}}
                printf '%-5s  %-14s  %-16s  %8s  %7s  %s\n' "$set" "${LABEL[$tf]}" "${LABEL[$peer]}" - "${TARGET[$peer]}x" "$why"
                continue
            fi
            t=${TARGET[$peer]}
            op=${t%%[0-9]*}
            lim=${t#"$op"}
            verdict=$(awk -v m="$m" -v l="$lim" -v op="$op" 'BEGIN {
                ok = (op == ">=") ? (m >= l) : (m > l); print ok ? "PASS" : "FAIL" }')
            printf '%-5s  %-14s  %-16s  %7.2fx  %7s  %s\n' "$set" "${LABEL[$tf]}" "${LABEL[$peer]}" "$m" "${t}x" "$verdict"
        done
    done
done

# What part of an MPI run is the launch: mpirun, MPI_Init and MPI_Finalize
# with no task at all, the same for every run whatever it does.
if [[ " ${transports[*]} " == *" mpi "* ]]; then
    : >"$tmp/empty"
    launch=()
    for ((i = 0; i < 3; i++)); do
        now; t0=$REPLY
        mpirun -np 3 "$TF" -q run "$tmp/empty" </dev/null >/dev/null 2>&1 || true
        now; t1=$REPLY
        launch+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
    done
    echo
    echo "MPI launch and teardown with no task (mpirun + MPI_Init + MPI_Finalize), included in every mpi run above: $(median <<<"${launch[*]}") s (median of 3)"
fi
exit "$status"
