#!/usr/bin/env bash
# bench/linalg.sh - how close does taskfarm's farmed-out dgemm come to the
# machine's own dgemm rate, and to what a Python user would write?
#
# C = A*B for generated n x n doubles (n = N, default 4096), 2 workers,
# one BLAS thread each; taskfarm shares A and B once with each worker, and a
# task is a block of rows of C:
#   taskfarm fork   taskfarm -j 2 linalg gemm --n N
#   taskfarm mpi    mpirun -np 3 taskfarm linalg gemm --n N  (master + 2)
#   2 x kernel      taskfarm linalg gemm --n N --kernel-only: one
#                   single-threaded cblas_dgemm of the whole product in one
#                   process, doubled: what 2 cores could do with no farm
#   2 kernels       two such --kernel-only processes at once, their rates
#                   added: what 2 cores do when both multiply at the same
#                   time. Where the 2 CPUs share one core's floating-point
#                   units (SMT siblings, or vCPUs placed so by the host) this
#                   is well under 2 x kernel, and it is the real ceiling
#   2 cold procs    bench/gemm_floor.c: A and B in a shared memory file, 2
#                   forked processes each multiplying half the rows with one
#                   cblas_dgemm, timed from the first fork: a farm of 2
#                   processes with nothing of the farm. A process's first
#                   pass over large memory is slower than its second, and
#                   the kernel above times its second call (after an untimed
#                   one); a farm's workers meet the data once, so this is
#                   the ceiling of any farm of processes (Pool, mpi4py,
#                   taskfarm) where 2 x kernel is out of reach
#   numpy Pool      multiprocessing.Pool(2), B given to each worker once by
#                   its initializer, imap_unordered over row blocks of A
#                   sized as taskfarm's (1024 rows shrinking to 64 at n =
#                   4096), A_blk @ B
#   numpy mpi4py    mpirun -np 3 python3 -m mpi4py.futures: MPIPoolExecutor
#                   (2 worker ranks), B once per worker, map(unordered=True)
# Every contestant reports its own GFLOP/s = 2 n^3 / t, with t from handing
# B to the workers to holding all of C (matrix generation and process
# start-up excluded alike; taskfarm's MPI launch is not in t either).
# numpy runs under OPENBLAS_NUM_THREADS=1 (the workers of both peers are
# single-threaded like taskfarm's) with /usr/bin/python3, Debian's numpy
# (OpenBLAS, the same library taskfarm links).
#
# House rule: every comparison alternates taskfarm and the peer, A B A B,
# ROUNDS pairs (default 3), and the result is the MEDIAN of the pairwise
# ratios GFLOP/s(taskfarm) / GFLOP/s(peer). Target: >= 0.85 of 2 x kernel
# (and of 2 kernels, and of 2 cold procs).
#
# Every run is checked, so a broken run cannot look fast: exit status 0 and
# its rate line; one untimed pre-flight run of each taskfarm transport with
# --check (max relative error against one dgemm < 1e-12); the Python
# scripts check two rows of C against A[i] @ B in every run.
#
# Env: TASKFARM (binary, default ../build/taskfarm beside this script),
#      N (default 4096), ROUNDS (default 3), PYTHON (default /usr/bin/python3:
#      Debian's numpy and mpi4py, not a pyenv python3 first in PATH),
#      PAIRS (the comparisons, default "fork:kernel mpi:kernel fork:kernel2
#      mpi:kernel2 fork:floor mpi:floor fork:pool mpi:mpi4py").
# numpy and mpi4py come from Debian: apt-get install python3-numpy
# python3-mpi4py (scripts/install-deps.sh --test). A missing peer is
# skipped with the reason.
# Exit status: 0 when everything ran and checked out (whether or not the
# target was met), 1 when a run failed its check, 2 on a setup error.
# The c_* functions are called by name: "c_$name".
# shellcheck disable=SC2317
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
N=${N:-4096}
ROUNDS=${ROUNDS:-3}
PY=${PYTHON:-/usr/bin/python3}

# ---- the contestants ---------------------------------------------------------
# Each prints a line with "GFLOP/s" in it; rate() takes the number before it.

c_fork()   { "$TF" -j 2 linalg gemm --n "$N" "$@" </dev/null; }
c_mpi()    { mpirun -np 3 "$TF" linalg gemm --n "$N" "$@" </dev/null; }
c_kernel() { "$TF" -j 1 linalg gemm --n "$N" --kernel-only </dev/null; }
c_floor()  { OPENBLAS_NUM_THREADS=1 "$tmp/gemm_floor" "$N" </dev/null; }
c_kernel2() {
    local pid rc=0
    "$TF" -j 1 linalg gemm --n "$N" --kernel-only </dev/null >"$tmp/k2a" &
    pid=$!
    "$TF" -j 1 linalg gemm --n "$N" --kernel-only </dev/null >"$tmp/k2b" || rc=$?
    wait "$pid" || rc=$?
    [[ $rc -eq 0 ]] || return "$rc"
    awk -v n="$N" '{ for (i = 2; i <= NF; i++) if ($i ~ /^GFLOP/) { s += $(i - 1); k++ } }
        END { if (k == 2) printf "2 kernels at once n=%d: %.2f GFLOP/s\n", n, s }' "$tmp/k2a" "$tmp/k2b"
}
c_pool()   { OPENBLAS_NUM_THREADS=1 "$PY" "$tmp/np_pool.py" "$N" </dev/null; }
c_mpi4py() {
    OPENBLAS_NUM_THREADS=1 mpirun -np 3 -x OPENBLAS_NUM_THREADS \
        "$PY" -m mpi4py.futures "$tmp/np_mpi4py.py" "$N" </dev/null
}

