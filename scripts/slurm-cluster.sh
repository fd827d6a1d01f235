#!/usr/bin/env bash
# slurm-cluster.sh - a private Slurm cluster for the tests: its own munged,
# slurmctld and slurmd, every file in one directory, its own ports. One node
# on this machine, or one node per host that scripts/netns-hosts.sh made.
#   scripts/slurm-cluster.sh start DIR [OWNER_PID]
#   scripts/slurm-cluster.sh start-hosts DIR HOSTSDIR [OWNER_PID]
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
# start-hosts makes a cluster of separate nodes out of the hosts that
# `scripts/netns-hosts.sh up HOSTSDIR N` made: node tfhostK at its address
# 10.99.0.K, with 2 CPUs, for K = 1..N, all in the partition debug. It runs
# slurmctld in tfhost1 and one slurmd (-N tfhostK) in each host, started
# through HOSTSDIR/agent, and munged on this machine (its socket is a file,
# which every host sees). Its ports are 16827 and 16828 inside the hosts'
# namespaces (not start's: both clusters may run at once). Each node has its
# own spool folder DIR/spool/tfhostK, DIR/run/slurmd.tfhostK.pid and log
# DIR/log/slurmd.tfhostK.log, and its own TmpFS: DIR/tmp is, for that
# node's slurmd and jobs only, a bind mount of DIR/tmp.d/tfhostK (the PMIx
# plugin keeps per-step folders there under names that are the same on
# every node). SlurmdTimeout is 10 s: a node whose slurmd stops answering
# is DOWN within about 10 to 20 s. The addresses exist only inside the
# hosts, so client commands work only there, through the agent:
#     HOSTSDIR/agent tfhost1 'export SLURM_CONF=DIR/slurm.conf; srun -N 3 hostname'
# start-hosts waits until every node is idle and prints the same line as
# start, export SLURM_CONF=DIR/slurm.conf, for such commands. DIR/pid.*
# holds munged's, slurmctld's and each slurmd's PID (pid.slurmd.tfhostK),
# DIR/hostsdir the HOSTSDIR. OWNER_PID as for start. Stop the cluster
# before the hosts (netns-hosts.sh down kills the daemons in them, not
# munged).
#
# stop cancels every job, waits until no job process is left, then ends
# slurmd, slurmctld and munged by their saved PIDs and waits for them, for
# either kind of cluster; for several nodes, every slurmd. It may be called
# twice, after a failed start and on a DIR that holds no cluster, and after
# the hosts are gone (then it ends munged). DIR itself, with the logs in
# DIR/log, is left to the caller.
#
# Exit status of start and start-hosts: 0 when every node is idle; 77 (a
# test's "skipped") with one line on stderr when the daemons cannot run
# here: not root, a program missing, a port taken, a daemon that fails; 2
# for bad usage, and for start-hosts also when HOSTSDIR holds no hosts.
set -euo pipefail

ctld_port=16817
slurmd_port=16818
# start-hosts: its ports, CPUs per node, and how long a silent slurmd may
# stay up.
hosts_ctld_port=16827
hosts_slurmd_port=16828
hosts_cpus=2
hosts_slurmd_timeout_s=10
start_timeout_s=30
# KillWait=5 below: a cancelled job is gone within about 6 s.
jobs_timeout_s=30
daemon_timeout_s=10

# Debian keeps the daemons in /usr/sbin, which a non-root PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
umask 022

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

# conf_auth, conf_plugins - the lines of slurm.conf that both kinds of
# cluster share (with $sock and $dir set): users and credentials; plugins.
conf_auth()
{
    cat << EOF
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# A short credential life: a requeued job otherwise waits 120 s to restart.
AuthInfo=socket=$sock,cred_expire=10
StateSaveLocation=$dir/state
EOF
}

conf_plugins()
{
    cat << EOF
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
EOF
}

