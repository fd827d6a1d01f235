#!/bin/bash
# linalg.sh - taskfarm linalg: gemm gives the same C over every transport
# and agrees with one dgemm; solve's residuals are at rounding level; a
# singular system in --mtx fails alone; bad input exits 2 with one line
#
# Usage: bash tests/e2e/linalg.sh path/to/taskfarm   (or TASKFARM=...)
#
# gemm --n 300 runs with -j 1, -j 2 and under mpirun -np 3; every run must
# agree with a single-process cblas_dgemm (max relative error < 1e-12). The
# runs with one BLAS thread per worker and the same blocks must give C bit
# for bit the same (the checksum line): the default blocks depend on the
# number of workers, so -j 2 is held to mpirun -np 3 (2 workers), and -j 1
# to -j 2 with --block 64. A worker with two BLAS threads (-j 1 on two cores)
# may round differently in the last bit: OpenBLAS splits a product between
# its threads in its own way, so that run is held to the 1e-12 bound only.
# solve --count 40 --n 64 must print 40 residuals below 1e-12, the same over
# fork and MPI. A --mtx directory written here holds array, coordinate and
# symmetric matrices, right-hand sides in both naming forms, and a singular
# matrix: that system fails (exit 1) and the others pass. The MPI runs are
# skipped (and reported as such) without mpirun or without MPI in taskfarm.

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

TFQ=$(q "$TF")
mpi_init

# small_error FILE - the "check:" line of FILE reports an error below 1e-12.
small_error()
{
    check "awk '/^check: max relative error / { e = \$NF; n++ } END { exit !(n == 1 && e + 0 < 1e-12) }' $1"
}

# ------------------------------------------------------------------ gemm
# NAME|COMMON OPTIONS|GEMM OPTIONS
for r in "j1|-j 1|" "j1t1|-j 1 --threads-per-worker 1|" "j2|-j 2|" \
    "j1t1b|-j 1 --threads-per-worker 1|--block 64" "j2b|-j 2|--block 64"; do
    IFS='|' read -r name common extra <<< "$r"
    run_cmd 0 "$TFQ $common linalg gemm --n 300 $extra --check --print-checksum > $W/gemm-$name.out 2> $W/gemm-$name.err"
    check "test ! -s $W/gemm-$name.err && test \"\$(wc -l < $W/gemm-$name.out)\" = 3"
    small_error "$W/gemm-$name.out"
    grep '^checksum:' "$W/gemm-$name.out" > "$W/gemm-$name.sum"
done
# Blocks of what is left over twice the workers (a multiple of 8, at least
# 64): 72 64 64 64 36 for 2 workers, 144 72 64 20 for one.
check "grep -q -x 'gemm n=300: .* s, .* GFLOP/s, 2 workers, 5 blocks of 72 to 64 rows' $W/gemm-j2.out"
check "grep -q -x 'gemm n=300: .* s, .* GFLOP/s, 1 worker, 4 blocks of 144 to 64 rows' $W/gemm-j1.out"
check "grep -q -x 'checksum: [0-9a-f]\\{16\\} (sum .*)' $W/gemm-j2.out"
check "grep -q -x 'gemm n=300: .* 1 worker, 5 blocks of 64 rows' $W/gemm-j1t1b.out"
same_file "$W/gemm-j2b.sum" "$W/gemm-j1t1b.sum"
if mpi_run 0 "$(mpirun_cmd "-np 3" linalg gemm --n 300 --check --print-checksum) > $W/gemm-np3.out 2> $W/gemm-np3.err"; then
    check "grep -q -x 'gemm n=300: .* s, .* GFLOP/s, 2 workers, 5 blocks of 72 to 64 rows' $W/gemm-np3.out"
    small_error "$W/gemm-np3.out"
    grep '^checksum:' "$W/gemm-np3.out" > "$W/gemm-np3.sum"
    same_file "$W/gemm-j2.sum" "$W/gemm-np3.sum"
fi
# Another block size, as --op: still the same product within rounding.
run_cmd 0 "$TFQ -j 2 linalg --op gemm --n 300 --block 7 --check > $W/gemm-b7.out"
check "grep -q -x 'gemm n=300: .* 2 workers, 43 blocks of 7 rows' $W/gemm-b7.out"
small_error "$W/gemm-b7.out"

