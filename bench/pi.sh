#!/usr/bin/env bash
# bench/pi.sh - how close does taskfarm pi come to the hardware, and how far
# ahead of the textbook Python version is it?
#
# Contestants (2 workers each where there are workers):
#   kernel   taskfarm pi --samples SAMPLES --kernel-only    the sampling loop
#            alone, in one process on one core: the single-core rate
#   fork     taskfarm -j 2 pi --samples SAMPLES
#   mpi      mpirun -np 3 taskfarm pi --samples SAMPLES     (master + 2)
#   pair     two of the kernel runs at once, no farm: what the two cores
#            give together here, the ceiling for any farm of 2 workers
#   python   multiprocessing.Pool(2).map of a function that loops over its
#            chunk with random.random() (written below), PY_SAMPLES samples
#
# House rule: the contestants alternate, kernel fork mpi pair python,
# kernel fork mpi pair python ..., ROUNDS rounds (default 5), and each
# result is the MEDIAN of the per-round ratios:
#   farm efficiency   rate(farm) / (2 x rate(kernel)), for fork and mpi;
#                     target >= 0.90. The rates are the ones taskfarm pi
#                     prints, timed from the first task handed out to the
#                     last result in (or over the whole loop for kernel),
#                     so they leave out starting the workers; the same
#                     ratio over whole-command wall times is shown beside it
#                     (under MPI that includes mpirun's launch, ~0.45 s),
#                     and so is the ratio of CPU time, the kernel's over the
#                     farm's (user + system, all processes): what the farm
#                     costs beyond the sampling itself, whatever else runs.
#                     The pair's ratio is shown for reference: on a virtual
#                     machine whose cores share the host's, two independent
#                     copies of the loop may not reach 2 x kernel either.
#   vs Python         samples/s of taskfarm fork over samples/s of the
#                     Python version, both over whole-command wall time;
#                     target >= 100.
#
# The machine should be otherwise idle: a busy process elsewhere takes a
# core from the 2-worker farm but not from the 1-core kernel, and drags the
# efficiency down, and so does a hypervisor that gives this machine's CPUs
# to other guests. Each round's ratios are printed as it ends, with the load
# average and the share of CPU time stolen by the host, so such a round
# shows.
#
# Every run, timed or not, is checked, so a broken run cannot look fast:
# exit status 0, and every taskfarm run prints the same first line (estimate,
# standard error, samples, hits), bit for bit, as the first kernel run;
# that estimate and Python's must be within 6 standard errors of pi.
#
# Env: TASKFARM (binary, default ../build/taskfarm beside this script),
#      ROUNDS (default 5), SAMPLES (taskfarm runs, default 1e10: ~8 s for
#      the kernel here), PY_SAMPLES (Python, default 3e7: a few seconds),
#      PYTHON (interpreter; default: the real executable behind python3).
# Exit status: 0 when everything ran and checked out (whether or not the
# targets were met), 1 when a run failed its check, 2 on a setup error.
# The c_* functions are called by name: "c_$name".
# shellcheck disable=SC2317
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-5}
SAMPLES=${SAMPLES:-1e10}
PY_SAMPLES=${PY_SAMPLES:-3e7}

# ---- the contestants -------------------------------------------------------

c_kernel() { "$TF" pi --samples "$SAMPLES" --kernel-only </dev/null; }
c_fork()   { "$TF" -j 2 pi --samples "$SAMPLES" </dev/null; }
c_mpi()    { mpirun -np 3 "$TF" pi --samples "$SAMPLES" </dev/null; }
c_python() { "$PY" "$tmp/pi.py" "$PY_SAMPLES" </dev/null; }
c_pair() {
    local pid rc=0
    "$TF" pi --samples "$SAMPLES" --kernel-only </dev/null >"$tmp/pair.out" &
    pid=$!
    "$TF" pi --samples "$SAMPLES" --kernel-only </dev/null || rc=$?
    wait "$pid" || rc=$?
    cat "$tmp/pair.out"
    return "$rc"
}

