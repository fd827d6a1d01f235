# lib.sh - helpers sourced by the end-to-end scripts in tests/e2e/
# shellcheck shell=bash disable=SC2034 # E2E_NO_MPI, TF, W: used by the scripts
#
# Usage, from a script:
#     . "$(dirname "$0")/lib.sh"
#     e2e_init "$@"        # finds taskfarm (argument 1 or $TASKFARM), makes $W
#     expect_status 0 "$TF" --version
#     run_cmd 2 "$(q "$TF") -j 0 run $W/tasks.txt > $W/out 2> $W/err"
#     e2e_finish           # prints "N passed, M failed" and exits
#
# Every check prints one line, IOR's form: OK or ERR (or SKIP), then the
# complete command, so a failing check can be re-run by pasting it into a
# shell. Set TF_E2E_KEEP=1 to keep the scratch directory ($W) after the run;
# the commands refer to files in it. Details of a failure follow on lines
# that start with '#'.
#
# Exit status of a script: 0 when every check passed, 1 when one failed, 77
# when a prerequisite is missing (ctest's SKIP_RETURN_CODE).

E2E_PASSED=0
E2E_FAILED=0
E2E_SKIPPED=0
E2E_N=0
E2E_NO_MPI= # why have_mpirun said no
# The MPI launcher: TF_MPIEXEC, which CMake sets to the build's
# MPIEXEC_EXECUTABLE (a build against MPICH runs under MPICH's mpiexec),
# else mpirun from PATH. E2E_MPI is its flavour, set by have_mpirun:
# openmpi or mpich (MPICH's Hydra).
MPIEXEC=${TF_MPIEXEC:-mpirun}
E2E_MPI=
E2E_SRUN_MPI=

# q ARG... - ARGs quoted for the shell (in single quotes where needed) and
# joined with spaces.
q()
{
    local out="" a sq="'\\''"
    for a in "$@"; do
        case $a in
        '' | *[!A-Za-z0-9_./:=,+@%^-]*) a="'${a//\'/$sq}'" ;;
        esac
        out="$out${out:+ }$a"
    done
    printf '%s' "$out"
}

# e2e_skip_all MSG - a prerequisite is missing: say so and exit 77.
e2e_skip_all()
{
    echo "SKIP $*"
    exit 77
}

# e2e_init [TASKFARM] - sets TF (absolute path of the binary) and W (a
# scratch directory removed at exit); exits 77 when there is no binary.
e2e_init()
{
    TF=${1:-${TASKFARM:-}}
    if [ -z "$TF" ]; then
        e2e_skip_all "no taskfarm binary: pass it as argument 1 or set TASKFARM"
    fi
    if [ ! -x "$TF" ] || [ -d "$TF" ]; then
        e2e_skip_all "taskfarm binary '$TF' is not an executable file"
    fi
    TF=$(CDPATH='' cd -- "$(dirname -- "$TF")" && pwd)/$(basename -- "$TF")
    # The commands name files in $W unquoted, so $W must need no quoting.
    case ${TMPDIR:-/tmp} in
    *[!A-Za-z0-9/._-]*) W=$(mktemp -d /tmp/tf-e2e.XXXXXX) || exit 3 ;;
    *) W=$(mktemp -d "${TMPDIR:-/tmp}/tf-e2e.XXXXXX") || exit 3 ;;
    esac
    trap e2e_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # No inherited variable of ours may change what the tasks see.
    unset TASKFARM_TASK_ID TASKFARM_WORKER TASKFARM_NWORKERS TASKFARM_HOST
    export LC_ALL=C
    echo "# taskfarm: $TF"
    echo "# scratch:  $W"
}

e2e_cleanup()
{
    if [ -n "${W:-}" ] && [ -d "$W" ]; then
        if [ -n "${TF_E2E_KEEP:-}" ]; then
            echo "# kept $W"
        else
            rm -rf "$W"
        fi
    fi
}

# e2e_ok CMD / e2e_err CMD [DETAIL...] / e2e_skip CMD REASON - record and
# print one result.
e2e_ok()
{
    E2E_PASSED=$((E2E_PASSED + 1))
    printf 'OK   %s\n' "$1"
}

e2e_err()
{
    local line
    E2E_FAILED=$((E2E_FAILED + 1))
    printf 'ERR  %s\n' "$1"
    shift
    for line in "$@"; do
        [ -n "$line" ] && printf '%s\n' "$line" | sed 's/^/#    /'
    done
    return 0
}

e2e_skip()
{
    # In a fork-only build (TF_E2E_FORK_ONLY=1, set by CMake) the MPI cases
    # are out of scope: the e2e_mpi test reports them as skipped instead.
    if [ -n "${TF_E2E_FORK_ONLY:-}" ]; then
        return 0
    fi
    E2E_SKIPPED=$((E2E_SKIPPED + 1))
    printf 'SKIP %s\n' "$1"
    printf '#    %s\n' "$2"
}