# Matrices from files: A = 2 I (Matrix Market coordinate), B = 1..9 (raw
# little-endian doubles), so C = 2 B and its elements sum to 90.
printf '%%%%MatrixMarket matrix coordinate real general\n%% 2 I\n3 3 3\n1 1 2\n2 2 2\n3 3 2.0\n' > "$W/two.mtx"
perl -e 'print pack("d<*", 1 .. 9)' > "$W/nine.bin"
perl -e 'print pack("d<*", 1 .. 4)' > "$W/four.bin"
run_cmd 0 "$TFQ -j 2 linalg gemm --a $W/two.mtx --b $W/nine.bin --check --print-checksum > $W/files.out"
check "grep -q -x 'gemm n=3: .* 1 block of 3 rows' $W/files.out && grep -q -x 'checksum: .* (sum 90)' $W/files.out"
check "grep -q -x 'check: max relative error 0' $W/files.out"
# --kernel-only: one in-process dgemm, no tasks
run_cmd 0 "$TFQ -j 2 linalg gemm --n 200 --kernel-only > $W/kernel.out"
check "grep -q -x 'kernel n=200: .* s, .* GFLOP/s, 1 thread' $W/kernel.out"

# ----------------------------------------------------------------- solve
run_cmd 0 "$TFQ -j 2 linalg solve --count 40 --n 64 > $W/solve-j2.out 2> $W/solve-j2.err"
check "test ! -s $W/solve-j2.err"
check "awk '\$1 == NR && \$2 == \"n=64\" && \$3 == \"residual\" && \$4 + 0 < 1e-12 { ok++ } END { exit ok != 40 }' $W/solve-j2.out"
check "grep -q -x 'solve: 40 systems, 0 failed, max residual .*, .* s, .* systems/s, 2 workers' $W/solve-j2.out"
head -n 40 "$W/solve-j2.out" > "$W/solve-j2.lines"
if mpi_run 0 "$(mpirun_cmd "-np 3" linalg solve --count 40 --n 64) > $W/solve-np3.out 2> $W/solve-np3.err"; then
    head -n 40 "$W/solve-np3.out" > "$W/solve-np3.lines"
    same_file "$W/solve-j2.lines" "$W/solve-np3.lines"
fi

# --mtx: name order; a.mtx with a_b.mtx, b.mtx (coordinate) with b = A *
# ones, c.mtx singular, d.mtx symmetric with d.rhs.mtx.
M=$W/mtx
mkdir "$M"
printf '%%%%MatrixMarket matrix array real general\n3 3\n4\n1\n0\n1\n5\n2\n0\n2\n6\n' > "$M/a.mtx"
printf '%%%%MatrixMarket matrix array real general\n3 1\n1\n-2\n0.5\n' > "$M/a_b.mtx"
printf '%%%%MatrixMarket matrix coordinate real general\n%% diagonal and one more\n3 3 4\n1 1 3\n2 2 2\n3 3 1\n1 3 0.5\n' > "$M/b.mtx"
printf '%%%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 1\n1 2 1\n2 2 1\n' > "$M/c.mtx"
printf '%%%%MatrixMarket matrix array real symmetric\n2 2\n2\n1\n3\n' > "$M/d.mtx"
printf '%%%%MatrixMarket matrix array real general\n2 1\n1\n1\n' > "$M/d.rhs.mtx"
printf 'not a matrix\n' > "$M/notes.txt"
run_cmd 1 "$TFQ -j 2 linalg solve --mtx $M > $W/mtx.out 2> $W/mtx.err"
check "test \"\$(cut -d ' ' -f 1,2 $W/mtx.out | head -n 4 | tr '\\n' ' ')\" = 'a.mtx n=3 b.mtx n=3 c.mtx n=3 d.mtx n=2 '"
check "grep -q -x 'c.mtx n=3 failed: singular matrix (U(3,3) = 0)' $W/mtx.out"
check "awk '\$3 == \"residual\" && \$4 + 0 < 1e-12 { ok++ } END { exit ok != 3 }' $W/mtx.out"
check "grep -q -x 'solve: 4 systems, 1 failed, max residual .*' $W/mtx.out"
if mpi_run 1 "$(mpirun_cmd "-np 3" linalg solve --mtx "$M") > $W/mtx-np3.out 2> $W/mtx-np3.err"; then
    head -n 4 "$W/mtx.out" > "$W/mtx.lines"
    head -n 4 "$W/mtx-np3.out" > "$W/mtx-np3.lines"
    same_file "$W/mtx.lines" "$W/mtx-np3.lines"
