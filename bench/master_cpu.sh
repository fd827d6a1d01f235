#!/usr/bin/env bash
# bench/master_cpu.sh - how much CPU does the master burn while the workers
# are busy? TASKS tasks of `sleep SLEEP` (defaults 200 and 0.5, ~50 s per
# transport), 2 workers:
#   fork:  taskfarm -j 2 --joblog J run FILE
#   mpi:   mpirun -np 3 taskfarm --joblog J run FILE     (master + 2 workers)
# Reported: the master's own CPU seconds (user+sys) and that as a % of the
# master's wall time (its lifetime, start to exit). Target: < 2%.
#
# How the master's own CPU is measured: bench/procwatch.py starts the master
# as its child, waits for its exit with waitid(WEXITED|WNOWAIT) - which
# leaves it a zombie - reads utime+stime (fields 14 and 15 of
# /proc/PID/stat, clock ticks; whole thread group, children excluded) from
# the zombie, and only then reaps it. That is exact, unlike sampling
# /proc/PID/stat while it runs (which loses whatever the master spends after
# the last sample), and unlike GNU time, whose %U/%S add the CPU of every
# descendant the master reaped (the fork workers and all the `sleep`s).
# Under mpirun, procwatch.py is rank 0's program in an MPMD line,
#   mpirun -np 1 procwatch.py run OUT taskfarm ... : -np 2 taskfarm ...
# and the MPI process it starts inherits the launcher's environment (checked
# with Open MPI 4.1.4). Rank 0's CPU includes its MPI library threads.
#
# Checks, so a broken run cannot look cheap: exit status 0, no output (sleep
# prints nothing), the joblog has TASKS+1 lines, taskfarm's summary line on
# stderr says "TASKS tasks, 0 failed", and the master lived at least 90% of
# ceil(TASKS/2) * SLEEP seconds (2 workers cannot sleep faster than that).
#
# Not a comparison against a peer, so no pairwise ratios: each transport
# runs ROUNDS times (default 1, transports alternating) and the medians are
# reported.
# Env: TASKFARM (binary, default ../build/taskfarm beside this script),
#      TASKS (default 200), SLEEP (seconds, default 0.5), ROUNDS (default 1).
# Exit status: 0 when every run checked out (target met or not), 1 when a
# run failed its check, 2 on a setup error.
# The c_* functions are called by name: "c_$name".
# shellcheck disable=SC2317
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
TASKS=${TASKS:-200}
SLEEP=${SLEEP:-0.5}
ROUNDS=${ROUNDS:-1}
PY=
if command -v python3 >/dev/null 2>&1; then
    PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)
fi
if [[ -z $PY ]]; then
    echo "master_cpu.sh: python3 not installed; it is needed to measure the master's CPU (bench/procwatch.py)" >&2
    exit 2
fi



transports=(fork)
skipped=()
if command -v mpirun >/dev/null 2>&1; then
    transports+=(mpi)
else
    skipped+=("mpi: skipped: mpirun not installed")
fi

for ((i = 1; i <= TASKS; i++)); do echo "sleep $SLEEP"; done >"$tmp/tasks"
min_wall=$(awk -v n="$TASKS" -v s="$SLEEP" 'BEGIN { printf "%.3f", 0.9 * int((n + 1) / 2) * s }')

watch=("$PY" "$here/procwatch.py" run "$tmp/pw")
c_fork() { "${watch[@]}" "$TF" -j 2 --joblog "$tmp/joblog" run "$tmp/tasks" </dev/null; }
c_mpi() {
    mpirun -np 1 "${watch[@]}" "$TF" --joblog "$tmp/joblog" run "$tmp/tasks" \
        : -np 2 "$TF" --joblog "$tmp/joblog" run "$tmp/tasks" </dev/null
}

declare -A WALL=() CPU=() PCT=() FAILED=()
status=0

run() {
    local tr=$1 rc=0 why='' wall='' cpu=''
    rm -f "$tmp/pw" "$tmp/joblog" "$tmp/out"
    "c_$tr" >"$tmp/out" 2>"$tmp/err" || rc=$?
    if [[ -s $tmp/pw ]]; then
        wall=$(sed -n 's/^wall=//p' "$tmp/pw")
        cpu=$(sed -n 's/^cpu=//p' "$tmp/pw")
    fi
    if [[ $rc -ne 0 ]]; then
        why="exit status $rc"
    elif [[ -z $wall || -z $cpu ]]; then
        why="procwatch.py did not measure the master"
    elif [[ -s $tmp/out ]]; then
        why="unexpected output ($(wc -l <"$tmp/out") lines)"
    elif [[ ! -f $tmp/joblog ]]; then
        why="no joblog written"
    elif [[ $(wc -l <"$tmp/joblog") -ne $((TASKS + 1)) ]]; then
        why="joblog has $(wc -l <"$tmp/joblog") lines, expected $((TASKS + 1))"
    elif ! grep -Eq "(^|[^0-9])$TASKS tasks([^0-9]|$)" "$tmp/err" || ! grep -Eq '(^|[^0-9])0 failed' "$tmp/err"; then
        why="summary line on stderr does not say '$TASKS tasks, 0 failed': $(tail -n 1 "$tmp/err")"
    elif awk -v w="$wall" -v m="$min_wall" 'BEGIN { exit !(w < m) }'; then
        why="master lived ${wall} s, less than the ${min_wall} s that $TASKS sleeps of $SLEEP s need on 2 workers"
    fi
    if [[ -n $why ]]; then
        FAILED[$tr]="FAILED: $why"
        {
            echo "master_cpu.sh: $tr: $why"
            tail -n 5 "$tmp/err" | sed 's/^/  stderr: /'
        } >&2
        status=1
        return 1
    fi
    WALL[$tr]+=" $wall"
    CPU[$tr]+=" $cpu"
    PCT[$tr]+=" $(awk -v c="$cpu" -v w="$wall" 'BEGIN { printf "%.4f", 100 * c / w }')"
}

echo "master_cpu: $TASKS tasks of 'sleep $SLEEP', 2 workers, master's own CPU (user+sys), median of $ROUNDS run(s)"
echo "taskfarm: $TF"
for s in "${skipped[@]}"; do echo "$s"; done

for ((r = 1; r <= ROUNDS; r++)); do
    for tr in "${transports[@]}"; do
        [[ -z ${FAILED[$tr]:-} ]] || continue
        run "$tr" || true
    done
done

echo
printf '%-9s  %13s  %12s  %9s  %6s  %s\n' transport "master wall s" "master CPU s" "CPU/wall" target verdict
for tr in "${transports[@]}"; do
    if [[ -n ${FAILED[$tr]:-} ]]; then
        printf '%-9s  %s\n' "$tr" "${FAILED[$tr]}"
        continue
    fi
    w=$(median <<<"${WALL[$tr]}")
    c=$(median <<<"${CPU[$tr]}")
    p=$(median <<<"${PCT[$tr]}")
    v=$(awk -v p="$p" 'BEGIN { print (p < 2) ? "PASS" : "FAIL" }')
    printf '%-9s  %13.2f  %12.2f  %8.2f%%  %6s  %s\n' "$tr" "$w" "$c" "$p" "<2%" "$v"
done
exit "$status"
