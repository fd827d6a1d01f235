#!/usr/bin/env bash
# slurm-cluster.sh - a private single-node Slurm cluster for the tests: its
# own munged, slurmctld and slurmd, every file in one directory, its own ports.
#   scripts/slurm-cluster.sh start DIR [OWNER_PID]
#   scripts/slurm-cluster.sh stop DIR
#
# start writes DIR/slurm.conf (every path in it inside DIR; ports 16817 and
# 16818, so a site's Slurm on the default ports is not disturbed), starts
# munged, slurmctld and slurmd as background processes that stay in the
# foreground (no forking daemons), saves their PIDs in DIR/pid.*, waits
# until the node is idle and prints the line
#     export SLURM_CONF=DIR/slurm.conf
# for the caller to eval; every client command (sbatch, squeue ...) needs it.
# The one node is named after `hostname -s`, at 127.0.0.1, with 8 CPUs
# (more than the machine may have) and 4 GPUs that are not (gpu0..3 in DIR/dev,
# each a /dev/null), in the partitions debug (the default) and gpu. With OWNER_PID,
# a watchdog stops the cluster once that process has ended, so a test that
# is killed, even with SIGKILL, leaves no daemons behind.
#
# stop cancels every job, waits until no job process is left, then ends
# slurmd, slurmctld and munged by their saved PIDs and waits for them. It
# may be called twice, after a failed start and on a DIR that holds no
# cluster. DIR itself, with the logs in DIR/log, is left to the caller.
#
# Exit status of start: 0 when the node is idle; 77 (a test's "skipped")
# with one line on stderr when the daemons cannot run here: not root, a
# program missing, a port taken, a daemon that fails; 2 for bad usage.
set -euo pipefail

ctld_port=16817
slurmd_port=16818
start_timeout_s=30
# KillWait=5 below: a cancelled job is gone within about 6 s.
jobs_timeout_s=30
daemon_timeout_s=10

# Debian keeps the daemons in /usr/sbin, which a non-root PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
umask 022

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

usage()
{
    echo "usage: $0 start DIR [OWNER_PID] | stop DIR" >&2
    exit 2
}

# is_proc PID COMM [NEEDLE] - PID is a live process named COMM (whose
# command line contains NEEDLE, if given): a saved PID that a new process
# has taken since is never signalled.
is_proc()
{
    local pid=$1 comm=$2 needle=${3:-} c
    case $pid in
    '' | *[!0-9]*) return 1 ;;
    esac
    c=$(cat "/proc/$pid/comm" 2> /dev/null) || return 1
    [ "$c" = "$comm" ] || return 1
    if [ -n "$needle" ]; then
        tr '\0' ' ' < "/proc/$pid/cmdline" 2> /dev/null |
            grep -q -F -e "$needle" || return 1
    fi
    return 0
}

# saved NAME - the PID saved in DIR/pid.NAME, or nothing.
saved()
{
    cat "$dir/pid.$1" 2> /dev/null || true
}

# port_taken PORT - something listens on TCP PORT (IPv4 or IPv6).
port_taken()
{
    local hex
    hex=$(printf '%04X' "$1")
    cat /proc/net/tcp /proc/net/tcp6 2> /dev/null |
        awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 }
                          END { exit !f }'
}

# wait_gone PID COMM SECONDS - wait until PID has ended; false on timeout.
wait_gone()
{
    local pid=$1 comm=$2 i
    for ((i = 0; i < $3 * 10; i++)); do
        is_proc "$pid" "$comm" || return 0
        sleep 0.1
    done
    return 1
}

# end_daemons NAME... - TERM the saved daemons all at once (each takes a
# second or two to shut down), KILL any that outlives daemon_timeout_s,
# and forget their PIDs.
end_daemons()
{
    local name pid
    for name in "$@"; do
        pid=$(saved "$name")
        if is_proc "$pid" "$name"; then
            kill -TERM "$pid" 2> /dev/null || true
        fi
    done
    for name in "$@"; do
        pid=$(saved "$name")
        if ! wait_gone "$pid" "$name" "$daemon_timeout_s"; then
            echo "slurm-cluster: $name ($pid) ignored SIGTERM; killing it" >&2
            kill -KILL "$pid" 2> /dev/null || true
            wait_gone "$pid" "$name" 5 || true
        fi
        rm -f "$dir/pid.$name"
    done
}

# job_pids - the PIDs of this cluster's job processes, one a line.
job_pids()
{
    timeout 10 scontrol listpids 2> /dev/null |
        awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $1 }' || true
}

