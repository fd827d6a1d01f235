#!/usr/bin/env bash
# netns-hosts.sh - several hosts on one machine for the tests: network
# namespaces wired to a bridge, and an rsh agent that lets mpirun start its
# daemons on them without sshd.
#   scripts/netns-hosts.sh up DIR N [OWNER_PID]
#   scripts/netns-hosts.sh down DIR
#
# up makes N+1 network namespaces. One holds a bridge, br0; each of the
# others is a host named tfhostK (K = 1..N), with loopback up and one veth
# interface, eth0, at 10.99.0.K/24, whose peer is a port of br0. The
# addresses exist only inside these namespaces: nothing is added to the
# machine's own network, and no packet can leave it. The namespace names
# carry a random tag, so several sets of hosts can exist at once. In DIR
# (made if missing), up writes
#   DIR/hosts     one line per host: NAME NAMESPACE ADDRESS
#   DIR/hostfile  an Open MPI hostfile, one line per host: NAME slots=2
#   DIR/agent     an rsh agent for `mpirun --mca plm_rsh_agent DIR/agent`:
#                 `DIR/agent HOST CMD...` runs CMD (its words joined with
#                 spaces, as ssh does) with sh -c in HOST's network namespace
#                 and in a UTS namespace of its own whose host name is HOST,
#                 so that gethostname() there gives HOST.
# mpirun itself is started on the first host the same way:
#     DIR/agent tfhost1 'mpirun --hostfile DIR/hostfile --mca plm_rsh_agent
#         DIR/agent --mca oob_tcp_if_include 10.99.0.0/24 ...'
# Before it returns, up checks that tfhost1 reaches every other host. With
# OWNER_PID, a watchdog runs `down DIR` once that process has ended, so a
# test that is killed, even with SIGKILL, leaves no namespace behind.
#
# down kills every process still inside the namespaces, deletes them (their
# interfaces go with them) and removes the files up wrote, and DIR too when
# up made it. It may be called twice, after a failed up and on a DIR that
# holds no hosts.
#
# Exit status of up: 0 when the hosts are ready; 77 (a test's "skipped")
# with one line on stderr when namespaces cannot be made here: not root, ip
# or unshare missing, or the kernel refuses (a container without
# CAP_SYS_ADMIN, no veth or bridge support); 1 when they were made but do
# not work; 2 for bad usage.
set -euo pipefail

subnet=10.99.0
max_hosts=200
slots=2
reach_timeout_s=5

# Debian keeps ip in /usr/sbin, which a non-root PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
umask 022

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

usage()
{
    echo "usage: $0 up DIR N [OWNER_PID] | down DIR" >&2
    exit 2
}

# our_ns NAME - NAME is a namespace name that up makes; down acts on no
# other, whatever DIR/netns says.
our_ns()
{
    [[ $1 =~ ^tf[0-9a-f]{8}-(br|h[0-9]+)$ ]]
}

# is_watchdog PID - PID is a live watchdog of this DIR: a saved PID that a
# new process has taken since is never signalled.
is_watchdog()
{
    local pid=$1
    case $pid in
    '' | *[!0-9]*) return 1 ;;
    esac
    [ "$(cat "/proc/$pid/comm" 2> /dev/null)" = bash ] || return 1
    tr '\0' '\n' < "/proc/$pid/cmdline" 2> /dev/null | grep -q -x -F -e "$dir"
}