# run_cmd STATUS CMD [WHAT] - runs the shell command line CMD in a subshell
# and checks that it exits with STATUS. CMD does its own redirections;
# whatever it leaves on stdout and stderr goes to $W/cmd.N.out and
# $W/cmd.N.err and is shown when the check fails. Returns 0 when the check
# passed.
run_cmd()
{
    local want=$1 cmd=$2 what=${3:-} rc
    E2E_N=$((E2E_N + 1))
    (eval "$cmd") > "$W/cmd.$E2E_N.out" 2> "$W/cmd.$E2E_N.err" < /dev/null
    rc=$?
    if [ "$rc" -eq "$want" ]; then
        e2e_ok "$cmd"
        return 0
    fi
    if [ -z "$what" ]; then
        what="expected exit status $want, got $rc"
    fi
    e2e_err "$cmd" "$what" \
        "$(head -c 2000 "$W/cmd.$E2E_N.out" | head -n 10)" \
        "$(head -c 2000 "$W/cmd.$E2E_N.err" | head -n 10)"
    return 1
}

# check CMD - run_cmd 0 CMD: a check written as a shell command (test, cmp,
# grep ...).
check()
{
    run_cmd 0 "$1" "the check does not hold"
}

# expect_status N CMD... - runs CMD with its arguments (quoted for display)
# and checks that it exits with N.
expect_status()
{
    local want=$1
    shift
    if [ $# -eq 1 ]; then
        run_cmd "$want" "$1"
    else
        run_cmd "$want" "$(q "$@")"
    fi
}

# same_file A B - A and B are byte for byte identical.
same_file()
{
    local cmd
    cmd="cmp $(q "$1" "$2")"
    E2E_N=$((E2E_N + 1))
    if cmp "$1" "$2" > "$W/cmd.$E2E_N.out" 2>&1; then
        e2e_ok "$cmd"
        return 0
    fi
    e2e_err "$cmd" "$(cat "$W/cmd.$E2E_N.out")" \
        "$(diff <(head -c 100000 "$1" | cut -c1-200) \
                <(head -c 100000 "$2" | cut -c1-200) | head -n 20)"
    return 1
}

# joblog_cols FILE - the Seq, Exitval, Signal and Command columns (1, 7, 8
# and 9; a command holding a TAB keeps its remaining fields) of a joblog,
# header included, its lines in task order: the columns that do not depend
# on timing or hosts (a task that waits behind a slower one is recorded
# before it, in completion order).
joblog_cols()
{
    head -n 1 "$1" | cut -f 1,7,8,9-
    tail -n +2 "$1" | cut -f 1,7,8,9- | sort -t "$(printf '\t')" -k 1,1n -s
}

# The line a task prints to show where --bind cores put it (for
# cpu_blocks_ok): its node, its local worker, the CPUs it may run on, the
# TASKFARM_CPUS, OMP_NUM_THREADS, OMP_PROC_BIND and OMP_PLACES it was given.
# shellcheck disable=SC2016 # the task expands them
CPU_TASK='echo "$TASKFARM_NODE $TASKFARM_LOCAL_WORKER $(sed -n "s/^Cpus_allowed_list:[[:space:]]*//p" /proc/self/status) ${TASKFARM_CPUS-unset} ${OMP_NUM_THREADS-} ${OMP_PROC_BIND-} ${OMP_PLACES-}"'

# cpu_blocks_ok FILE [NWORKERS] - whether the CPU_TASK lines in FILE show
# each worker pinned to the CPUs TASKFARM_CPUS names, its OpenMP threads as
# many, bound close, one place for each of its CPUs, one set per worker,
# and no CPU pinned to two workers of one node; and NWORKERS workers in all
# when given.
cpu_blocks_ok()
{
    sort -u "$1" | awk -v want="${2:-0}" '
        function expand(list, cpus,    n, parts, i, r, c) {
            n = 0
            split(list, parts, ",")
            for (i in parts) {
                if (split(parts[i], r, "-") == 1)
                    r[2] = r[1]
                for (c = r[1] + 0; c <= r[2] + 0; c++)
                    cpus[++n] = c
            }
            return n
        }
        NF != 7 || $3 != $4 || $6 != "close" { bad = 1; next }
        {
            w = $1 " " $2
            if (w in seen)
                bad = 1
            seen[w] = 1
            split("", cpus)
            n = expand($3, cpus)
            if (n != $5)
                bad = 1
            # The places, sorted, are the CPUs: "{0},{1}" for "0-1".
            places = $7
            gsub(/[{}]/, "", places)
            np = split(places, p, ",")
            for (i = 1; i <= np; i++)
                for (j = i + 1; j <= np; j++)
                    if (p[j] + 0 < p[i] + 0) {
                        t = p[i]; p[i] = p[j]; p[j] = t
                    }
            if (np != n)
                bad = 1
            for (i = 1; i <= np; i++)
                if (p[i] + 0 != cpus[i])
                    bad = 1
            for (i = 1; i <= n; i++) {
                k = $1 " " cpus[i]
                if (k in owner)
                    bad = 1
                owner[k] = w
            }
            nw++
        }
        END { exit bad || nw == 0 || (want > 0 && nw != want) }'
}

# What differs between the launchers is kept here, and only here:
#                      Open MPI's mpirun             MPICH's mpiexec (Hydra)
#   as root            OMPI_ALLOW_RUN_AS_ROOT=1 and  allowed
#                      ..._CONFIRM=1
#   more ranks than    OMPI_MCA_rmaps_base_          the default
#   cores              oversubscribe=1 (--oversubscribe)
#   a variable set     inherited on this host; -x    every variable goes
#   for every rank     VAR for other hosts           (-genv VAR VALUE)
#   a rank's number    OMPI_COMM_WORLD_RANK (and     PMI_RANK
#                      PMIX_RANK)
#   SIGUSR1 SIGUSR2    passed on to every rank       SIGUSR1 passed on, but
#                                                    MPICH 4.0's then drops
#                                                    the ranks' exit status;
#                                                    SIGUSR2 ends mpiexec
#   SIGTERM SIGINT     end the job                   passed on to every rank,
#                                                    which ends the job
#   status when rank   rank 0's                      the bitwise or of every
#   0 ends first                                     rank's wait status, the
#   (an error, a stop)                               SIGKILL of the others too
#   srun's --mpi       pmix                          pmi2
#                      (E2E_SRUN_MPI, set by have_mpirun)

# mpirun_cmd "MPIRUN OPTIONS" ARGS... - the command line (a string) that
# runs taskfarm with ARGS under $MPIEXEC, e.g. mpirun_cmd "-np 3" run FILE:
# as root, oversubscription allowed, bounded in time.
mpirun_cmd()
{
    local mpiopts=$1
    shift
    if [ "$E2E_MPI" = openmpi ]; then
        printf '%s' "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
        printf '%s' " OMPI_MCA_rmaps_base_oversubscribe=1"
        printf '%s' " OMPI_MCA_btl_vader_single_copy_mechanism=none "
    fi
    printf '%s' "timeout -k 5 120 $(q "$MPIEXEC") $mpiopts $(q "$TF" "$@")"
}

# mpi_rank_pids RANK PATTERN - the PIDs of the processes whose command line
# matches PATTERN (pgrep -f) and whose environment makes them MPI rank RANK,
# one per line: the launcher's processes match no rank.
mpi_rank_pids()
{
    local rank=$1 p
    for p in $(pgrep -f "$2"); do
        tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null |
            awk -F = -v r="$rank" '
                $1 == "OMPI_COMM_WORLD_RANK" { o = $2 }
                $1 == "PMIX_RANK" { x = $2 }
                $1 == "PMI_RANK" { m = $2 }
                END {
                    n = o != "" ? o : x != "" ? x : m
                    exit !(n != "" && n == r)
                }' && echo "$p"
    done
    return 0
}

# mpi_signal_pids SIGNAL PATTERN - where SIGNAL (USR1, USR2, TERM ...) must
# go to reach the master of a run that mpirun_cmd started, its taskfarm
# command line matching ^PATTERN: the launcher where it passes SIGNAL on to
# the ranks and the job goes on as it should (the table above), else rank
# 0 itself.
mpi_signal_pids()
{
    case $E2E_MPI:$1 in
    openmpi:USR1 | openmpi:USR2) pgrep -f "^$MPIEXEC .*$2" ;;
    *) mpi_rank_pids 0 "^$2" ;;
    esac
    return 0
}