declare -A LABEL=([kernel]="kernel alone, 1 core" [fork]="taskfarm -j 2"
    [mpi]="mpirun -np 3 taskfarm" [pair]="2 kernels at once, no farm"
    [python]="Python Pool(2)")

contestants=(kernel fork)
skipped=()
if command -v mpirun >/dev/null 2>&1; then
    contestants+=(mpi)
else
    skipped+=("mpirun -np 3 taskfarm: skipped: mpirun not installed")
fi
PY=${PYTHON:-}
if [[ -z $PY ]] && command -v python3 >/dev/null 2>&1; then
    PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)
fi
contestants+=(pair)
if [[ -n $PY ]] && "$PY" -c 'import multiprocessing, random' 2>/dev/null; then
    cat >"$tmp/pi.py" <<'EOF'
import random
import sys
from multiprocessing import Pool


def count_hits(n):
    hits = 0
    for _ in range(n):
        x = random.random()
        y = random.random()
        if x * x + y * y < 1.0:
            hits += 1
    return hits


if __name__ == "__main__":
    n = int(float(sys.argv[1]))
    chunks = 32
    sizes = [n // chunks + (1 if i < n % chunks else 0) for i in range(chunks)]
    with Pool(2) as pool:
        hits = sum(pool.map(count_hits, sizes))
    print(f"pi = {4 * hits / n:.12f}  samples = {n}  hits = {hits}")
EOF
    contestants+=(python)
else
    skipped+=("Python Pool(2): skipped: python3 with multiprocessing not installed")
fi

# ---- checked, timed runs -----------------------------------------------------

REF=          # the first line every taskfarm run must print
declare -A FAILED=() RATE=() WALL=()
status=0

# check NAME RC: is the last run ($tmp/out) right? Prints why not.
check() {
    local name=$1 rc=$2 first
    if [[ $rc -ne 0 ]]; then
        echo "exit status $rc"
        return 1
    fi
    first=$(head -n 1 "$tmp/out")
    # the estimate ($3) within 6 standard errors of pi
    if [[ $name == python ]]; then
        if ! awk '{ n = $6; p = $9 / n; d = $3 - 3.14159265358979324
                    if (d < 0) d = -d; exit !(n > 0 && d < 6 * 4 * sqrt(p * (1 - p) / n)) }' <<<"$first"; then
            echo "estimate off by more than 6 standard errors: $first"
            return 1
        fi
        return 0
    fi
    if ! awk '{ d = $3 - 3.14159265358979324; if (d < 0) d = -d
                exit !($6 > 0 && d < 6 * $6) }' <<<"$first"; then
        echo "estimate off by more than 6 standard errors: $first"
        return 1
    fi
    [[ -n $REF ]] || REF=$first
    if grep '^pi = ' "$tmp/out" | grep -v -q -x -F -e "$REF"; then
        echo "result differs from the first run's: '$(grep '^pi = ' "$tmp/out" | grep -v -x -F -e "$REF" | head -n 1)' vs '$REF'"
        return 1
    fi
    if [[ $(grep -c '^rate = [0-9.e+]* samples/s' "$tmp/out") -ne $([[ $name == pair ]] && echo 2 || echo 1) ]]; then
        echo "no rate line"
        return 1
    fi
}

