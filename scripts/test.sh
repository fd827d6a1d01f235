#!/usr/bin/env bash
# test.sh - install what is missing, then build and run the tests in six
# builds, each with warnings as errors (-DTF_WERROR=ON):
#   normal    every test
#   release   the unit tests and the fork-transport end-to-end tests of an
#             optimised build (-DCMAKE_BUILD_TYPE=Release, -O3), whose
#             warnings and code differ from the others
#   sanitize  every test under AddressSanitizer and UndefinedBehaviorSanitizer
#             but the Slurm and multi-host ones
#   nompi     every test of a fork-only build (-DTASKFARM_MPI=OFF)
#   fuzz      clang with libFuzzer (-DTF_FUZZ=ON): each fuzz target fuzzes
#             for 20 s, and the regression inputs are replayed (ctest -L fuzz)
#   valgrind  the unit tests and the fork-transport end-to-end tests
#             (transports, cli) under valgrind (-DTF_VALGRIND=ON, fork-only)
# Before them, scripts/check-deps.sh checks the include boundaries.
#   scripts/test.sh            all six
#   TF_TEST_BUILDS="normal" scripts/test.sh   only some of them
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh" --test
# The include boundaries first (scripts/check-deps.sh): a job sees only
# taskfarm.h, the library nothing of the tool and no standard stream.
"$top/scripts/check-deps.sh"

builds=${TF_TEST_BUILDS:-"normal release sanitize nompi fuzz valgrind"}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
status=0
for b in $builds; do
    # Each build runs every test unless it says which.
    select=()
    case $b in
    normal)   dir=$top/build;          args=() ;;
    release)
        dir=$top/build-release
        args=(-DCMAKE_BUILD_TYPE=Release)
        select=(-R '^(unit_.*|e2e_transports|e2e_cli)$')
        ;;
    sanitize)
        # Every test but the two that drive outside systems (Slurm's
        # daemons, network namespaces): the taskfarm code they run is the
        # MPI path that transports, faults, resume and deadline run here
        # too, and they are the slowest (about 3 minutes under ASan).
        dir=$top/build-sanitize
        args=(-DTF_SANITIZE=address,undefined)
        select=(-E '^e2e_(slurm|multihost)$')
        ;;
    nompi)    dir=$top/build-nompi;    args=(-DTASKFARM_MPI=OFF) ;;
    fuzz)
        # A fuzz build has only the fuzz tests (tests/fuzz/CMakeLists.txt).
        dir=$top/build-fuzz
        args=(-DCMAKE_C_COMPILER=clang -DTF_FUZZ=ON -DTASKFARM_MPI=OFF)
        ;;
    valgrind)
        # MPI under valgrind is out of scope; pi and linalg are mostly
        # arithmetic, and faults.sh times its kills for native speed.
        dir=$top/build-valgrind
        args=(-DTF_VALGRIND=ON -DTASKFARM_MPI=OFF)
        select=(-R '^(unit_.*|e2e_transports|e2e_cli)$')
        ;;
    *) echo "test.sh: unknown build '$b'" >&2; exit 2 ;;
    esac
    echo "== $b build ($dir)"
    "$top/scripts/build.sh" "$dir" -DTF_WERROR=ON "${args[@]}"
    (
        if [ "$b" = sanitize ]; then
            # Open MPI's libraries leak by design and have no frame pointers:
            # suppress exactly those, with the slow unwinder so the
            # suppressions can match.
            export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:fast_unwind_on_malloc=0:print_suppressions=0"
            export ASAN_OPTIONS="fast_unwind_on_malloc=0:detect_leaks=1"
            export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
        fi
        cd "$dir" && ctest --output-on-failure -j 2 --timeout 600 "${select[@]}"
    ) || status=1
done
exit $status
