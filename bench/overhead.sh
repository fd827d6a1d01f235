#!/usr/bin/env bash
# bench/overhead.sh - the farm's own overhead: throughput of the in-process
# `null` job and the master's peak memory, on both transports.
#
#   fork:  seq N | taskfarm -j 2 --joblog J null - > OUT
#   mpi:   seq N | mpirun -np 3 taskfarm --joblog J null - > OUT
# (ordered output, the default, and the joblog both go to files.)
#
# This is a throughput target, not a comparison against a peer, so there is
# no pairwise ratio: each transport runs ROUNDS times (default 3, fork and
# mpi alternating) and the report gives N / median wall time, the master's
# peak RSS (the largest seen in any round), and PASS/FAIL per target:
#   tasks/s >= 1,000,000          master peak RSS < 100 MB (10^8 bytes)
# Wall time is measured around the whole pipeline, so under MPI it includes
# mpirun's start-up and shut-down.
#
# Master peak RSS, two figures:
# - "GNU time %M" (the one the verdict uses): /usr/bin/time -f %M wraps the
#   master only. Under MPI that is rank 0, via Open MPI's MPMD syntax
#   `mpirun -np 1 /usr/bin/time ... taskfarm ... : -np 2 taskfarm ...`
#   (checked with Open MPI 4.1.4: the wrapped rank 0 still joins the job);
#   rank 0 has no children there, so %M is the master's own peak.
#   Under the fork transport it is NOT the master alone: GNU time gets %M
#   from wait4(), which Linux fills like getrusage(RUSAGE_BOTH): the max of
#   the process's own peak and those of all descendants it reaped (checked
#   here: a 20 MB parent reaping a 200 MB child reports ~200 MB; unreaped,
#   ~20 MB). So for fork it is max(master, workers): an upper bound on the
#   master, and a verdict that passes on it is safe. (On Linux 6.x the
#   kernel's ru_maxrss reads a few hundred kB below VmHWM for the very same
#   process - RSS counter slack - so the two columns can differ by that
#   much either way; seen here: 0.1-0.4 MB.)
# - "VmHWM polled": the master alone, from /proc/PID/status sampled every
#   20 ms by bench/procwatch.py (VmHWM only grows, so this can miss at most
#   growth in the master's last 20 ms). The master's pid comes from a
#   `sh -c 'echo $$ > PIDFILE; exec taskfarm ...'` wrapper between GNU time
#   and taskfarm. Shown as "-" without python3.
#
# Checks, so a broken run cannot look fast: exit status 0, the output is
# exactly the input (1..N in order), the joblog has N+1 lines (header + N),
# and taskfarm's summary line on stderr says "N tasks, 0 failed".
#
# Env: TASKFARM (binary, default ../build/taskfarm beside this script),
#      N (tasks, default 10000000), ROUNDS (runs per transport, default 3).
# Exit status: 0 when every run checked out (targets met or not), 1 when a
# run failed its check, 2 on a setup error.
# The c_* functions are called by name: "c_$name".
# shellcheck disable=SC2317
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
N=${N:-10000000}
ROUNDS=${ROUNDS:-3}


mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k * 1024 / 1e6 }'; }

transports=(fork)
skipped=()
if command -v mpirun >/dev/null 2>&1; then
    transports+=(mpi)
else
    skipped+=("mpi: skipped: mpirun not installed")
fi
GTIME=/usr/bin/time
if ! [[ -x $GTIME ]] || ! "$GTIME" -f %M -o /dev/null true 2>/dev/null; then
    GTIME=
    skipped+=("GNU time %M: skipped: GNU time (/usr/bin/time) not installed")
fi
PY=
if command -v python3 >/dev/null 2>&1; then
    PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)
fi
[[ -n $PY ]] || skipped+=("VmHWM polled: skipped: python3 not installed")

seq "$N" >"$tmp/expect"

# The master, wrapped: [GNU time -f %M -o TIMEFILE] sh -c 'echo $$ > PIDFILE;
# exec taskfarm ARGS' - the exec keeps the pid, so PIDFILE names the master.
# Under mpirun the wrapper is rank 0's program in an MPMD line.
wrap=()
[[ -z $GTIME ]] || wrap=("$GTIME" -f %M -o "$tmp/time")
# shellcheck disable=SC2016 # $$ and $@ are for the inner sh
wrap+=(sh -c 'echo $$ >"$0"; exec "$@"' "$tmp/pid")
c_fork() { "${wrap[@]}" "$TF" -j 2 --joblog "$tmp/joblog" null -; }
c_mpi() {
    mpirun -np 1 "${wrap[@]}" "$TF" --joblog "$tmp/joblog" null - \
        : -np 2 "$TF" --joblog "$tmp/joblog" null -
}

declare -A WALL=() RSS=() HWM=() FAILED=() SUMMARY=()
status=0