# run NAME: one checked, timed run; sets R (the rate it printed, or for
# Python samples / wall time), T (wall time) and CPU (user + system seconds
# of the command and every process it waited for: workers, MPI ranks).
# Returns 1 and marks NAME failed when the run fails its check.
run() {
    local name=$1 rc=0 why u s TIMEFORMAT='%3R %3U %3S'
    { time "c_$name" >"$tmp/out" 2>"$tmp/stderr"; } 2>"$tmp/time" || rc=$?
    read -r T u s <"$tmp/time"
    CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.3f", u + s }')
    if ! why=$(check "$name" "$rc"); then
        FAILED[$name]="FAILED: $why"
        {
            echo "pi.sh: ${LABEL[$name]}: $why"
            tail -n 5 "$tmp/stderr" | sed 's/^/  stderr: /'
        } >&2
        status=1
        return 1
    fi
    if [[ $name == python ]]; then
        R=$(awk -v n="$PY_SAMPLES" -v t="$T" 'BEGIN { printf "%.6e", n / t }')
    else
        R=$(awk '$1 == "rate" { r += $3 } END { printf "%.6e", r }' "$tmp/out")
    fi
}

ratio() { awk -v a="$1" -v b="$2" -v k="${3:-1}" 'BEGIN { printf "%.6f", a / (k * b) }'; }
# cpustat: "TOTAL STEAL" jiffies of all CPUs so far, from /proc/stat (steal
# is time the hypervisor gave this machine's CPUs to someone else).
cpustat() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print t, $9 }' /proc/stat 2>/dev/null || echo "0 0"; }
# samples NAME: how many samples a run of NAME draws in all.
samples() {
    case $1 in
    python) awk -v n="$PY_SAMPLES" 'BEGIN { printf "%.0f", n }' ;;
    pair) awk -v n="$SAMPLES" 'BEGIN { printf "%.0f", 2 * n }' ;;
    *) awk -v n="$SAMPLES" 'BEGIN { printf "%.0f", n }' ;;
    esac
}

echo "pi: SAMPLES=$SAMPLES (taskfarm), PY_SAMPLES=$PY_SAMPLES (Python), $ROUNDS rounds, median of per-round ratios"
echo "taskfarm: $TF"
for s in "${skipped[@]}"; do echo "$s"; done

# untimed warm-up and pre-flight check of everyone
for name in "${contestants[@]}"; do
    run "$name" || true