# mpi_ended_with STATUS GOT - true when GOT, the exit status of the launcher
# of a run whose rank 0 ended with STATUS while other ranks still ran, is
# what the launcher gives for it (the table above): STATUS under Open MPI;
# under MPICH any failure, the status being mpiexec's own.
mpi_ended_with()
{
    if [ "$E2E_MPI" = openmpi ]; then
        [ "$2" = "$1" ]
    else
        [ "$2" != 0 ]
    fi
}

# usage_error NEEDLE ARGS... - `taskfarm ARGS` exits 2, writes nothing on
# stdout and one line on stderr that contains NEEDLE; the files are
# $W/uN.out and $W/uN.err, N counting the calls in U.
U=0
usage_error()
{
    local needle=$1
    shift
    U=$((U + 1))
    run_cmd 2 "$(q "$TF" "$@") > $W/u$U.out 2> $W/u$U.err"
    check "test ! -s $W/u$U.out && test \"\$(wc -l < $W/u$U.err)\" = 1 && grep -q -F -e $(q "$needle") $W/u$U.err"
}

# mpi_init - MPI=1 when have_mpirun says yes, else MPI=0 and a comment line
# that the MPI runs will be skipped, and why.
mpi_init()
{
    if have_mpirun; then
        MPI=1
    else
        MPI=0
        echo "# MPI runs will be skipped: $E2E_NO_MPI"
    fi
}

