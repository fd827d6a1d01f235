#!/usr/bin/env bash
# bench/scale.sh - how many workers can one master feed? Measures the
# master's rate of chunk requests, then simulates thousands of ranks.
#
# 1. Service rate. `seq TASKS | taskfarm --chunk 1 null -`: every task is
#    its own chunk, so every task is one request to the master and one
#    answer; tasks/s is requests/s. With R workers for R in RANKS (default
#    "2 8 32"), under mpirun (R + 1 ranks, oversubscribed) and forked (-j R).
#    On this 2-core machine the workers share the cores with the master, so
#    these rates are a lower bound on what the master alone can serve.
# 2. Simulation. What loads the master is the request rate: E ranks with
#    tasks of L seconds and chunks of c tasks send E / (c L) requests a
#    second. SIM_RANKS (default 32) worker ranks whose tasks sleep
#    (null --task-us, no CPU) SIM_RANKS / E seconds each, one per chunk,
#    send what E ranks with 1-second tasks, one per chunk, would send. For E
#    in EQUIV (default "1000 10000 30000 100000") it runs SIM_SECONDS
#    (default 3) of tasks per worker and prints the efficiency: the ideal
#    time (tasks x task length / workers) over the run's own time (its
#    summary line), less that of an empty run (under MPI, MPI_Init and
#    MPI_Finalize take a few tenths of a second). Efficiency near 1 means the
#    master keeps up with E ranks at 1-second tasks; it falls where the
#    master saturates. docs/design.md explains the model.
#
# Every run is checked: exit status 0 and the summary line's task count.
# Env: TASKFARM, TASKS (default 200000), RANKS, SIM_RANKS, EQUIV,
#      SIM_SECONDS.
# Exit status: 0 when every run checked out, 1 when one failed, 2 on a
# setup error.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
TASKS=${TASKS:-200000}
RANKS=${RANKS:-"2 8 32"}
SIM_RANKS=${SIM_RANKS:-32}
EQUIV=${EQUIV:-"1000 10000 30000 100000"}
SIM_SECONDS=${SIM_SECONDS:-3}

have_mpi=1
command -v mpirun >/dev/null 2>&1 || have_mpi=0

# run N CMD...: runs CMD (its stdout to $tmp/out), checks that its summary
# says N tasks and 0 failed; sets SECS to the run's own time (summary).
run() {
    local n=$1
    shift
    if ! "$@" >"$tmp/out" 2>"$tmp/err" ||
        ! grep -Eq "(^|[^0-9])$n tasks, 0 failed" "$tmp/err"; then
        echo "scale.sh: failed: $*" >&2
        tail -n 5 "$tmp/err" >&2
        exit 1
    fi
    SECS=$(sed -n 's/.* tasks, 0 failed, \([0-9.]*\) s,.*/\1/p' "$tmp/err" | tail -n 1)
}

echo "scale: 1. the master's service rate: $TASKS tasks of null, --chunk 1"
printf '%-8s %-10s %14s %12s\n' workers transport "requests/s" "us/request"
seq "$TASKS" >"$tmp/seq"
for r in $RANKS; do
    for tr in fork mpi; do
        if [[ $tr == mpi ]]; then
            [[ $have_mpi == 1 ]] || continue
            run "$TASKS" mpirun -np $((r + 1)) "$TF" --chunk 1 null "$tmp/seq"
        else
            run "$TASKS" "$TF" -j "$r" --chunk 1 null "$tmp/seq"
        fi
        awk -v r="$r" -v t="$tr" -v n="$TASKS" -v s="$SECS" 'BEGIN {
            printf "%-8d %-10s %14.0f %12.2f\n", r, t, n / s, s / n * 1e6 }'
    done
done

echo
echo "scale: 2. $SIM_RANKS workers simulate E ranks with 1-second tasks, one per chunk"
: >"$tmp/empty"
declare -A BASE=()
run 0 "$TF" -j "$SIM_RANKS" null "$tmp/empty"
BASE[fork]=$SECS
if [[ $have_mpi == 1 ]]; then
    run 0 mpirun -np $((SIM_RANKS + 1)) "$TF" null "$tmp/empty"
    BASE[mpi]=$SECS
fi
printf '%-10s %-10s %10s %10s %10s %10s\n' "E ranks" transport "task ms" "ideal s" "run s" efficiency
for e in $EQUIV; do
    us=$((SIM_RANKS * 1000000 / e))
    each=$((SIM_SECONDS * 1000000 / us))
    n=$((SIM_RANKS * each))
    seq "$n" >"$tmp/sim"
    for tr in fork mpi; do
        if [[ $tr == mpi ]]; then
            [[ $have_mpi == 1 ]] || continue
            run "$n" mpirun -np $((SIM_RANKS + 1)) "$TF" --chunk 1 null --task-us "$us" "$tmp/sim"
        else
            run "$n" "$TF" -j "$SIM_RANKS" --chunk 1 null --task-us "$us" "$tmp/sim"
        fi
        awk -v e="$e" -v t="$tr" -v us="$us" -v k="$each" -v s="$SECS" -v b="${BASE[$tr]}" 'BEGIN {
            ideal = k * us / 1e6; s -= b
            printf "%-10d %-10s %10.2f %10.2f %10.2f %10.2f\n", e, t, us / 1e3, ideal, s, ideal / s }'
    done
done