usage()
{
    echo "usage: $0 start DIR [OWNER_PID] | start-hosts DIR HOSTSDIR [OWNER_PID] | stop DIR" >&2
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

# port_taken PORT [HOST] - something listens on TCP PORT (IPv4 or IPv6),
# here or in HOST's network namespace.
port_taken()
{
    local hex
    hex=$(printf '%04X' "$1")
    if [ -n "${2:-}" ]; then
        in_host "$2" 'cat /proc/net/tcp /proc/net/tcp6' 2> /dev/null
    else
        cat /proc/net/tcp /proc/net/tcp6 2> /dev/null
    fi |
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
# and forget their PIDs. NAME is the daemon's command name, with
# .NODE after it for the slurmd of a node of several.
end_daemons()
{
    local name pid
    for name in "$@"; do
        pid=$(saved "$name")
        if is_proc "$pid" "${name%%.*}"; then
            kill -TERM "$pid" 2> /dev/null || true
        fi
    done
    for name in "$@"; do
        pid=$(saved "$name")
        if ! wait_gone "$pid" "${name%%.*}" "$daemon_timeout_s"; then
            echo "slurm-cluster: $name ($pid) ignored SIGTERM; killing it" >&2
            kill -KILL "$pid" 2> /dev/null || true
            wait_gone "$pid" "${name%%.*}" 5 || true
        fi
        rm -f "$dir/pid.$name"
    done
}

# in_host HOST CMD - with several nodes: run the shell command CMD in HOST
# through the agent, with SLURM_CONF set, for at most 10 s; false when the
# hosts are gone.
in_host()
{
    [ -x "$hdir/agent" ] || return 1
    timeout 10 "$hdir/agent" "$1" "export SLURM_CONF=$dir/slurm.conf; $2" \
        < /dev/null
}

# client CMD - run the shell command CMD where slurmctld answers: here, or
# in the first host of several.
client()
{
    if [ -n "$hdir" ]; then
        in_host "${nodes[0]}" "$1"
    else
        timeout 10 sh -c "$1" < /dev/null
    fi
}

# job_pids - the PIDs of this cluster's job processes, one a line.
job_pids()
{
    local node
    if [ -z "$hdir" ]; then
        timeout 10 scontrol listpids 2> /dev/null |
            awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $1 }' || true
        return 0
    fi
    for node in "${nodes[@]}"; do
        in_host "$node" "scontrol listpids '*' $node" 2> /dev/null |
            awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $1 }' || true
    done
}

# step_sockets - the sockets of the running slurmstepd processes in the
# node's spool folder (each node's, of several), which outlive slurmd and
# end with their job.
step_sockets()
{
    if [ -n "$hdir" ]; then
        find "$dir"/spool/*/ -maxdepth 1 -type s 2> /dev/null || true
    else
        find "$dir/spool" -maxdepth 1 -type s 2> /dev/null || true
    fi
}

# load_hosts - with several nodes (DIR/hostsdir saved by start-hosts): set
# hdir to HOSTSDIR and nodes to the node names, else hdir to nothing.
load_hosts()
{
    local name
    hdir=
    nodes=()
    [ -f "$dir/hostsdir" ] && [ -f "$dir/nodes" ] || return 0
    hdir=$(cat "$dir/hostsdir")
    while read -r name _; do
        nodes+=("$name")
    done < "$dir/nodes"
}

cluster_stop()
{
    local pid ids i left node
    local -a daemons=(slurmd)
    [ -d "$dir" ] || return 0
    load_hosts
    if [ -n "$hdir" ]; then
        daemons=()
        for node in "${nodes[@]}"; do
            daemons+=("slurmd.$node")
        done
    fi
    pid=$(saved watchdog)
    if [ "$pid" != "$$" ] && is_proc "$pid" bash "$dir"; then
        kill -TERM "$pid" 2> /dev/null || true
    fi
    rm -f "$dir/pid.watchdog"
    if [ -f "$dir/slurm.conf" ]; then
        export SLURM_CONF=$dir/slurm.conf
        if is_proc "$(saved slurmctld)" slurmctld; then
            ids=$(client 'squeue -h -o %A' 2> /dev/null || true)
            if [ -n "$ids" ]; then
                client "scancel ${ids//$'\n'/ }" 2> /dev/null || true
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
    end_daemons "${daemons[@]}" slurmctld munged
    rm -f "$dir/hostsdir"
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
    is_proc "$(saved "$1")" "${1%%.*}" ||
        start_fail "$1 exited ($(why "$1"))"
}

# prepare - the checks of start and start-hosts that can fail before
# anything runs, then (a failure from here on stops what has started) a
# fresh DIR with munged running; sets sock.
prepare()
{
    local p i
    if [ "$(id -u)" -ne 0 ]; then
        start_fail "not root (the daemons run as root, SlurmUser=root)"
    fi
    for p in munged munge unmunge slurmctld slurmd sinfo squeue scontrol \
             scancel sbatch srun setsid timeout; do
        command -v "$p" > /dev/null 2>&1 ||
            start_fail "$p not found (Debian: apt-get install slurm-wlm munge)"
    done
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    # slurm.conf has no quoting: DIR must need none.
    case $dir in
    *[!A-Za-z0-9/._-]*)
        echo "slurm-cluster: '$dir': use a directory whose path has only letters, digits and / . _ -" >&2
        exit 2
        ;;
    esac
    for p in "$dir"/pid.*; do
        p=${p##*/pid.}
        if [ "$p" != watchdog ] && is_proc "$(saved "$p")" "${p%%.*}"; then
            echo "slurm-cluster: a cluster is already running in $dir" >&2
            exit 2
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
        "$dir/tmp" "$dir/tmp.d" "$dir/hostsdir" "$dir/nodes" "$dir/cgroup.conf"
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
}