# step_sockets - the sockets of this node's running slurmstepd processes,
# which outlive slurmd and end with their job.
step_sockets()
{
    find "$dir/spool" -maxdepth 1 -type s 2> /dev/null || true
}

cluster_stop()
{
    local pid ids i left
    [ -d "$dir" ] || return 0
    pid=$(saved watchdog)
    if [ "$pid" != "$$" ] && is_proc "$pid" bash "$dir"; then
        kill -TERM "$pid" 2> /dev/null || true
    fi
    rm -f "$dir/pid.watchdog"
    if [ -f "$dir/slurm.conf" ]; then
        export SLURM_CONF=$dir/slurm.conf
        if is_proc "$(saved slurmctld)" slurmctld; then
            ids=$(timeout 10 squeue -h -o %A 2> /dev/null || true)
            if [ -n "$ids" ]; then
                # shellcheck disable=SC2086 # one word per job id
                timeout 10 scancel $ids 2> /dev/null || true
            fi
        fi
        # Job processes and their slurmstepd outlive slurmd: wait for them
        # while slurmd still answers their end, and kill what is left.
        for ((i = 0; i < jobs_timeout_s * 5; i++)); do
            left=$(job_pids)$(step_sockets)
            [ -n "$left" ] || break
            sleep 0.2
        done
        if [ -n "$left" ]; then
            echo "slurm-cluster: job processes left after ${jobs_timeout_s} s; killing them" >&2
            for pid in $(job_pids); do
                kill -KILL "$pid" 2> /dev/null || true
            done
        fi
    fi
    end_daemons slurmd slurmctld munged
}

# start_fail REASON - give up: one line on stderr, exit 77 (the EXIT trap
# of cluster_start stops whatever had started).
start_fail()
{
    echo "slurm-cluster: cannot start a private Slurm cluster: $*" >&2
    exit 77
}

# why NAME - where to read about daemon NAME's end, and its last line there:
# what it wrote on stdout and stderr if anything, else its log file.
why()
{
    local f=$dir/log/$1.out line
    [ -s "$f" ] || f=$dir/log/$1.log
    line=$(tail -n 1 "$f" 2> /dev/null | cut -c1-200) || true
    printf 'see %s%s' "$f" "${line:+: $line}"
}

# launch NAME CMD... - start a daemon in a session of its own (a terminal's
# ^C reaches the test, whose trap calls stop, not the daemons), with no
# descriptor of the caller's, and save its PID.
launch()
{
    local name=$1
    shift
    setsid "$@" < /dev/null >> "$dir/log/$name.out" 2>&1 &
    echo $! > "$dir/pid.$name"
}

# need_alive NAME - fail the start when daemon NAME has died.
need_alive()
{
    is_proc "$(saved "$1")" "$1" ||
        start_fail "$1 exited ($(why "$1"))"
}

