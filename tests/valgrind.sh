#!/bin/sh
# valgrind.sh - runs a test's program under valgrind's memcheck, for a
# TF_VALGRIND=ON build (tests/CMakeLists.txt, scripts/test.sh).
#
#   tests/valgrind.sh PROGRAM [ARGS...]
#       runs PROGRAM; an invalid read or write, a jump on uninitialised
#       memory, or a leak (definitely or possibly lost) in PROGRAM or in any
#       process it forks makes that process exit with status 99. Forked
#       workers are followed without --trace-children (a fork is the same
#       program); the commands they exec (/bin/sh, the tasks) are not, as
#       they are not taskfarm's code. valgrind replaces this shell (exec), so
#       the process a test starts, signals and kills is taskfarm itself.
#   tests/valgrind.sh --clean DIR
#       empties DIR, the folder for reports (below)
#   tests/valgrind.sh --reports DIR
#       shows every report in DIR that is not empty; exits 1 if there is one
#
# The reports go to stderr, or, when TF_VALGRIND_LOGS names a folder, to a
# file there per process, TEST.PID.log with TEST from TF_VALGRIND_TEST: a
# worker's exit status may not reach the test, but its file does.
# tests/valgrind.supp lists what is not taskfarm's to fix.
here=$(cd "$(dirname "$0")" && pwd)
case ${1:-} in
--clean)
    rm -rf "$2" && mkdir -p "$2"
    exit
    ;;
--reports)
    bad=0
    for f in "$2"/*.log; do
        if [ -s "$f" ]; then
            echo "== $f"
            cat "$f"
            bad=1
        fi
    done
    if [ $bad = 0 ]; then
        echo "no valgrind reports in $2 ($(find "$2" -type f | wc -l) processes)"
    fi
    exit $bad
    ;;
esac
if [ -n "${TF_VALGRIND_LOGS:-}" ]; then
    set -- "--log-file=$TF_VALGRIND_LOGS/%q{TF_VALGRIND_TEST}.%p.log" "$@"
fi
exec valgrind -q --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite,possible --num-callers=30 \
    --suppressions="$here/valgrind.supp" "$@"
