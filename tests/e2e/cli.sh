#!/bin/bash
# cli.sh - usage and input errors exit 2 with one line naming the problem,
# and run nothing; --help and --version exit 0 on stdout
#
# Usage: bash tests/e2e/cli.sh path/to/taskfarm   (or TASKFARM=...)
#
# Every task file used here creates a marker file when a task runs, and
# every error case checks that the marker is absent afterwards. The cases
# that go through mpirun are skipped (and reported as such) without mpirun
# or without MPI in taskfarm.

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

TFQ=$(q "$TF")
M=$W/marker
if have_mpirun; then
    MPI=1
else
    MPI=0
    echo "# MPI cases will be skipped: $E2E_NO_MPI"
fi

# Task files. Each would create $M the moment its first task ran.
OK=$W/ok.txt
printf 'touch %s\necho ran\n' "$M" > "$OK"
NUL=$W/nul.txt
printf 'touch %s\necho "a\000b"\necho after\n' "$M" > "$NUL"
LONG=$W/long.txt
{
    printf 'touch %s\n' "$M"
    echo "echo short"
    printf 'echo %0100d\n' 0
    echo "echo after"
} > "$LONG"
BIG=$W/big.txt
{
    printf 'touch %s\n' "$M"
    head -c 2000000 /dev/zero | tr '\0' a # no newline at the end either
} > "$BIG"
mkdir "$W/dir"

# usage_error NEEDLE... -- ARGS... - `taskfarm ARGS` exits 2, writes nothing
# on stdout and one line on stderr that contains every NEEDLE, and runs no
# task.
N=0
usage_error()
{
    local needles=() g="" n
    while [ "$1" != -- ]; do
        needles+=("$1")
        shift
    done
    shift
    N=$((N + 1))
    rm -f "$M"
    for n in "${needles[@]}"; do
        g="$g && grep -q -F -e $(q "$n") $W/u$N.err"
    done
    run_cmd 2 "$TFQ $(q "$@") > $W/u$N.out 2> $W/u$N.err"
    check "test ! -s $W/u$N.out && test \"\$(wc -l < $W/u$N.err)\" = 1$g"
    check "test ! -e $M"
}

# --------------------------------------------------------- bad options
usage_error -j 0 -- -j 0 run "$OK"
usage_error -j -1 -- -j -1 run "$OK"
usage_error -j abc -- -j abc run "$OK"
usage_error -j 2x -- -j 2x run "$OK"
usage_error -j 99999999999999999999 -- -j 99999999999999999999 run "$OK"
usage_error -j 0 -- --jobs=0 run "$OK"
usage_error -j -- run "$OK" -j
usage_error --chunk abc -- --chunk abc run "$OK"
usage_error --chunk 0 -- --chunk 0 run "$OK"
# One number syntax for the common options and every job's: exponents, SI
# suffixes for counts, binary ones for sizes, units for times.
run_cmd 0 "$TFQ -j 2e0 --max-line 1MiB --kill-grace 500ms null $OK > $W/num1.out"
check "test \"\$(wc -l < $W/num1.out)\" = \"\$(grep -c . $OK)\""
if has_job linalg; then
    run_cmd 0 "$TFQ -j 2 linalg gemm --n 1.28e2 > $W/num2.out"
    check "grep -q '^gemm n=128: ' $W/num2.out"
