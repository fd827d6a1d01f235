#!/usr/bin/env bash
# test.sh - install what is missing, then build and run every test three
# times: the normal build, a build under AddressSanitizer and
# UndefinedBehaviorSanitizer, and a fork-only build (-DTASKFARM_MPI=OFF).
#   scripts/test.sh            all three
#   TF_TEST_BUILDS="normal" scripts/test.sh   only some of them
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh" --test

builds=${TF_TEST_BUILDS:-"normal sanitize nompi"}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
status=0
for b in $builds; do
    case $b in
    normal)   dir=$top/build;          args=() ;;
    sanitize) dir=$top/build-sanitize; args=(-DTF_SANITIZE=address,undefined) ;;
    nompi)    dir=$top/build-nompi;    args=(-DTASKFARM_MPI=OFF) ;;
    *) echo "test.sh: unknown build '$b'" >&2; exit 2 ;;
    esac
    echo "== $b build ($dir)"
    "$top/scripts/build.sh" "$dir" "${args[@]}"
    (
        if [ "$b" = sanitize ]; then
            # Open MPI's libraries leak by design and have no frame pointers:
            # suppress exactly those, with the slow unwinder so the
            # suppressions can match.
            export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:fast_unwind_on_malloc=0:print_suppressions=0"
            export ASAN_OPTIONS="fast_unwind_on_malloc=0:detect_leaks=1"
            export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
        fi
        cd "$dir" && ctest --output-on-failure -j 2 --timeout 600
    ) || status=1
done
exit $status
