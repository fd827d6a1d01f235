#!/usr/bin/env bash
# test.sh - install what is missing, then build and run the tests in these
# builds, each with its tests (-DBUILD_TESTING=ON) and with warnings as
# errors (-DTF_WERROR=ON):
#   normal    every test
#   release   the unit tests and the command's end-to-end test (cli) of an
#             optimised build (-DCMAKE_BUILD_TYPE=Release, -O3), whose
#             warnings and code differ from the others
#   sanitize  every test under AddressSanitizer and UndefinedBehaviorSanitizer
#             but the Slurm, multi-host, memory, install and pi ones
#   mpich     the unit tests and the MPI end-to-end tests of a build against
#             MPICH (mpicc.mpich) under its mpiexec and srun --mpi=pmi2;
#             the other builds use Open MPI
#   minimal   every test but memory.sh of a build with every optional part
#             off (no MPI, linalg or linkcheck: -DTASKFARM_MPI=OFF ...),
#             built with clang
#   fuzz      clang with libFuzzer (-DTF_FUZZ=ON), every part built: each
#             fuzz target fuzzes for 20 s, and the regression inputs are
#             replayed (ctest -L fuzz)
#   valgrind  the unit tests and the fork-transport end-to-end test
#             (transports) of a Debug build (-O0) under valgrind
#             (-DTF_VALGRIND=ON, fork-only)
#   aarch64   the unit tests and the fork end-to-end tests of the command
#             and of pi (transports, cli, pi) of a fork-only build for
#             64-bit Arm (cmake/aarch64-linux-gnu.cmake: Debian's cross
#             compiler), run under qemu-user
#   package   scripts/package.sh, no ctest build of its own: the Debian
#             packages (built, lintian, installed and tried from /usr/bin,
#             purged), and the Lmod module of an install prefix
# Before them, scripts/check-deps.sh checks the include boundaries.
#   scripts/test.sh            all of them
#   TF_TEST_BUILDS="normal" scripts/test.sh   only some of them
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh" --test
# The include boundaries first (scripts/check-deps.sh): a job sees only
# taskfarm.h, the library nothing of the tool and no standard stream.
"$top/scripts/check-deps.sh"

builds=${TF_TEST_BUILDS:-"normal release sanitize mpich minimal fuzz valgrind aarch64 package"}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
status=0
for b in $builds; do
    # Each build runs every test unless it says which.
    select=()
    big=
    case $b in
    normal)   dir=$top/build;          args=() ;;
    release)
        # -O3's own warnings, and its code under the unit tests and the
        # command's end-to-end test; the engine's end-to-end tests run in
        # every other build.
        dir=$top/build-release
        args=(-DCMAKE_BUILD_TYPE=Release)
        select=(-R '^(unit_.*|e2e_cli)$')
        ;;
    sanitize)
        # Every test but the two that drive outside systems (Slurm's
        # daemons, network namespaces): the taskfarm code they run is the
        # MPI path that transports, faults, resume and deadline run here
        # too, and they are the slowest (about 3 minutes under ASan); nor
        # memory.sh (cgroups, which ASan's shadow memory only blurs),
        # install.sh (the installed tree), pi.sh (arithmetic, over the
        # paths transports.sh runs), linkcheck-web.sh and linkcheck-docs.sh
        # (real sites' cases through the crawl linkcheck.sh runs here; the
        # pages' and URLs' readers are fuzzed under the sanitizers).
        # once.sh's output larger than memory is 300 MB here, not 2 GB.
        dir=$top/build-sanitize
        args=(-DTF_SANITIZE=address,undefined)
        select=(-E '^e2e_(slurm|multihost|memory|install|pi|linkcheck-web|linkcheck-docs)$')
        big=300000000
        ;;
    mpich)
        # Only what runs under MPI differs from the normal build: the unit
        # tests (linked against MPICH) and the end-to-end scripts whose MPI
        # cases tell the launchers apart (ranks, rank 0's voice, a killed
        # rank, signals, the library's programs, pkg-config, srun and
        # mpirun under Slurm). Multi-host runs drive Open MPI's mpirun.
        dir=$top/build-mpich
        args=(-DMPI_C_COMPILER=/usr/bin/mpicc.mpich
              -DMPIEXEC_EXECUTABLE=/usr/bin/mpiexec.mpich)
        select=(-R '^(unit_.*|e2e_(transports|cli|resume|progress|examples|install|slurm))$')
        ;;
    minimal)
        # Every test but memory.sh, whose cgroups the normal build tries on
        # the same forked workers; once.sh with 300 MB as above.
        dir=$top/build-minimal
        args=(-DCMAKE_C_COMPILER=clang -DTASKFARM_MPI=OFF
              -DTASKFARM_LINALG=OFF -DTASKFARM_LINKCHECK=OFF)
        select=(-E '^e2e_memory$')
        big=300000000
        ;;
    fuzz)
        # A fuzz build has only the fuzz tests (tests/fuzz/CMakeLists.txt).
        dir=$top/build-fuzz
        # Every part on, so that the whole library, the jobs and the
        # command build with clang here (the tests do in the minimal build).
        args=(-DCMAKE_C_COMPILER=clang -DTF_FUZZ=ON)
        ;;
    valgrind)
        # MPI under valgrind is out of scope; pi and linalg are mostly
        # arithmetic, faults.sh times its kills for native speed, and
        # cli.sh's option checks are the other builds'.
        dir=$top/build-valgrind
        args=(-DCMAKE_BUILD_TYPE=Debug -DTF_VALGRIND=ON -DTASKFARM_MPI=OFF)
        select=(-R '^(unit_.*|e2e_transports)$')
        ;;
    aarch64)
        # Another CPU: no x86 clones of pi's kernel, and the same hits.
        # Under qemu everything runs 5 to 20 times slower; the other
        # end-to-end scripts drive the same fork transport, which the
        # native builds run, and are left out to keep this stage to a few
        # minutes (once.sh alone moves gigabytes).
        dir=$top/build-aarch64
        args=(-DCMAKE_TOOLCHAIN_FILE="$top/cmake/aarch64-linux-gnu.cmake"
              -DTASKFARM_MPI=OFF -DTASKFARM_LINALG=OFF
              -DTASKFARM_LINKCHECK=OFF)
        select=(-R '^(unit_.*|e2e_transports|e2e_cli|e2e_pi)$')
        ;;
    package)
        # Builds of its own, in a scratch directory; nothing for ctest.
        echo "== package (scripts/package.sh)"
        "$top/scripts/package.sh" || status=1
        continue
        ;;
    *) echo "test.sh: unknown build '$b'" >&2; exit 2 ;;
    esac
    echo "== $b build ($dir)"
    "$top/scripts/build.sh" "$dir" -DTF_WERROR=ON -DBUILD_TESTING=ON "${args[@]}"
    (
        if [ "$b" = sanitize ]; then
            # Open MPI's libraries leak by design and have no frame pointers:
            # suppress exactly those, with the slow unwinder so the
            # suppressions can match.
            export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:fast_unwind_on_malloc=0:print_suppressions=0"
            export ASAN_OPTIONS="fast_unwind_on_malloc=0:detect_leaks=1"
            export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
        fi
        if [ -n "$big" ]; then
            export TF_E2E_BIG=$big
        fi
        cd "$dir" && ctest --output-on-failure -j 2 --timeout 600 "${select[@]}"
    ) || status=1
done
exit $status