done
declare -A EFF=() EFFWALL=() EFFCPU=() VSPY=()
for ((r = 1; r <= ROUNDS; r++)); do
    declare -A rr=() ww=() cc=()
    read -r tot0 st0 < <(cpustat)
    for name in "${contestants[@]}"; do
        [[ -z ${FAILED[$name]:-} ]] || continue
        run "$name" || continue
        rr[$name]=$R
        ww[$name]=$T
        cc[$name]=$CPU
        RATE[$name]+=" $R"
        WALL[$name]+=" $(awk -v n="$(samples "$name")" -v t="$T" 'BEGIN { printf "%.6e", n / t }')"
    done
    for farm in fork mpi pair; do
        if [[ -n ${rr[$farm]:-} && -n ${rr[kernel]:-} ]]; then
            EFF[$farm]+=" $(ratio "${rr[$farm]}" "${rr[kernel]}" 2)"
            # wall: samples/s of the whole command over 2 x the kernel's
            EFFWALL[$farm]+=" $(awk -v sf="$(samples "$farm")" -v sk="$SAMPLES" -v tf="${ww[$farm]}" -v tk="${ww[kernel]}" 'BEGIN { printf "%.6f", (sf / tf) / (2 * sk / tk) }')"
            # cpu: samples per CPU second, the farm's over the kernel's
            EFFCPU[$farm]+=" $(awk -v sf="$(samples "$farm")" -v sk="$SAMPLES" -v cf="${cc[$farm]}" -v ck="${cc[kernel]}" 'BEGIN { printf "%.6f", (sf / cf) / (sk / ck) }')"
        fi
    done
    if [[ -n ${rr[fork]:-} && -n ${rr[python]:-} ]]; then
        VSPY[fork]+=" $(awk -v s="$SAMPLES" -v tf="${ww[fork]}" -v p="${rr[python]}" 'BEGIN { printf "%.6f", (s / tf) / p }')"
    fi
    # each round as it ends, so that a round slowed by another busy process
    # shows (the ratios are the last ones appended)
    line="round $r:"
    [[ -n ${rr[kernel]:-} ]] && line+=" kernel $(printf '%.3e' "${rr[kernel]}")"
    for farm in fork mpi pair; do
        [[ -n ${rr[$farm]:-} && -n ${rr[kernel]:-} ]] &&
            line+="  $farm $(printf '%.3f' "${EFF[$farm]##* }") (cpu $(printf '%.3f' "${EFFCPU[$farm]##* }"))"
    done
    [[ -n ${rr[fork]:-} && -n ${rr[python]:-} ]] &&
        line+="  vs python $(printf '%.0fx' "${VSPY[fork]##* }")"
    read -r tot1 st1 < <(cpustat)
    echo "$line  (load average $(cut -d ' ' -f 1 /proc/loadavg), CPU time stolen by the host $(awk -v t="$((tot1 - tot0))" -v s="$((st1 - st0))" 'BEGIN { printf "%.0f%%", (t > 0 ? 100 * s / t : 0) }'))"
    unset rr ww cc
done

# ---- report ------------------------------------------------------------------

sci() { if [[ $1 == [0-9]* ]]; then printf '%.3e' "$1"; else printf '%s' "${1:--}"; fi; }
echo
printf '%-24s  %22s  %22s\n' contestant "samples/s (own timer)" "samples/s (wall)"
for name in "${contestants[@]}"; do
    if [[ -n ${FAILED[$name]:-} ]]; then
        printf '%-24s  %s\n' "${LABEL[$name]}" "${FAILED[$name]}"
        continue
    fi
    own=$(median <<<"${RATE[$name]:-}")
    wall=$(median <<<"${WALL[$name]:-}")
    [[ $name == python ]] && own=-
    printf '%-24s  %22s  %22s\n' "${LABEL[$name]}" "$(sci "$own")" "$(sci "$wall")"
done
[[ -n $REF ]] && echo "every taskfarm run printed: $REF"

verdict() { awk -v m="$1" -v l="$2" 'BEGIN { print (m >= l) ? "PASS" : "FAIL" }'; }
echo
printf '%-44s  %8s  %8s  %8s  %7s  %s\n' ratio median "(wall)" "(cpu)" target verdict
for farm in fork mpi pair; do
    m=$(median <<<"${EFF[$farm]:-}")
    if [[ -z $m ]]; then
        [[ " ${contestants[*]} " == *" $farm "* ]] &&
            printf '%-44s  %8s  %8s  %8s  %7s  %s\n' "${LABEL[$farm]} / (2 x kernel)" - - - ">=0.90" "${FAILED[$farm]:-${FAILED[kernel]:-no run}}"
        continue
    fi
    w=$(median <<<"${EFFWALL[$farm]}")
    c=$(median <<<"${EFFCPU[$farm]}")
    if [[ $farm == pair ]]; then
        printf '%-44s  %8.3f  %8.3f  %8.3f  %7s  %s\n' "${LABEL[$farm]} / (2 x kernel)" "$m" "$w" "$c" - "(reference)"
    else
        printf '%-44s  %8.3f  %8.3f  %8.3f  %7s  %s\n' "${LABEL[$farm]} / (2 x kernel)" "$m" "$w" "$c" ">=0.90" "$(verdict "$m" 0.90)"
    fi
done
m=$(median <<<"${VSPY[fork]:-}")
if [[ -n $m ]]; then
    printf '%-44s  %7.0fx  %8s  %8s  %7s  %s\n' "${LABEL[fork]} / ${LABEL[python]}" "$m" "" "" ">=100x" "$(verdict "$m" 100)"
elif [[ " ${contestants[*]} " == *" python "* ]]; then
    printf '%-44s  %8s  %8s  %8s  %7s  %s\n' "${LABEL[fork]} / ${LABEL[python]}" - "" "" ">=100x" "${FAILED[python]:-${FAILED[fork]:-no run}}"
fi
exit "$status"