# mpi_run STATUS CMD - run_cmd, or a SKIP line when MPI is not available
# (after mpi_init).
mpi_run()
{
    if [ "$MPI" = 1 ]; then
        run_cmd "$1" "$2"
    else
        e2e_skip "$2" "$E2E_NO_MPI"
        return 1
    fi
}

# have_mpirun - true when the launcher ($MPIEXEC) exists and is Open MPI's
# or MPICH's (E2E_MPI), taskfarm was built with MPI and the run is not
# fork-only (TF_E2E_FORK_ONLY). Sets E2E_NO_MPI to the reason otherwise.
have_mpirun()
{
    local msg
    if [ -n "${TF_E2E_FORK_ONLY:-}" ]; then
        E2E_NO_MPI="a fork-only run (TF_E2E_FORK_ONLY)"
        return 1
    fi
    if ! command -v "$MPIEXEC" > /dev/null 2>&1; then
        E2E_NO_MPI="$MPIEXEC not found in PATH"
        return 1
    fi
    # Open MPI 4 names itself OpenRTE, 5 Open MPI; Hydra prints its build.
    msg=$(timeout -k 5 30 "$MPIEXEC" --version 2>&1 < /dev/null)
    case $msg in
    *"Open MPI"* | *OpenRTE*) E2E_MPI=openmpi E2E_SRUN_MPI=pmix ;;
    *HYDRA*) E2E_MPI=mpich E2E_SRUN_MPI=pmi2 ;;
    *)
        E2E_NO_MPI="$MPIEXEC --version names neither Open MPI nor MPICH's Hydra"
        return 1
        ;;
    esac
    : > "$W/.have_mpi_tasks"
    msg=$(timeout -k 5 30 "$TF" --backend mpi -q run "$W/.have_mpi_tasks" \
        2>&1 < /dev/null)
    case $msg in
    *"built without MPI"*)
        E2E_NO_MPI="taskfarm was built without MPI"
        return 1
        ;;
    esac
    echo "# MPI launcher: $MPIEXEC ($E2E_MPI)"
    return 0
}

# e2e_finish - prints the summary and exits: 1 if anything failed.
e2e_finish()
{
    if [ "$E2E_SKIPPED" -gt 0 ]; then
        echo "# $E2E_SKIPPED skipped"
    fi
    if [ "$E2E_FAILED" -gt 0 ] && [ -z "${TF_E2E_KEEP:-}" ]; then
        echo "# rerun with TF_E2E_KEEP=1 to keep $W for the commands above"
    fi
    echo "$E2E_PASSED passed, $E2E_FAILED failed"
    if [ "$E2E_FAILED" -gt 0 ]; then
        exit 1
    fi
    # A check that could not run is not a pass: ctest shows it as skipped.
    if [ "$E2E_SKIPPED" -gt 0 ]; then
        exit 77
    fi
    exit 0
}

# e2e_hosts_up HOSTS_SCRIPT DIR N - makes N hosts of network namespaces in
# DIR with scripts/netns-hosts.sh (HOSTS_SCRIPT), this shell its watchdog,
# so that they go even if the script is killed with SIGKILL; skips the
# whole script when namespaces cannot be made here, ends it failed when
# they do not work.
e2e_hosts_up()
{
    local up rc
    up="bash $(q "$1") up $2 $3 $$"
    eval "$up" > "$W/up.out" 2> "$W/up.err" < /dev/null
    rc=$?
    if [ "$rc" -eq 77 ]; then
        e2e_skip_all "$(head -n 1 "$W/up.err")"
    fi
    if [ "$rc" -ne 0 ]; then
        e2e_err "$up" "exit status $rc" "$(head -n 10 "$W/up.err")"
        e2e_finish
    fi
    e2e_ok "$up"
}

# has_job NAME: whether the taskfarm under test has the job NAME (a build
# may leave the optional jobs out: taskfarm --version lists those it has).
has_job()
{
    "$TF" --version | grep -qE "^jobs:.* $1( |\$)"
}