cluster_start()
{
    local owner=$1 host p sock conf i state
    # The checks that can fail here before anything runs.
    if [ "$(id -u)" -ne 0 ]; then
        start_fail "not root (the daemons run as root, SlurmUser=root)"
    fi
    for p in munged munge unmunge slurmctld slurmd sinfo squeue scontrol \
             scancel sbatch srun setsid timeout; do
        command -v "$p" > /dev/null 2>&1 ||
            start_fail "$p not found (Debian: apt-get install slurm-wlm munge)"
    done
    host=$(hostname -s 2> /dev/null) || host=
    case $host in
    '' | *[!A-Za-z0-9-]*) start_fail "unusable host name '$host'" ;;
    esac
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    # slurm.conf has no quoting: DIR must need none.
    case $dir in
    *[!A-Za-z0-9/._-]*)
        echo "slurm-cluster: '$dir': use a directory whose path has only letters, digits and / . _ -" >&2
        exit 2
        ;;
    esac
    for p in munged slurmctld slurmd; do
        if is_proc "$(saved "$p")" "$p"; then
            echo "slurm-cluster: a cluster is already running in $dir" >&2
            exit 2
        fi
    done
    for p in "$ctld_port" "$slurmd_port"; do
        if port_taken "$p"; then
            start_fail "TCP port $p is taken (another private cluster running?)"
        fi
    done
    # munged wants every folder above its socket open to all (o+x).
    chmod go+x "$dir"
    p=$(dirname "$dir")
    while [ "$p" != / ]; do
        if [ -z "$(find "$p" -maxdepth 0 -perm -o+x)" ]; then
            echo "slurm-cluster: $p: munged needs every folder above its socket executable by all (chmod o+x)" >&2
            exit 2
        fi
        p=$(dirname "$p")
    done
    sock=$dir/munge/munge.socket
    if [ ${#sock} -gt 100 ]; then
        start_fail "$sock: path too long for a socket"
    fi

    # From here on a failure stops what has started.
    trap 'cluster_stop > /dev/null 2>&1' EXIT
    rm -rf "$dir/munge" "$dir/state" "$dir/spool" "$dir/log" "$dir/run" \
        "$dir/tmp"
    mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log" "$dir/run" \
        "$dir/tmp"
    # munged refuses a socket folder that others cannot enter.
    chmod 755 "$dir/munge"
    head -c 1024 /dev/urandom > "$dir/munge/munge.key"
    chmod 400 "$dir/munge/munge.key"

    launch munged munged -F --key-file="$dir/munge/munge.key" \
        --socket="$sock" --pid-file="$dir/run/munged.pid" \
        --seed-file="$dir/munge/munged.seed" \
        --log-file="$dir/log/munged.log"
    for ((i = 0; ; i++)); do
        if munge -S "$sock" -n 2> /dev/null |
                unmunge -S "$sock" > /dev/null 2>&1; then
            break
        fi
        need_alive munged
        [ "$i" -lt 100 ] || start_fail "munged does not answer on $sock"
        sleep 0.1
    done

    conf=$dir/slurm.conf
    cat > "$conf" << EOF
# slurm.conf of a private single-node cluster, written by slurm-cluster.sh
ClusterName=taskfarm
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# A short credential life: a requeued job otherwise waits 120 s to restart.
AuthInfo=socket=$sock,cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
# The PMIx plugin keeps its per-step folders here.
TmpFS=$dir/tmp
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# Debian's Open MPI talks to srun through PMIx only.
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
# The node may declare more CPUs than the machine has.
SlurmdParameters=config_overrides
KillWait=5
# 4 GPUs, whose "devices" (gres.conf) are copies of /dev/null: jobs may ask
# for them, and Slurm sets CUDA_VISIBLE_DEVICES as on a GPU node.
GresTypes=gpu
NodeName=$host NodeAddr=127.0.0.1 CPUs=8 RealMemory=1000 Gres=gpu:4 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=ALL MaxTime=INFINITE State=UP
EOF
    # The GPUs' "devices": character devices that are /dev/null, whose
    # numbers Slurm gives the jobs that ask for GPUs in CUDA_VISIBLE_DEVICES.
    mkdir -p "$dir/dev"
    for i in 0 1 2 3; do
        [ -e "$dir/dev/gpu$i" ] || mknod "$dir/dev/gpu$i" c 1 3
    done
    echo "NodeName=$host Name=gpu File=$dir/dev/gpu[0-3]" > "$dir/gres.conf"
    export SLURM_CONF=$conf
    launch slurmctld slurmctld -D -f "$conf"
    launch slurmd slurmd -D -f "$conf"
    state=
    for ((i = 0; ; i++)); do
        state=$(timeout 5 sinfo -h -o %T 2> /dev/null) || state=
        [ "$state" != idle ] || break
        need_alive slurmctld
        need_alive slurmd
        [ "$i" -lt $((start_timeout_s * 5)) ] ||
            start_fail "the node is not idle after ${start_timeout_s} s (state '${state:-unknown}'; see $dir/log)"
        sleep 0.2
    done

    if [ -n "$owner" ]; then
        # The watchdog's command line names DIR, which stop checks before
        # it signals the saved PID.
        # shellcheck disable=SC2016 # expanded by that bash
        setsid bash -c 'while kill -0 "$1" 2> /dev/null && [ -e "$2/slurm.conf" ]; do sleep 1; done
                        exec bash "$3" stop "$2"' \
            slurm-cluster-watchdog "$owner" "$dir" "$self" \
            < /dev/null >> "$dir/log/watchdog.log" 2>&1 &
        echo $! > "$dir/pid.watchdog"
    fi
    trap - EXIT
    echo "export SLURM_CONF=$conf"
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
case $cmd in
start)
    [ $# -le 3 ] || usage
    owner=${3:-}
    case $owner in
    *[!0-9]*) usage ;;
    esac
    cluster_start "$owner"
    ;;
stop)
    [ $# -eq 2 ] || usage
    if [ -d "$dir" ]; then
        dir=$(cd "$dir" && pwd)
        cluster_stop
    fi
    ;;
*) usage ;;
esac