fi
run_cmd 0 "$TFQ -j 2 null --task-us 1e3 $OK > $W/num3.out"
usage_error "--max-line: '1x' is not a size" -- --max-line 1x run "$OK"
usage_error "--kill-grace: '2y' is not a duration" -- --kill-grace 2y run "$OK"
usage_error "--task-us: 1e9 is out of range (0 to 60000000)" -- null --task-us 1e9 "$OK"
usage_error "--backend: 'ssh' is not auto, mpi or fork" -- --backend ssh run "$OK"
usage_error --chunk -3 -- --chunk -3 run "$OK"
usage_error --max-line 0 -- --max-line 0 run "$OK"
usage_error --backend foo -- --backend foo run "$OK"
usage_error MPI -- --backend mpi run "$OK"
usage_error --bogus -- --bogus run "$OK"
usage_error --bogus -- run --bogus "$OK"
usage_error -z -- -z run "$OK"
usage_error --tag -- --tag=yes run "$OK"
usage_error --template -- run "$OK" --template
usage_error frobnicate -- frobnicate "$OK"
usage_error extra -- run "$OK" extra

# --------------------------------------------------------- bad input
usage_error "$W/missing.txt" -- run "$W/missing.txt"
usage_error "$W/dir" directory -- run "$W/dir"
usage_error "$NUL:2" -- run "$NUL"
usage_error "$NUL:2" -- -j 3 --chunk 1 run "$NUL"
usage_error "$LONG:3" 50 -- --max-line 50 run "$LONG"
usage_error "$BIG:2" 1048576 -- run "$BIG"
usage_error "$BIG:2" 100 -- --max-line 100 run "$BIG"
usage_error /nonexistent/x.log -- --joblog /nonexistent/x.log run "$OK"
usage_error "$W/dir" -- --joblog "$W/dir" run "$OK"

# A pipe cannot be checked before it is read: the tasks before the bad line
# run, then the run stops with 2 (README, exit status table).
rm -f "$M"
run_cmd 2 "cat $NUL | $TFQ -j 2 -q run - > $W/pipe-nul.out 2> $W/pipe-nul.err"
check "test ! -s $W/pipe-nul.out && test \"\$(wc -l < $W/pipe-nul.err)\" = 1 && grep -q -F -e stdin:2 $W/pipe-nul.err"
check "test -e $M"