# start_watchdog OWNER - with OWNER (a PID), a watchdog that stops the
# cluster once that process has ended.
start_watchdog()
{
    [ -n "$1" ] || return 0
    # The watchdog's command line names DIR, which stop checks before
    # it signals the saved PID.
    # shellcheck disable=SC2016 # expanded by that bash
    setsid bash -c 'while kill -0 "$1" 2> /dev/null && [ -e "$2/slurm.conf" ]; do sleep 1; done
                    exec bash "$3" stop "$2"' \
        slurm-cluster-watchdog "$1" "$dir" "$self" \
        < /dev/null >> "$dir/log/watchdog.log" 2>&1 &
    echo $! > "$dir/pid.watchdog"
}

cluster_start()
{
    local owner=$1 host p conf i state
    host=$(hostname -s 2> /dev/null) || host=
    case $host in
    '' | *[!A-Za-z0-9-]*) start_fail "unusable host name '$host'" ;;
    esac
    for p in "$ctld_port" "$slurmd_port"; do
        if port_taken "$p"; then
            start_fail "TCP port $p is taken (another private cluster running?)"
        fi
    done
    prepare

    conf=$dir/slurm.conf
    cat > "$conf" << EOF
# slurm.conf of a private single-node cluster, written by slurm-cluster.sh
ClusterName=taskfarm
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
$(conf_auth)
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
# The PMIx plugin keeps its per-step folders here.
TmpFS=$dir/tmp
$(conf_plugins)
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

    start_watchdog "$owner"
    trap - EXIT
    echo "export SLURM_CONF=$conf"
}

# launch_in HOST NAME CMD - start daemon NAME (its command name, .NODE
# after it for a slurmd) in HOST through the agent, in a session of its own
# and with no descriptor of the caller's, and save its PID: that of the
# daemon, which the agent's programs become in turn (exec). CMD is a shell
# command that ends with exec of the daemon.
launch_in()
{
    local host=$1 name=$2 i pid
    setsid "$hdir/agent" "$host" "$3" < /dev/null >> "$dir/log/$name.out" 2>&1 &
    pid=$!
    echo "$pid" > "$dir/pid.$name"
    # Until the exec: stop signals the saved PID only when it is the daemon.
    for ((i = 0; i < 50; i++)); do
        is_proc "$pid" "${name%%.*}" && return 0
        [ -e "/proc/$pid" ] || start_fail "$name exited ($(why "$name"))"
        sleep 0.1
    done
    start_fail "$name did not start in $host ($(why "$name"))"
}

