#!/bin/bash
# examples.sh - the example programs of the C API give the right answers
#
# Usage: bash tests/e2e/examples.sh BUILD_DIR
#
# Runs examples/square, examples/montecarlo_mean, examples/sweep and
# examples/du from
# BUILD_DIR as a user would: directly, with 1, 2 and 4 forked workers
# (TF_EXAMPLE_WORKERS), and under mpirun with 2 and 3 ranks. Their output is
# checked against what is computed here independently: the squares with
# awk, the Monte Carlo mean against the integral by Simpson's rule (within
# 6 standard errors, the same digits for every run), the sweep's lines from
# its parameters with awk, and its exit status 1 for the set that fails,
# and du's folders, files and bytes of a generated tree against find's.
# The MPI runs are skipped (and reported as such) without mpirun or without
# MPI in the build.

build=${1:?usage: examples.sh BUILD_DIR}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init "$build/taskfarm"

EX=$(CDPATH='' cd -- "$build/examples" 2> /dev/null && pwd)
for p in square montecarlo_mean sweep du; do
    if [ -z "$EX" ] || [ ! -x "$EX/$p" ]; then
        e2e_skip_all "no examples/$p under $build: build the examples first"
    fi
done
SQ=$(q "$EX/square")
MC=$(q "$EX/montecarlo_mean")
SW=$(q "$EX/sweep")
DU=$(q "$EX/du")
unset TF_EXAMPLE_WORKERS
mpi_init

# mpirun_ex "MPIRUN OPTIONS" PROGRAM ARGS... - the command line that runs
# an example program under mpirun (lib.sh's mpirun_cmd runs $TF).
mpirun_ex()
{
    local opts=$1 TF=$2
    shift 2
    mpirun_cmd "$opts" "$@"
}

# ------------------------------------------------------------- square
# The squares of 1..N, one per line, computed by awk.
squares()
{
    awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "%d\n", i * i }'
}
squares 10 > "$W/squares10.expected"
squares 10000 > "$W/squares10000.expected"
: > "$W/empty"

RUNS=
for j in 1 2 4; do
    run_cmd 0 "TF_EXAMPLE_WORKERS=$j $SQ > $W/sq-j$j.out"
    same_file "$W/squares10.expected" "$W/sq-j$j.out"
    run_cmd 0 "TF_EXAMPLE_WORKERS=$j $SQ 10000 > $W/sq10000-j$j.out"
    same_file "$W/squares10000.expected" "$W/sq10000-j$j.out"
done
# One worker per CPU when TF_EXAMPLE_WORKERS is not set.
run_cmd 0 "$SQ 1000 > $W/sq1000.out"
check "cmp <(awk -v n=1000 'BEGIN { for (i = 1; i <= n; i++) printf \"%d\\n\", i * i }') $W/sq1000.out"
run_cmd 0 "$SQ 0 > $W/sq0.out"
same_file "$W/empty" "$W/sq0.out"
run_cmd 0 "$SQ 1 > $W/sq1.out"
check "test \"\$(cat $W/sq1.out)\" = 1"
run_cmd 2 "$SQ -3 > $W/sq-neg.out 2> $W/sq-neg.err"
check "test ! -s $W/sq-neg.out && grep -q '^usage: square' $W/sq-neg.err"
run_cmd 2 "$SQ 12x > $W/sq-junk.out 2> $W/sq-junk.err"
check "test ! -s $W/sq-junk.out"
for np in 2 3; do
    if mpi_run 0 "$(mpirun_ex "-np $np" "$EX/square") > $W/sq-np$np.out"; then
        same_file "$W/squares10.expected" "$W/sq-np$np.out"
    fi
    if mpi_run 0 "$(mpirun_ex "-np $np" "$EX/square" 10000) > $W/sq10000-np$np.out"; then
        same_file "$W/squares10000.expected" "$W/sq10000-np$np.out"
    fi
done

# ---------------------------------------------------------- Monte Carlo
# The true mean of exp(-X^2) for X uniform on [0, 1) and the standard
# deviation of exp(-X^2), by Simpson's rule on 200000 intervals:
# E f = int_0^1 exp(-x^2), E f^2 = int_0^1 exp(-2 x^2).
read -r MU SD < <(awk 'BEGIN {
    n = 200000; h = 1 / n
    for (i = 0; i <= n; i++) {
        x = i * h
        w = (i == 0 || i == n) ? 1 : (i % 2 ? 4 : 2)
        s1 += w * exp(-x * x); s2 += w * exp(-2 * x * x)
    }
    m = s1 * h / 3; m2 = s2 * h / 3
    printf "%.12f %.12f\n", m, sqrt(m2 - m * m)
}')
echo "# E exp(-X^2) = $MU, sd = $SD"
# The erf closed form agrees: sqrt(pi)/2 erf(1) = 0.746824132812427.
check "awk -v mu=$MU 'BEGIN { d = mu - 0.746824132812427; exit !(d * d < 1e-20) }'"

# mc_ok OUT SAMPLES - OUT has the mean within 6 of its standard errors of
# the true mean, a standard error within 5% of sd / sqrt(SAMPLES), and the
# number of samples.
mc_ok()
{
    check "awk -v mu=$MU -v sd=$SD -v want=$2 '/^mean / { m = \$2 } /^stderr / { se = \$2 } /^samples / { n = \$2 } END { e = sd / sqrt(want); exit !(NR == 3 && n == want && se > 0.95 * e && se < 1.05 * e && (m - mu) ^ 2 < 36 * se ^ 2) }' $1"
}

