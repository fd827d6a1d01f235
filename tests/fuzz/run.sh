#!/bin/bash
# run.sh - runs a fuzz target for ctest (see tests/fuzz/CMakeLists.txt)
#
#   run.sh fuzz TARGET CORPUS SECONDS CRASHES
#       fuzzes for SECONDS, starting from a copy of the seed corpus CORPUS
#       (the repository's copy is never changed); a crash fails the test and
#       its input is kept in the folder CRASHES
#   run.sh replay TARGET DIR...
#       runs TARGET once on every file in the DIRs (regression inputs and
#       seeds), without fuzzing; any crash fails the test
#
# TARGET is a libFuzzer binary, or in builds without libFuzzer the same
# target linked with replay.c, which only replays.
set -uo pipefail

mode=$1 target=$2
shift 2
name=$(basename "$target")
# LeakSanitizer: Open MPI, linked into the library in MPI builds, leaks by
# design; suppress exactly that (tests/lsan.supp), as the sanitize build does.
supp=$(cd "$(dirname "$0")/.." && pwd)/lsan.supp
export LSAN_OPTIONS="suppressions=$supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

case $mode in
fuzz)
    corpus=$1 seconds=$2 crashes=$3
    work=$(mktemp -d "${TMPDIR:-/tmp}/tf-fuzz.XXXXXX") || exit 2
    trap 'rm -rf "$work"' EXIT
    cp -R "$corpus/." "$work/"
    mkdir -p "$crashes"
    echo "# $name: fuzzing for ${seconds}s from a copy of $corpus"
    "$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$crashes/" "$work"
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "# $name found a crash (exit status $rc); its input is in $crashes/"
        echo "# make it a regression test: copy it to tests/fuzz/regress/${name#fuzz_}/"
    fi
    exit $rc
    ;;
replay)
    files=()
    for d in "$@"; do
        [ -d "$d" ] || continue
        while IFS= read -r -d '' f; do
            files+=("$f")
        done < <(find "$d" -type f ! -name '.*' -print0 | sort -z)
    done
    if [ ${#files[@]} -eq 0 ]; then
        echo "# $name: no inputs in $*"
        exit 0
    fi
    echo "# $name: replaying ${#files[@]} inputs"
    # Given files rather than folders, libFuzzer runs each once.
    "$target" -rss_limit_mb=2048 -timeout=10 "${files[@]}"
    ;;
*)
    echo "run.sh: unknown mode '$mode'" >&2
    exit 2
    ;;
esac
