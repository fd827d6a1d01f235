#!/bin/bash
# pi.sh - taskfarm pi gives the same hit count and estimate, byte for byte,
# for any number of workers, any chunk size and either transport; bad
# --samples values exit 2 with one line naming the option
#
# Usage: bash tests/e2e/pi.sh path/to/taskfarm   (or TASKFARM=...)
#
# 2e9 samples (30 tasks of 2^26, the last one short; fewer in a sanitized
# or emulated build, see below) run over the fork transport with 1, 2 and 4
# workers and chunks of 1 and 7 tasks, under mpirun with 2 and 3 ranks, and
# in the process alone (--kernel-only). The first output line (estimate,
# standard error, samples, hits) must be the same in every run, and the
# estimate within 6 standard errors of pi; a fixed run finds the hits it
# finds on every CPU. The MPI runs are skipped (and reported as such)
# without mpirun or without MPI in taskfarm.

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

TFQ=$(q "$TF")
mpi_init

# A sanitized build, or one for another CPU run under an emulator
# (TF_E2E_EMULATED=1, set by CMake), runs the sampling loop some 10 to 20
# times slower: there the runs draw a tenth of the samples, in tasks a
# sixteenth the size, so that they still spread 48 tasks over the workers
# and stay well inside ctest's time limit.
N=2e9
NN=2000000000
T=
if ldd "$TF" 2> /dev/null | grep -q -e libasan -e libubsan; then
    N=2e8
    NN=200000000
    T=" --task-samples 4194304"
    echo "# sanitized build: --samples $N$T"
elif [ -n "${TF_E2E_EMULATED:-}" ]; then
    N=2e8
    NN=200000000
    T=" --task-samples 4194304"
    echo "# under an emulator: --samples $N$T"
fi

# ------------------------------------------------- the same result everywhere
# Each run's first line goes to $W/NAME.line, the whole output to .out.
RUNS=
for r in "j1|-j 1" "j2|-j 2" "j4|-j 4" "chunk1|-j 2 --chunk 1" \
         "chunk7|-j 3 --chunk 7"; do
    name=${r%%|*}
    run_cmd 0 "$TFQ ${r#*|} pi --samples $N$T > $W/$name.out 2> $W/$name.err"
    check "test ! -s $W/$name.err && test \"\$(wc -l < $W/$name.out)\" = 2"
    head -n 1 "$W/$name.out" > "$W/$name.line"
    RUNS="$RUNS $name"
done
check "grep -q -x 'rate = .* samples/s  time = .* s  workers = 4' $W/j4.out"
for np in 2 3; do
    name=mpi-np$np
    # shellcheck disable=SC2086 # $T is empty or two words
    if mpi_run 0 "$(mpirun_cmd "-np $np" pi --samples "$N" $T) > $W/$name.out 2> $W/$name.err"; then
        check "grep -q -x 'rate = .* samples/s  time = .* s  workers = $((np - 1))' $W/$name.out"
        head -n 1 "$W/$name.out" > "$W/$name.line"
        RUNS="$RUNS $name"
    fi
done
run_cmd 0 "$TFQ pi --samples $N$T --kernel-only > $W/kernel.out 2> $W/kernel.err"
check "grep -q -x 'rate = .* samples/s  time = .* s  kernel = [a-z0-9]* (this process alone)' $W/kernel.out"
head -n 1 "$W/kernel.out" > "$W/kernel.line"
RUNS="$RUNS kernel"

# The reference line: its form, and an estimate within 6 standard errors.
R=$W/j1.line
check "grep -q -x 'pi = 3\\.[0-9]\\{12\\}  stderr = [0-9.]*e-[0-9]*  samples = $NN  hits = [0-9]*' $R"
check "awk '{ d = \$3 - 3.14159265358979324; if (d < 0) d = -d; exit !(\$6 > 0 && d < 6 * \$6) }' $R"
# ... and its estimate and standard error follow from its hit count.
check "awk '{ p = \$12 / \$9; exit !(sprintf(\"%.12f\", 4 * p) == \$3 && sprintf(\"%.1e\", 4 * sqrt(p * (1 - p) / \$9)) == \$6) }' $R"
for r in $RUNS; do
    if [ "$r" != j1 ]; then
        same_file "$R" "$W/$r.line"
    fi