# The same errors under mpirun: only rank 0 speaks; mpirun adds its own
# banner to stderr, so count taskfarm's lines there.
for c in "-j 0 run $OK|-j: 0" \
         "run $W/missing.txt|$W/missing.txt" \
         "run $NUL|$NUL:2" \
         "--joblog /nonexistent/x.log run $OK|/nonexistent/x.log"; do
    N=$((N + 1))
    rm -f "$M"
    # shellcheck disable=SC2086 # the arguments are words without blanks
    cmd="$(mpirun_cmd "-np 3" ${c%%|*}) > $W/u$N.out 2> $W/u$N.err"
    if [ "$MPI" = 1 ]; then
        run_cmd 2 "$cmd"
        check "test ! -s $W/u$N.out && test \"\$(grep -c '^taskfarm' $W/u$N.err)\" = 1 && grep -q -F -e $(q "${c#*|}") $W/u$N.err"
        check "test ! -e $M"
    else
        e2e_skip "$cmd" "$E2E_NO_MPI"
    fi
done

# --------------------------------------------------------- did you mean
# A misspelt job or option is named with the closest one, still on one line
# and with status 2; a prefix is only suggested, never taken.
usage_error "unknown job 'rnu'; did you mean 'run'?" -- rnu "$OK"
usage_error "unknown job 'reslts'; did you mean 'results'?" -- reslts "$OK"
usage_error "'--unorderd' for job run; did you mean '--unordered'?" -- \
    run --unorderd "$OK"
usage_error "'--unord'; did you mean '--unordered'?" -- --unord run "$OK"
usage_error "'--sample' for job pi; did you mean '--samples'?" -- \
    pi --sample 10
usage_error "'--samples' goes after the job it belongs to (pi)" -- \
    --samples 10 pi
usage_error "'--template' for job null (an option of run)" -- \
    null --template x "$OK"
usage_error "'results' is a command, not a job" -- -q results "$OK"
# Nothing close: no guess.
usage_error "unknown job 'frobnicate' (try 'taskfarm --help')" -- \
    frobnicate "$OK"
check "! grep -q 'did you mean' $W/u$N.err"
# No job at all: a short usage.
usage_error "no job given" "taskfarm [options] JOB" "run, null" \
    "taskfarm --help" --

# --------------------------------------------------------- --dry-run
# The commands after --template, one per line, and nothing run: each
# command would make a marker file. With a template every line is data,
# "# comment" and blank lines as well.
DRY=$W/dry.txt
printf '%s\n' dir/sub/a.tar.gz '# comment' '' '  # indented' 'b c.txt' /x \
    > "$DRY"
DRYT="touch $M.{#}; echo {} {.} {/} {//} {/.} {#}"
cat > "$W/dry.want" <<WANT
touch $M.1; echo dir/sub/a.tar.gz dir/sub/a.tar a.tar.gz dir/sub a.tar 1
touch $M.2; echo '# comment' '# comment' '# comment' . '# comment' 2
touch $M.3; echo '' '' '' . '' 3
touch $M.4; echo '  # indented' '  # indented' '  # indented' . '  # indented' 4
touch $M.5; echo 'b c.txt' 'b c' 'b c.txt' . 'b c' 5
touch $M.6; echo /x /x x / x 6
WANT
rm -f "$M"*
run_cmd 0 "$TFQ --dry-run run --template $(q "$DRYT") $DRY > $W/dry.out 2> $W/dry.err"
same_file "$W/dry.want" "$W/dry.out"
check "test \"\$(cat $W/dry.err)\" = 'taskfarm: dry run: 6 tasks, none started'"
run_cmd 0 "cat $DRY | $TFQ -q run --dry-run --template $(q "$DRYT") - > $W/dry-pipe.out 2> $W/dry-pipe.err"
same_file "$W/dry.want" "$W/dry-pipe.out"
check "test ! -s $W/dry-pipe.err && ! ls $M* > /dev/null 2>&1"
# Without a template the line is the command; --tag puts the task id
# first; {%} goes round the -j slots.
run_cmd 0 "$TFQ -q --dry-run --tag run $OK > $W/dry-ok.out"
check "test \"\$(cat $W/dry-ok.out)\" = \"\$(printf '1\\ttouch %s\\n2\\techo ran' $M)\" && test ! -e $M"
run_cmd 0 "$TFQ -q -j 2 --dry-run run --template 'echo {%}' $DRY > $W/dry-slot.out"
check "test \"\$(cat $W/dry-slot.out | tr '\\n' ' ')\" = 'echo 1 echo 2 echo 1 echo 2 echo 1 echo 2 '"
# --resume leaves out what the joblog holds as done (task 1 as its Command
# column holds the command as run, task 5 as an older joblog held the
# line), and changes no file: the torn last line stays (a run would cut it
# off before appending).
printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n1\th\t1700000000.000\t     0.001\t17\t0\t0\t0\t%s\n5\th\t1700000000.000\t     0.001\t7\t0\t0\t0\tb c.txt\n6\th\t17' "$(head -n 1 "$W/dry.want")" > "$W/dry.log"
cp "$W/dry.log" "$W/dry.log.before"
run_cmd 0 "$TFQ --dry-run --resume --joblog $W/dry.log run --template $(q "$DRYT") $DRY > $W/dry-resume.out 2> $W/dry-resume.err"
check "test \"\$(cat $W/dry-resume.out)\" = \"\$(sed -n '2,4p;6p' $W/dry.want)\" && grep -q -F '4 tasks, 2 skipped (done before)' $W/dry-resume.err"
same_file "$W/dry.log.before" "$W/dry.log"
# Errors are the run's, and nothing is printed for a bad task file.
# A reader that stops early (| head) ends the dry run quietly, status 0.
seq 1 200000 > "$W/dry-many.txt"
run_cmd 0 "set -o pipefail; $TFQ --dry-run run --template 'gzip -9 {}' $W/dry-many.txt 2> $W/dry-head.err | head -n 2 > $W/dry-head.out"
check "printf 'gzip -9 1\ngzip -9 2\n' | cmp -s - $W/dry-head.out && test ! -s $W/dry-head.err"
usage_error "$NUL:2" -- --dry-run run "$NUL"
usage_error "$W/missing.txt" -- --dry-run run "$W/missing.txt"
usage_error "--dry-run: job pi makes its own tasks" -- --dry-run pi --samples 10
# From a pipe the commands before the bad line are printed.
run_cmd 2 "cat $NUL | $TFQ --dry-run -q run - > $W/dry-nul.out 2> $W/dry-nul.err"
check "test \"\$(cat $W/dry-nul.out)\" = \"touch $M\" && grep -q -F stdin:2 $W/dry-nul.err && test ! -e $M"
# Under mpirun only rank 0 prints, once.
cmd="$(mpirun_cmd "-np 3" --dry-run -q run "$OK") > $W/dry-mpi.out 2> $W/dry-mpi.err"
if [ "$MPI" = 1 ]; then
    run_cmd 0 "$cmd"
    check "test \"\$(cat $W/dry-mpi.out)\" = \"\$(printf 'touch %s\\necho ran' $M)\" && test ! -e $M"
else
    e2e_skip "$cmd" "$E2E_NO_MPI"
fi

# --------------------------------------------------------- help, version
for h in --help -h; do
    run_cmd 0 "$TFQ $h > $W/help$h.out 2> $W/help$h.err"
    check "grep -q '^Usage: taskfarm' $W/help$h.out && grep -q -F -e --joblog $W/help$h.out && test ! -s $W/help$h.err"
done
check "grep -q -E '^  run +' $W/help--help.out"
# The version on the first line, as scripts read it; then the jobs this
# build has, those it left out, and the MPI library.
ver=$(sed -n 's/^#define TF_VERSION_\(MAJOR\|MINOR\|PATCH\) //p' \
    "$(dirname "$0")/../../include/taskfarm.h" | paste -s -d .)
for v in --version -V; do
    run_cmd 0 "$TFQ $v > $W/version$v.out 2> $W/version$v.err"
    check "test \"\$(head -n 1 $W/version$v.out)\" = 'taskfarm $ver' && test ! -s $W/version$v.err"
    check "grep -q -x -E 'jobs: run null pi( linalg)?( linkcheck)?' $W/version$v.out"
    check "grep -q -E '^MPI: (Open MPI|MPICH|.*MPI|none \\(built with TASKFARM_MPI=OFF)' $W/version$v.out"
done
# A job this build left out is named as such, with the option that builds it.
for j in linalg:TASKFARM_LINALG linkcheck:TASKFARM_LINKCHECK; do
    if has_job "${j%%:*}"; then
        check "! grep -q '^not built: ${j%%:*} ' $W/version--version.out"
    else
        check "grep -q '^not built: ${j%%:*} (needs .*: ${j#*:}=ON)' $W/version--version.out"
        usage_error "job '${j%%:*}' is not in this build of taskfarm: it needs " \
            "(build with -D${j#*:}=ON)" -- "${j%%:*}" --help
    fi
done
run_cmd 0 "$TFQ run --help > $W/run-help.out 2> $W/run-help.err"
check "grep -q -F -e --template $W/run-help.out && grep -q '^Usage: taskfarm .*run' $W/run-help.out && test ! -s $W/run-help.err"
# help and version end the program before any task runs
rm -f "$M"
expect_status 0 "$TF" run --help "$OK"
expect_status 0 "$TF" --version run "$OK"
expect_status 0 "$TF" run "$OK" --help
check "test ! -e $M"
# and the task file does run when nothing is wrong
run_cmd 0 "$TFQ -q run $OK > $W/ok.out"
check "test -e $M && test \"\$(cat $W/ok.out)\" = ran"

e2e_finish