for j in 1 2 4; do
    run_cmd 0 "TF_EXAMPLE_WORKERS=$j $MC > $W/mc-j$j.out"
done
mc_ok "$W/mc-j1.out" 10000000
# The same digits whatever the number of workers, the transport and the
# order results came in.
same_file "$W/mc-j1.out" "$W/mc-j2.out"
same_file "$W/mc-j1.out" "$W/mc-j4.out"
for np in 2 3; do
    if mpi_run 0 "$(mpirun_ex "-np $np" "$EX/montecarlo_mean") > $W/mc-np$np.out"; then
        same_file "$W/mc-j1.out" "$W/mc-np$np.out"
    fi
done
# Other task counts and sizes: 37 tasks of 20000 samples.
run_cmd 0 "TF_EXAMPLE_WORKERS=1 $MC 37 20000 > $W/mc37-j1.out"
mc_ok "$W/mc37-j1.out" 740000
run_cmd 0 "TF_EXAMPLE_WORKERS=3 $MC 37 20000 > $W/mc37-j3.out"
same_file "$W/mc37-j1.out" "$W/mc37-j3.out"
if mpi_run 0 "$(mpirun_ex "-np 3" "$EX/montecarlo_mean" 37 20000) > $W/mc37-np3.out"; then
    same_file "$W/mc37-j1.out" "$W/mc37-np3.out"
fi
run_cmd 2 "$MC 0 > $W/mc0.out 2> $W/mc0.err"
check "test ! -s $W/mc0.out && grep -q '^usage: montecarlo_mean' $W/mc0.err"

# ---------------------------------------------------------------- sweep
# The parameter sets of sweep.c (name, speed in m/s, angle in degrees) and
# what each gives: range and flight time with g = 9.80665, or a failure.
cat > "$W/sweep.params" << 'EOF'
lob 10 75
flat 10 15
best 10 45
steep 20 95
fast 30 30
slow 2.5 60
nearly-level 50 1
x 7.5 89.5
EOF
awk '{
    g = 9.80665; pi = atan2(0, -1); v = $2; a = $3
    if (!(a > 0 && a < 90) || !(v > 0)) {
        printf "failed: %s: speed %g or angle %g out of range\n", $1, v, a
    } else {
        r = a * pi / 180
        printf "%s: range %.3f m, flight %.3f s\n", $1, v * v * sin(2 * r) / g, 2 * v * sin(r) / g
    }
}' "$W/sweep.params" > "$W/sweep.expected"
# Facts stated here, not computed: 45 degrees goes furthest, v^2 / g.
check "grep -q -x 'best: range 10.197 m, flight 1.442 s' $W/sweep.expected"
check "test \"\$(grep -c '^failed: ' $W/sweep.expected)\" = 1"
ERRLINE='sweep: task 3 failed: steep: speed 20 or angle 95 out of range'

for j in 1 2 4; do
    run_cmd 1 "TF_EXAMPLE_WORKERS=$j $SW > $W/sweep-j$j.out 2> $W/sweep-j$j.err"
    same_file "$W/sweep.expected" "$W/sweep-j$j.out"
    check "test \"\$(cat $W/sweep-j$j.err)\" = $(q "$ERRLINE")"
done
for np in 2 3; do
    if mpi_run 1 "$(mpirun_ex "-np $np" "$EX/sweep") > $W/sweep-np$np.out 2> $W/sweep-np$np.err"; then
        same_file "$W/sweep.expected" "$W/sweep-np$np.out"
        check "grep -q -x -F $(q "$ERRLINE") $W/sweep-np$np.err"
    fi
done

# ------------------------------------------------------------------- du
# A tree of 1 + 6 + 36 + 216 folders, each with files of a few sizes, and
# a symbolic link to a folder above (du does not follow it, nor does find).
T=$W/tree
mk_tree()
{
    local dir=$1 depth=$2 i
    mkdir -p "$dir"
    for ((i = 0; i < depth + 1; i++)); do
        head -c $((i * 37 + depth)) /dev/zero > "$dir/f$i"
    done
    [ "$depth" -lt 3 ] || return 0
    for ((i = 0; i < 6; i++)); do
        mk_tree "$dir/d$i" $((depth + 1))
    done
}
mk_tree "$T" 0
ln -s .. "$T/d0/up"
DIRS=$(find "$T" -type d | wc -l)
FILES=$(find "$T" -type f | wc -l)
BYTES=$(find "$T" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
echo "$DIRS folders, $FILES files, $BYTES bytes" > "$W/du.expected"
check "test $DIRS = 259"
for j in 1 2 4; do
    run_cmd 0 "TF_EXAMPLE_WORKERS=$j $DU $T > $W/du-j$j.out"
    same_file "$W/du.expected" "$W/du-j$j.out"
done
for np in 2 3; do
    if mpi_run 0 "$(mpirun_ex "-np $np" "$EX/du" "$T") > $W/du-np$np.out"; then
        same_file "$W/du.expected" "$W/du-np$np.out"
    fi
done
run_cmd 1 "TF_EXAMPLE_WORKERS=2 $DU $W/no-such-folder > $W/du-missing.out 2> $W/du-missing.err"
check "grep -q -x '0 folders, 0 files, 0 bytes' $W/du-missing.out"
check "grep -q 'du: task 0 failed: .*no-such-folder: cannot read the folder' $W/du-missing.err"

e2e_finish
