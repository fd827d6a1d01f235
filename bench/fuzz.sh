#!/usr/bin/env bash
# bench/fuzz.sh - fuzz every libFuzzer target of tests/fuzz/ for longer
# than the test suite does (20 s each).
#
#   bench/fuzz.sh [TARGET...]      TARGET: source template wire results
#                                  (default: every target built)
#   FUZZ_SECONDS=N   seconds per target (default 600)
#   FUZZ_DIR=DIR     the fuzz build (default build-fuzz/ at the top); it is
#                    configured (CC=clang, -DTF_FUZZ=ON) and built if needed
#
# Each target runs in turn until FUZZ_SECONDS pass or it finds a crash. Its
# corpus grows across runs in DIR/fuzz-corpus/TARGET/ (the seeds in
# tests/fuzz/corpus/ are read, never changed), and a crashing input is kept
# in DIR/crashes/TARGET/. The summary says what was found and how to turn
# a crash into a regression test. Exit status: 0 no crash, 1 a crash, 2 a
# usage or build error.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-600}
dir=${FUZZ_DIR:-$top/build-fuzz}
case $seconds in
'' | *[!0-9]*) echo "fuzz.sh: FUZZ_SECONDS must be a number of seconds" >&2; exit 2 ;;
esac

if [ ! -f "$dir/CMakeCache.txt" ]; then
    echo "== configuring the fuzz build in $dir"
    CC=${CC:-clang} cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DTF_FUZZ=ON -DTASKFARM_MPI=OFF > /dev/null || exit 2
elif ! grep -q '^TF_FUZZ:BOOL=ON' "$dir/CMakeCache.txt"; then
    echo "fuzz.sh: $dir is not a fuzz build (TF_FUZZ=ON); set FUZZ_DIR" >&2
    exit 2
fi
cmake --build "$dir" -j "$(nproc)" --target fuzz_targets > /dev/null || exit 2

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for t in source template wire results html url mm; do
        [ -x "$dir/tests/fuzz/fuzz_$t" ] && targets+=("$t")
    done
fi

# LeakSanitizer: the same suppressions as the sanitize build (Open MPI only).
export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

declare -A result
found=0
for t in "${targets[@]}"; do
    bin=$dir/tests/fuzz/fuzz_$t
    if [ ! -x "$bin" ]; then
        echo "fuzz.sh: no target '$t' in $dir" >&2
        exit 2
    fi
    corpus=$dir/fuzz-corpus/$t
    crashes=$dir/crashes/$t
    mkdir -p "$corpus" "$crashes"
    log=$dir/fuzz-$t.log
    echo "== fuzz_$t: ${seconds}s, corpus $corpus, log $log"
    # New inputs go to the first folder only; the seeds are read from the
    # second.
    set +e
    "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$crashes/" \
        "$corpus" "$top/tests/fuzz/corpus/$t" > "$log" 2>&1
    rc=$?
    set -e
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ $rc -eq 0 ]; then
        result[$t]="no crash in ${runs:-?} runs ($(find "$corpus" -type f | wc -l) inputs in the corpus)"
    else
        found=1
        artifact=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)
        result[$t]="CRASH (exit status $rc): ${artifact:-see $log}"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*check failed)' "$log" | head -n 3 | sed 's/^/    /'
    fi
    echo "   ${result[$t]}"
done

echo
echo "== summary (${seconds}s per target)"
for t in "${targets[@]}"; do
    printf '  %-9s %s\n' "$t" "${result[$t]}"
done
if [ $found -ne 0 ]; then
    cat <<HELP

To turn a crash into a regression test:
  1. reproduce it:    $dir/tests/fuzz/fuzz_TARGET FILE
     (a file argument runs it once, without fuzzing; the report names the
     line; a "check failed" line names the property that broke)
  2. make it small:   $dir/tests/fuzz/fuzz_TARGET -minimize_crash=1 \\
                          -max_total_time=60 -exact_artifact_path=small FILE
  3. keep it:         cp small $top/tests/fuzz/regress/TARGET/SHORT-NAME
     Every build then replays it (ctest -R fuzz_TARGET_regress); it fails
     until the bug is fixed.
HELP
fi
exit $found