hosts_down()
{
    local pid ns pids i
    local -a names=()

    [ -d "$dir" ] || return 0
    pid=$(cat "$dir/pid.watchdog" 2> /dev/null || true)
    if [ "$pid" != "$$" ] && is_watchdog "$pid"; then
        kill -TERM "$pid" 2> /dev/null || true
    fi
    rm -f "$dir/pid.watchdog"
    if [ -f "$dir/netns" ]; then
        while read -r ns; do
            if our_ns "$ns" && [ -e "/run/netns/$ns" ]; then
                names+=("$ns")
            fi
        done < "$dir/netns"
    fi
    # A process may fork while the others die: repeat until none is left.
    for ((i = 0; i < 50 && ${#names[@]} > 0; i++)); do
        pids=
        for ns in "${names[@]}"; do
            pids="$pids $(ip netns pids "$ns" 2> /dev/null | tr '\n' ' ' ||
                true)"
        done
        [ -n "${pids// /}" ] || break
        # shellcheck disable=SC2086 # one word per PID
        kill -KILL $pids 2> /dev/null || true
        sleep 0.1
    done
    for ns in "${names[@]}"; do
        ip netns delete "$ns" 2> /dev/null ||
            echo "netns-hosts: cannot delete namespace $ns" >&2
    done
    rm -f "$dir/netns" "$dir/hosts" "$dir/hostfile" "$dir/agent"
    if [ -e "$dir/made-dir" ]; then
        rm -f "$dir/made-dir"
        rmdir "$dir" 2> /dev/null || true
    fi
}

# up_fail REASON - namespaces cannot be made here: one line on stderr, exit
# 77 (the EXIT trap of hosts_up removes what was made).
up_fail()
{
    echo "netns-hosts: $*" >&2
    exit 77
}

# try CMD... - run CMD; when it fails, up_fail with its first error line.
try()
{
    local msg
    if ! msg=$("$@" 2>&1); then
        up_fail "$* failed: $(printf '%s\n' "$msg" | head -n 1)"
    fi
}

# add_ns NAME - make namespace NAME with loopback up, recorded first in
# DIR/netns so that down finds it whatever happens next.
add_ns()
{
    echo "$1" >> "$dir/netns"
    try ip netns add "$1"
    try ip -n "$1" link set lo up
}

write_agent()
{
    local k ipcmd unsharecmd
    ipcmd=$(command -v ip)
    unsharecmd=$(command -v unshare)
    {
        cat << 'EOF'
#!/bin/sh
# agent - Open MPI's rsh agent for the hosts that scripts/netns-hosts.sh
# made (mpirun --mca plm_rsh_agent THIS_FILE): `agent HOST CMD...` runs CMD,
# its words joined with spaces as ssh does, with sh -c in HOST's network
# namespace and in a UTS namespace of its own whose host name is HOST.
case ${1:-} in
EOF
        for ((k = 1; k <= n; k++)); do
            printf 'tfhost%d) ns=%s-h%d ;;\n' "$k" "$tag" "$k"
        done
        cat << 'EOF'
*)
    echo "agent: no such host: '${1:-}'" >&2
    exit 255
    ;;
esac
EOF
        printf 'ip=%s\nunshare=%s\n' "$ipcmd" "$unsharecmd"
        cat << 'EOF'
host=$1
shift
exec "$ip" netns exec "$ns" "$unshare" --uts -- \
    /bin/sh -c 'hostname "$0" || exit 255; exec /bin/sh -c "$*"' "$host" "$@"
EOF
    } > "$dir/agent"
    chmod 755 "$dir/agent"
}

# reachable K - from tfhost1, 10.99.0.K answers: a TCP connection to a
# port where nothing listens is refused at once.
reachable()
{
    local msg
    msg=$(timeout "$reach_timeout_s" "$dir/agent" tfhost1 \
        "bash -c 'exec 3<> /dev/tcp/$subnet.$1/9'" 2>&1 < /dev/null) &&
        return 0
    case $msg in
    *refused*) return 0 ;;
    esac
    echo "netns-hosts: tfhost1 cannot reach tfhost$1 at $subnet.$1:" \
        "${msg:-no answer in $reach_timeout_s s}" >&2
    return 1
}

hosts_up()
{
    local owner=$1 br k ns msg
    [ "$(id -u)" -eq 0 ] || up_fail "not root: network namespaces need root"
    command -v ip > /dev/null || up_fail "ip not found (install iproute2)"
    command -v unshare > /dev/null ||
        up_fail "unshare not found (install util-linux)"
    if [ -e "$dir/netns" ]; then
        echo "netns-hosts: $dir already holds hosts: run down first" >&2
        exit 2
    fi
    if [ ! -d "$dir" ]; then
        mkdir -p "$dir"
        : > "$dir/made-dir"
    fi
    dir=$(cd "$dir" && pwd)
    trap hosts_down EXIT
    tag=tf$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
    br=$tag-br
    add_ns "$br"
    try ip -n "$br" link add br0 type bridge
    try ip -n "$br" link set br0 up
    for ((k = 1; k <= n; k++)); do
        ns=$tag-h$k
        add_ns "$ns"
        try ip -n "$ns" link add eth0 type veth peer name "h$k" netns "$br"
        try ip -n "$br" link set "h$k" master br0
        try ip -n "$br" link set "h$k" up
        try ip -n "$ns" addr add "$subnet.$k/24" dev eth0
        try ip -n "$ns" link set eth0 up
    done
    write_agent
    for ((k = 1; k <= n; k++)); do
        printf 'tfhost%d %s-h%d %s.%d\n' "$k" "$tag" "$k" "$subnet" "$k"
    done > "$dir/hosts"
    for ((k = 1; k <= n; k++)); do
        printf 'tfhost%d slots=%d\n' "$k" "$slots"
    done > "$dir/hostfile"
    # shellcheck disable=SC2016 # expanded by the agent's sh
    if ! msg=$("$dir/agent" tfhost1 'test "$(hostname)" = tfhost1' 2>&1); then
        up_fail "unshare --uts with a host name of its own failed:" \
            "$(printf '%s\n' "${msg:-the host name did not change}" |
                head -n 1)"
    fi
    for ((k = 2; k <= n; k++)); do
        reachable "$k" || exit 1
    done
    if [ -n "$owner" ]; then
        # The watchdog's command line names DIR, which down checks before
        # it signals the saved PID.
        # shellcheck disable=SC2016 # expanded by that bash
        setsid bash -c 'while kill -0 "$1" 2> /dev/null && [ -e "$2/netns" ]; do sleep 1; done
                        exec bash "$3" down "$2"' \
            netns-hosts-watchdog "$owner" "$dir" "$self" \
            < /dev/null > /dev/null 2>&1 &
        echo $! > "$dir/pid.watchdog"
    fi
    trap - EXIT
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
case $cmd in
up)
    if [ $# -lt 3 ] || [ $# -gt 4 ]; then
        usage
    fi
    n=$3
    owner=${4:-}
    if ! [[ $n =~ ^[1-9][0-9]*$ ]] || [ "$n" -gt "$max_hosts" ]; then
        usage
    fi
    [[ $owner =~ ^[0-9]*$ ]] || usage
    hosts_up "$owner"
    ;;
down)
    [ $# -eq 2 ] || usage
    if [ -d "$dir" ]; then
        dir=$(cd "$dir" && pwd)
        hosts_down
    fi
    ;;
*) usage ;;
esac