done

# The same result on every CPU: the hits of a fixed experiment, as x86-64
# (any clone of the kernel) and aarch64 find them.
run_cmd 0 "$TFQ -j 2 pi --samples 1e8 --task-samples 1e6 > $W/fixed.out"
check "head -n 1 $W/fixed.out | grep -q '  samples = 100000000  hits = 78534508\$'"

# Another seed or task size is another experiment: another hit count, and
# the same again on every run.
run_cmd 0 "$TFQ -j 2 pi --samples $N$T --seed 2 > $W/seed2.out"
check "! cmp -s <(head -n 1 $W/seed2.out) $R"
run_cmd 0 "$TFQ -j 3 --chunk 5 pi --samples 1e8 --seed 2 --task-samples 999983 > $W/t-a.out"
run_cmd 0 "$TFQ -j 2 --chunk 2 pi --seed 2 --task-samples 999983 --samples 1e8 > $W/t-b.out"
head -n 1 "$W/t-a.out" > "$W/t-a.line"
head -n 1 "$W/t-b.out" > "$W/t-b.line"
same_file "$W/t-a.line" "$W/t-b.line"
check "head -n 1 $W/t-a.out | grep -q -x 'pi = .*  samples = 100000000  hits = [0-9]*'"
# one task of every sample, and tasks of one sample each
run_cmd 0 "$TFQ -j 2 pi --samples 1000 --task-samples 1e12 > $W/one.out"
run_cmd 0 "$TFQ -j 2 pi --samples 1000 --task-samples 1 > $W/each.out"
check "grep -q '  samples = 1000  hits = [0-9]*\$' $W/one.out && grep -q '  samples = 1000  hits = [0-9]*\$' $W/each.out"

# ------------------------------------------------- output and records
# A job that makes its own tasks writes to --output, and the library keeps
# the records of its tasks: a joblog line and a results record each.
run_cmd 0 "$TFQ -j 2 --output $W/rec.out --joblog $W/rec.log --results $W/rec.res pi --samples 1e6 --task-samples 1e5 > $W/rec.stdout"
check "test ! -s $W/rec.stdout && grep -q -x 'pi = .*  samples = 1000000  hits = [0-9]*' $W/rec.out"
check "test \"\$(head -n 1 $W/rec.log | cut -f 1,9)\" = \"\$(printf 'Seq\\tCommand')\""
check "test \"\$(tail -n +2 $W/rec.log | cut -f 9 | sort -n -k 3 | head -n 2 | tr '\\n' ' ')\" = 'pi task 0: 100000 samples pi task 1: 100000 samples '"
check "test \"\$(tail -n +2 $W/rec.log | cut -f 1 | sort -n | tr '\\n' ' ')\" = '1 2 3 4 5 6 7 8 9 10 '"
check "test \"\$($TFQ results $W/rec.res | tail -n +2 | awk -F '\\t' '\$3 == 0 && \$11 == 16' | wc -l)\" = 10"
usage_error "--resume: job pi makes its own tasks" --resume --joblog $W/rec.log pi --samples 1e6

# ------------------------------------------------------------- bad input
usage_error --samples pi --samples -5
usage_error --samples pi --samples abc
usage_error --samples pi --samples 0
usage_error --samples pi --samples 1.5
usage_error --samples pi --samples 1e30
usage_error --samples -j 2 pi --samples=-5
usage_error --samples pi
usage_error --seed pi --samples 1e6 --seed x
usage_error --task-samples pi --samples 1e6 --task-samples 0
# under mpirun only rank 0 speaks; mpirun adds its own banner to stderr
U=$((U + 1))
if mpi_run 2 "$(mpirun_cmd "-np 3" pi --samples -5) > $W/u$U.out 2> $W/u$U.err"; then
    check "test ! -s $W/u$U.out && test \"\$(grep -c '^taskfarm' $W/u$U.err)\" = 1 && grep -q -F -e --samples $W/u$U.err"
fi

e2e_finish