declare -A LABEL=([fork]="taskfarm fork" [mpi]="taskfarm mpi"
    [kernel]="2 x kernel" [kernel2]="2 kernels" [floor]="2 cold procs" [pool]="numpy Pool(2)" [mpi4py]="numpy mpi4py")
# Which taskfarm transport meets which peer, and the target of the ratio.
read -r -a PAIRS <<<"${PAIRS:-fork:kernel mpi:kernel fork:kernel2 mpi:kernel2 fork:floor mpi:floor fork:pool mpi:mpi4py}"
declare -A TARGET=([kernel]=">=0.85" [kernel2]=">=0.85" [floor]=">=0.85" [pool]="-" [mpi4py]="-")

# ---- the Python peers ----------------------------------------------------------

cat >"$tmp/np_common.py" <<'EOF'
import numpy as np


def matrices(n):
    rng = np.random.default_rng(1)
    return rng.uniform(-1, 1, (n, n)), rng.uniform(-1, 1, (n, n))


B = None


def init(b):
    global B
    B = b


def work(args):
    first, a = args
    return first, a @ B


def blocks(a):
    # taskfarm's plan for 2 workers: a quarter of what is left (a multiple
    # of 8), at least 64 rows
    n = a.shape[0]
    i = 0
    while i < n:
        rows = max(64, (n - i) // 4 // 8 * 8)
        yield i, a[i:i + rows]
        i += rows


def report(name, n, a, b, c, secs):
    # Two rows against a direct product: a broken run cannot look fast.
    for i in (0, n - 1):
        ref = a[i] @ b
        if np.max(np.abs(c[i] - ref)) > 1e-12 * max(np.max(np.abs(ref)), 1):
            raise SystemExit(f"{name}: row {i} of C is wrong")
    print(f"{name} n={n}: {secs:.3f} s, {2 * n ** 3 / secs / 1e9:.2f} GFLOP/s")
EOF
cat >"$tmp/np_pool.py" <<'EOF'
import sys
import time
from multiprocessing import Pool

import np_common as m

if __name__ == "__main__":
    n = int(sys.argv[1])
    a, b = m.matrices(n)
    c = m.np.empty((n, n))
    t0 = time.perf_counter()
    with Pool(2, initializer=m.init, initargs=(b,)) as pool:
        for first, rows in pool.imap_unordered(m.work, m.blocks(a)):
            c[first:first + len(rows)] = rows
    secs = time.perf_counter() - t0
    m.report("numpy-pool", n, a, b, c, secs)
EOF
cat >"$tmp/np_mpi4py.py" <<'EOF'
import sys
import time

from mpi4py.futures import MPIPoolExecutor

import np_common as m

if __name__ == "__main__":
    n = int(sys.argv[1])
    a, b = m.matrices(n)
    c = m.np.empty((n, n))
    t0 = time.perf_counter()
    with MPIPoolExecutor(initializer=m.init, initargs=(b,)) as ex:
        for first, rows in ex.map(m.work, m.blocks(a), unordered=True):
            c[first:first + len(rows)] = rows
    secs = time.perf_counter() - t0
    m.report("numpy-mpi4py", n, a, b, c, secs)
EOF
export PYTHONPATH="$tmp${PYTHONPATH:+:$PYTHONPATH}"

# ---- what is installed ---------------------------------------------------------

transports=(fork)
peers=(kernel kernel2)
skipped=()
if ! "${CC:-gcc}" -O2 -o "$tmp/gemm_floor" "$here/gemm_floor.c" -lopenblas 2>"$tmp/cc.err"; then
    skipped+=("2 cold procs: skipped: $here/gemm_floor.c did not compile: $(head -n 1 "$tmp/cc.err")")
else
    peers+=(floor)
fi
if command -v mpirun >/dev/null 2>&1; then
    transports+=(mpi)
else
    skipped+=("taskfarm mpi, numpy mpi4py: skipped: mpirun not installed")
fi
if [[ ! -x $PY ]]; then
    skipped+=("numpy peers: skipped: $PY not found")
elif ! "$PY" -c 'import numpy, multiprocessing' 2>/dev/null; then
    skipped+=("numpy Pool(2): skipped: no numpy for $PY (apt-get install python3-numpy)")
else
    peers+=(pool)
    if [[ " ${transports[*]} " != *" mpi "* ]]; then
        :
    elif ! "$PY" -c 'import mpi4py.futures' 2>/dev/null; then
        skipped+=("numpy mpi4py: skipped: no mpi4py for $PY (apt-get install python3-mpi4py)")
    else
        peers+=(mpi4py)
    fi
fi

# ---- runs ----------------------------------------------------------------------

declare -A RATES=() RATIOS=() FAILED=()
status=0

# run NAME [ARGS]: one checked run; sets R to its GFLOP/s. Returns 1 (and
# marks NAME failed) when it fails its check.
run() {
    local name=$1 rc=0 why=
    shift
    R=
    "c_$name" "$@" >"$tmp/out" 2>"$tmp/stderr" || rc=$?
    if [[ $rc -ne 0 ]]; then
        why="exit status $rc"
    else
        R=$(awk '/GFLOP\/s/ { for (i = 2; i <= NF; i++) if ($i ~ /^GFLOP\/s/) print $(i - 1) }' "$tmp/out" | head -n 1)
        if [[ -z $R ]]; then
            why="no GFLOP/s line in its output"
        elif [[ " $* " == *" --check "* ]] &&
            ! awk '/^check: max relative error / { e = $NF; n++ } END { exit !(n == 1 && e + 0 < 1e-12) }' "$tmp/out"; then
            why="--check failed: $(grep '^check' "$tmp/out" || echo 'no check line')"
        fi
    fi
    if [[ -n $why ]]; then
        FAILED[$name]="FAILED: $why"
        {
            echo "linalg.sh: ${LABEL[$name]}: $why"
            tail -n 5 "$tmp/stderr" | sed 's/^/  stderr: /'
        } >&2
        status=1
        return 1
    fi
    # the kernel is one core: the ideal for 2 workers is twice its rate
    [[ $name == kernel ]] && R=$(awk -v r="$R" 'BEGIN { printf "%.2f", 2 * r }')
    return 0
}

echo "linalg: gemm n=$N, 2 workers, $ROUNDS pairs per comparison (median of pairwise ratios)"
echo "taskfarm: $TF"
echo "python: $PY"
for s in "${skipped[@]}"; do echo "$s"; done

# untimed pre-flight runs; taskfarm's with --check
for name in "${transports[@]}"; do
    run "$name" --check || true
done
for name in "${peers[@]}"; do
    run "$name" || true
done
for pair in "${PAIRS[@]}"; do
    tf=${pair%%:*}
    peer=${pair#*:}
    [[ " ${transports[*]} " == *" $tf "* && " ${peers[*]} " == *" $peer "* ]] || continue
    for ((r = 1; r <= ROUNDS; r++)); do
        [[ -z ${FAILED[$tf]:-} && -z ${FAILED[$peer]:-} ]] || break
        run "$tf" || break
        rtf=$R
        run "$peer" || break
        rp=$R
        RATES[$tf]+=" $rtf"
        RATES[$peer]+=" $rp"
        RATIOS[$pair]+=" $(awk -v a="$rtf" -v b="$rp" 'BEGIN { printf "%.4f", a / b }')"
    done
done

# ---- report --------------------------------------------------------------------

echo
printf '%-16s  %10s\n' contestant "GFLOP/s"
for name in "${transports[@]}" "${peers[@]}"; do
    if [[ -n ${FAILED[$name]:-} ]]; then
        printf '%-16s  %s\n' "${LABEL[$name]}" "${FAILED[$name]}"
        continue
    fi
    m=$(median <<<"${RATES[$name]:-}")
    if [[ -z $m ]]; then
        printf '%-16s  %10s\n' "${LABEL[$name]}" -
    else
        printf '%-16s  %10.2f\n' "${LABEL[$name]}" "$m"
    fi
done

echo
echo "ratio = GFLOP/s(taskfarm) / GFLOP/s(peer), median of $ROUNDS alternating pairs"
printf '%-14s  %-14s  %7s  %7s  %s\n' taskfarm peer ratio target verdict
for pair in "${PAIRS[@]}"; do
    tf=${pair%%:*}
    peer=${pair#*:}
    [[ " ${transports[*]} " == *" $tf "* && " ${peers[*]} " == *" $peer "* ]] || continue
    m=$(median <<<"${RATIOS[$pair]:-}")
    t=${TARGET[$peer]}
    if [[ -z $m ]]; then
        printf '%-14s  %-14s  %7s  %7s  %s\n' "${LABEL[$tf]}" "${LABEL[$peer]}" - "$t" \
            "${FAILED[$tf]:-${FAILED[$peer]:-no run}}"
        continue
    fi
    verdict=
    if [[ $t != - ]]; then
        verdict=$(awk -v m="$m" -v l="${t#>=}" 'BEGIN { print (m >= l) ? "PASS" : "FAIL" }')
    fi
    printf '%-14s  %-14s  %6.2fx  %7s  %s\n' "${LABEL[$tf]}" "${LABEL[$peer]}" "$m" "$t" "$verdict"
done
exit "$status"