hosts_start()
{
    local owner=$1 conf i k p node addr states idle node_list
    local -a addrs=()
    if [ ! -f "$hdir/hosts" ] || [ ! -x "$hdir/agent" ]; then
        echo "slurm-cluster: $hdir holds no hosts (scripts/netns-hosts.sh up $hdir N makes them)" >&2
        exit 2
    fi
    hdir=$(cd "$hdir" && pwd)
    nodes=()
    while read -r node _ addr; do
        nodes+=("$node")
        addrs+=("$addr")
    done < "$hdir/hosts"
    if [ ${#nodes[@]} -eq 0 ]; then
        echo "slurm-cluster: $hdir holds no hosts (scripts/netns-hosts.sh up $hdir N makes them)" >&2
        exit 2
    fi
    command -v mount > /dev/null 2>&1 ||
        start_fail "mount not found (Debian: apt-get install mount)"
    in_host "${nodes[0]}" true > /dev/null 2>&1 ||
        start_fail "$hdir/agent cannot run a command in ${nodes[0]}"
    for p in "$hosts_ctld_port" "$hosts_slurmd_port"; do
        if port_taken "$p" "${nodes[0]}"; then
            start_fail "TCP port $p is taken in ${nodes[0]} (another private cluster running?)"
        fi
    done
    prepare
    # stop reads these; the hosts file is copied: HOSTSDIR may go first.
    cp "$hdir/hosts" "$dir/nodes"
    echo "$hdir" > "$dir/hostsdir"

    conf=$dir/slurm.conf
    {
        cat << EOF
# slurm.conf of a private cluster of ${#nodes[@]} nodes in network namespaces,
# written by slurm-cluster.sh start-hosts; client commands work only inside
# the hosts: $hdir/agent ${nodes[0]} 'export SLURM_CONF=$conf; ...'
ClusterName=taskfarm
SlurmctldHost=${nodes[0]}(${addrs[0]})
SlurmctldPort=$hosts_ctld_port
SlurmdPort=$hosts_slurmd_port
$(conf_auth)
# %n: the node's name, so that each slurmd has files of its own.
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.%n.log
# The PMIx plugin keeps its per-step folders here: each node's slurmd sees
# its own DIR/tmp.d/NODE there (a bind mount in its mount namespace).
TmpFS=$dir/tmp
$(conf_plugins)
# A node whose slurmd does not answer for this long is DOWN.
SlurmdTimeout=$hosts_slurmd_timeout_s
# The nodes may declare more CPUs than the machine has.
SlurmdParameters=config_overrides
KillWait=5
EOF
        for ((k = 0; k < ${#nodes[@]}; k++)); do
            echo "NodeName=${nodes[k]} NodeAddr=${addrs[k]} CPUs=$hosts_cpus RealMemory=1000 State=UNKNOWN"
        done
        echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
    } > "$conf"
    # ip netns exec mounts a fresh /sys, without /sys/fs/cgroup, where
    # slurmd's default cgroup/autodetect fails (nothing here uses cgroups).
    echo "CgroupPlugin=cgroup/v1" > "$dir/cgroup.conf"
    export SLURM_CONF=$conf
    for node in "${nodes[@]}"; do
        mkdir -p "$dir/spool/$node" "$dir/tmp.d/$node"
    done
    launch_in "${nodes[0]}" slurmctld "exec slurmctld -D -f $conf"
    for node in "${nodes[@]}"; do
        # ip netns exec gave the agent's shell a mount namespace of its
        # own, whose mounts stay there.
        launch_in "$node" "slurmd.$node" \
            "mount --bind $dir/tmp.d/$node $dir/tmp && exec slurmd -D -N $node -f $conf"
    done
    node_list=$(IFS=,; echo "${nodes[*]}")
    for ((i = 0; ; i++)); do
        states=$(in_host "${nodes[0]}" "sinfo -h -N -n $node_list -o '%N %T'" 2> /dev/null) ||
            states=
        idle=$(printf '%s\n' "$states" | awk '$2 == "idle"' | sort -u | wc -l)
        [ "$idle" -ne ${#nodes[@]} ] || break
        need_alive slurmctld
        for node in "${nodes[@]}"; do
            need_alive "slurmd.$node"
        done
        [ "$i" -lt $((start_timeout_s * 5)) ] ||
            start_fail "not every node is idle after ${start_timeout_s} s (${states//$'\n'/, }; see $dir/log)"
        sleep 0.2
    done

    start_watchdog "$owner"
    trap - EXIT
    echo "export SLURM_CONF=$conf"
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
hdir=
nodes=()
case $cmd in
start)
    [ $# -le 3 ] || usage
    owner=${3:-}
    case $owner in
    *[!0-9]*) usage ;;
    esac
    cluster_start "$owner"
    ;;
start-hosts)
    if [ $# -lt 3 ] || [ $# -gt 4 ]; then
        usage
    fi
    hdir=$3
    owner=${4:-}
    case $owner in
    *[!0-9]*) usage ;;
    esac
    hosts_start "$owner"
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