# one checked run of transport $1
run() {
    local tr=$1 t0 t1 rc why='' watcher=''
    rm -f "$tmp/pid" "$tmp/stop" "$tmp/time" "$tmp/hwm" "$tmp/joblog" "$tmp/out"
    if [[ -n $PY ]]; then
        "$PY" "$here/procwatch.py" watch "$tmp/pid" "$tmp/stop" "$tmp/hwm" &
        watcher=$!
    fi
    now; t0=$REPLY
    set +e
    seq "$N" | "c_$tr" >"$tmp/out" 2>"$tmp/err"
    rc=${PIPESTATUS[1]}
    set -e
    now; t1=$REPLY
    if [[ -n $watcher ]]; then
        touch "$tmp/stop"
        wait "$watcher" || true
    fi
    if [[ $rc -ne 0 ]]; then
        why="exit status $rc"
    elif ! cmp -s "$tmp/out" "$tmp/expect"; then
        why="output is not 1..$N in order ($(wc -l <"$tmp/out") lines)"
    elif [[ ! -f $tmp/joblog ]]; then
        why="no joblog written"
    elif [[ $(wc -l <"$tmp/joblog") -ne $((N + 1)) ]]; then
        why="joblog has $(wc -l <"$tmp/joblog") lines, expected $((N + 1))"
    elif ! grep -Eq "(^|[^0-9])$N tasks([^0-9]|$)" "$tmp/err" || ! grep -Eq '(^|[^0-9])0 failed' "$tmp/err"; then
        why="summary line on stderr does not say '$N tasks, 0 failed': $(tail -n 1 "$tmp/err")"
    fi
    if [[ -n $why ]]; then
        FAILED[$tr]="FAILED: $why"
        {
            echo "overhead.sh: $tr: $why"
            tail -n 5 "$tmp/err" | sed 's/^/  stderr: /'
        } >&2
        status=1
        return 1
    fi
    WALL[$tr]+=" $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')"
    [[ ! -s $tmp/time ]] || RSS[$tr]+=" $(tail -n 1 "$tmp/time")"
    if [[ -s $tmp/hwm ]]; then
        local h
        h=$(sed -n 's/^hwm_kb=//p' "$tmp/hwm")
        [[ -z $h ]] || HWM[$tr]+=" $h"
    fi
    SUMMARY[$tr]=$(grep -E 'tasks' "$tmp/err" | tail -n 1)
}

echo "overhead: N=$N tasks of 'null', 2 workers, ordered output + --joblog to files, median of $ROUNDS runs"
echo "taskfarm: $TF"
for s in "${skipped[@]}"; do echo "$s"; done

for ((r = 1; r <= ROUNDS; r++)); do
    for tr in "${transports[@]}"; do
        [[ -z ${FAILED[$tr]:-} ]] || continue
        run "$tr" || true
    done
done

echo
printf '%-9s  %12s  %8s  %15s  %15s\n' transport tasks/s "wall s" "GNU time %M" "VmHWM polled"
declare -A RATE=() PEAK=()
for tr in "${transports[@]}"; do
    if [[ -n ${FAILED[$tr]:-} ]]; then
        printf '%-9s  %s\n' "$tr" "${FAILED[$tr]}"
        continue
    fi
    w=$(median <<<"${WALL[$tr]}")
    RATE[$tr]=$(awk -v n="$N" -v t="$w" 'BEGIN { printf "%.0f", n / t }')
    rss=$(maxof <<<"${RSS[$tr]:-}")
    hwm=$(maxof <<<"${HWM[$tr]:-}")
    PEAK[$tr]=$rss
    printf '%-9s  %12s  %8.2f  %15s  %15s\n' "$tr" "$(commas "${RATE[$tr]}")" "$w" \
        "$([[ -n $rss ]] && mb "$rss" || echo -)" "$([[ -n $hwm ]] && mb "$hwm" || echo -)"
done
echo "(GNU time %M: fork = max(master, reaped workers), mpi = rank 0 alone; VmHWM polled = the master alone)"

echo
printf '%-28s' target
for tr in "${transports[@]}"; do printf '  %-6s' "$tr"; done
echo
printf '%-28s' "tasks/s >= 1,000,000"
for tr in "${transports[@]}"; do
    v=-
    [[ -n ${RATE[$tr]:-} ]] && v=$(awk -v x="${RATE[$tr]}" 'BEGIN { print (x >= 1000000) ? "PASS" : "FAIL" }')
    printf '  %-6s' "$v"
done
echo
printf '%-28s' "master peak RSS < 100 MB"
for tr in "${transports[@]}"; do
    v=-
    [[ -n ${PEAK[$tr]:-} ]] && v=$(awk -v k="${PEAK[$tr]}" 'BEGIN { print (k * 1024 < 100e6) ? "PASS" : "FAIL" }')
    printf '  %-6s' "$v"
done
echo
for tr in "${transports[@]}"; do
    [[ -z ${SUMMARY[$tr]:-} ]] || echo "last $tr summary: ${SUMMARY[$tr]}"
done
exit "$status"