fi

# ------------------------------------------------------------- bad input
# usage_error NEEDLE -- ARGS... - `taskfarm ARGS` exits 2, writes nothing on
# stdout and one line on stderr that contains NEEDLE.
N=0
usage_error()
{
    local needle=$1
    shift 2
    N=$((N + 1))
    run_cmd 2 "$TFQ $(q "$@") > $W/u$N.out 2> $W/u$N.err"
    check "test ! -s $W/u$N.out && test \"\$(wc -l < $W/u$N.err)\" = 1 && grep -q -F -e $(q "$needle") $W/u$N.err"
}
B=$W/bad
mkdir "$B" "$B/malformed" "$B/square" "$B/rhs"
printf '%%%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n' > "$B/malformed/a.mtx"
printf '%%%%MatrixMarket matrix array real general\n2 3\n1\n2\n3\n4\n5\n6\n' > "$B/square/a.mtx"
cp "$M/a.mtx" "$B/rhs/a.mtx"
printf '%%%%MatrixMarket matrix array real general\n2 1\n1\n2\n' > "$B/rhs/a_b.mtx"
# In a --mtx directory a malformed system is that system's failure, named
# with its file and line; the others are solved and the run exits 1.
cp "$M/b.mtx" "$B/malformed/b.mtx"
run_cmd 1 "$TFQ -j 2 linalg solve --mtx $B/malformed > $W/bad-dir.out 2> $W/bad-dir.err"
check "grep -q -x 'a.mtx failed: .*malformed/a.mtx:5: expected 4 values, found 3' $W/bad-dir.out"
check "grep -q '^b.mtx n=3 residual ' $W/bad-dir.out"
check "grep -q -x 'solve: 2 systems, 1 failed, .*' $W/bad-dir.out"
run_cmd 1 "$TFQ -j 2 linalg solve --mtx $B/square > $W/bad-sq.out 2> $W/bad-sq.err"
check "grep -q -x 'a.mtx failed: .*square/a.mtx:2: the matrix is 2x3, not square' $W/bad-sq.out"
run_cmd 1 "$TFQ -j 2 linalg solve --mtx $B/rhs > $W/bad-rhs.out 2> $W/bad-rhs.err"
check "grep -q -x 'a.mtx failed: .*rhs/a_b.mtx:2: the right-hand side is 2x1; a.mtx is 3x3' $W/bad-rhs.out"
usage_error "malformed/a.mtx:5: expected 4 values" -- -j 2 linalg gemm --a "$B/malformed/a.mtx"
usage_error "dimension mismatch: --a $W/two.mtx is 3x3, --b $W/four.bin is 2x2" -- -j 2 linalg gemm --a "$W/two.mtx" --b "$W/four.bin"
usage_error "--n: 0 is out of range" -- -j 2 linalg gemm --n 0
usage_error "--n: '-1' is not a whole number" -- -j 2 linalg solve --count 3 --n -1
usage_error "--count: 'abc' is not a whole number" -- -j 2 linalg solve --count abc --n 4
usage_error "--a $W/missing.bin: No such file or directory" -- -j 2 linalg gemm --a "$W/missing.bin"
usage_error "--mtx $W/nodir: No such file or directory" -- -j 2 linalg solve --mtx "$W/nodir"
usage_error "unknown operation 'eig'" -- linalg eig --n 3
usage_error "--check is not an option of solve" -- linalg solve --count 2 --n 2 --check
if mpi_run 2 "$(mpirun_cmd "-np 3" linalg gemm --a "$B/malformed/a.mtx") > $W/bad-np3.out 2> $W/bad-np3.err"; then
    check "test ! -s $W/bad-np3.out && grep -q -F 'malformed/a.mtx:5: expected 4 values, found 3' $W/bad-np3.err"
fi
if mpi_run 1 "$(mpirun_cmd "-np 3" linalg solve --mtx "$B/malformed") > $W/bad-dir-np3.out 2> $W/bad-dir-np3.err"; then
    check "grep -q -x 'a.mtx failed: .*malformed/a.mtx:5: expected 4 values, found 3' $W/bad-dir-np3.out"
fi

e2e_finish
