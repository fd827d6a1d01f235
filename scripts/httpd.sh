#!/usr/bin/env bash
# httpd.sh - a private nginx on 127.0.0.1 for the tests and benchmarks that
# crawl a web site (tests/e2e/linkcheck.sh, bench/linkcheck.sh).
#   scripts/httpd.sh start DIR ROOT PORT [CONF]
#   scripts/httpd.sh stop DIR
#
# start writes DIR/nginx.conf and starts nginx with it, serving the folder
# ROOT at http://127.0.0.1:PORT/ and nowhere else. Everything nginx writes
# stays in DIR (made if missing): its pid file (DIR/nginx.pid), its error
# log (DIR/error.log) and its temporary folders (DIR/tmp). It returns once
# nginx listens, or exits 1 and shows the error log when it does not. CONF,
# when given, is a file of server-level directives included in the server
# block as they are, e.g. the fixed locations of a test site:
#     location = /r1   { return 302 /r2; }
#     location = /boom { return 500; }
#     location = /h    { if ($request_method = HEAD) { return 405; }
#                        return 200 "<html></html>\n"; }
# (a location that adds headers of its own must repeat the LinkChecker one:
# nginx inherits add_header only into blocks that have none.)
#
# Every response carries the header "LinkChecker: allow", without which
# LinkChecker keeps itself to 10 requests a second whatever its
# maxrequestspersecond says. Access logging is off and connections are kept
# alive, so that the server is not what a benchmark measures.
#
# stop sends nginx SIGTERM and waits until it is gone (SIGKILL after 10 s).
# It may be called twice, or for a DIR where start failed.
#
# With HTTPD_OWNER=PID, a watchdog stops the server once that process has
# ended, so a test that is killed, even with SIGKILL, leaves no nginx
# behind (stop ends the watchdog too).
#
# Env: HTTPD_WORKERS (nginx worker processes, default 2), NGINX (the
# binary, default nginx from PATH or /usr/sbin/nginx), HTTPD_OWNER.
# Exit status: 0 done; 1 nginx would not start or stop; 2 bad usage;
# 77 (a test's "skipped") when there is no nginx.
set -euo pipefail

usage()
{
    echo "usage: httpd.sh start DIR ROOT PORT [CONF] | httpd.sh stop DIR" >&2
    exit 2
}

find_nginx()
{
    if [ -n "${NGINX:-}" ]; then
        echo "$NGINX"
    elif command -v nginx >/dev/null 2>&1; then
        command -v nginx
    elif [ -x /usr/sbin/nginx ]; then
        echo /usr/sbin/nginx
    else
        echo "httpd.sh: nginx not found (install it: scripts/install-deps.sh --test)" >&2
        exit 77
    fi
}

# alive PID: the process exists and is not a zombie (where nothing reaps
# the daemonized master, it stays a zombie after it has exited).
alive()
{
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [ "$state" != Z ]
}

abspath()
{
    (CDPATH='' cd -- "$1" && pwd)
}

start()
{
    local dir=$1 root=$2 port=$3 conf=${4:-} nginx user="" i
    case $port in
    '' | *[!0-9]*) echo "httpd.sh: PORT must be a number: $port" >&2; exit 2 ;;
    esac
    if [ ! -d "$root" ]; then
        echo "httpd.sh: ROOT is not a folder: $root" >&2
        exit 2
    fi
    if [ -n "$conf" ] && [ ! -f "$conf" ]; then
        echo "httpd.sh: CONF is not a file: $conf" >&2
        exit 2
    fi
    nginx=$(find_nginx)
    mkdir -p "$dir/tmp"
    dir=$(abspath "$dir")
    root=$(abspath "$root")
    if [ -n "$conf" ]; then
        conf=$(abspath "$(dirname -- "$conf")")/$(basename -- "$conf")
    fi
    # As root, nginx's workers would run as nobody, who may not read a
    # scratch folder made by mktemp (mode 0700): they run as the caller.
    if [ "$(id -u)" -eq 0 ]; then
        user="user $(id -un) $(id -gn);"
    fi
    cat >"$dir/nginx.conf" <<EOF
# written by scripts/httpd.sh: a private server for ROOT $root
$user
worker_processes ${HTTPD_WORKERS:-2};
worker_rlimit_nofile 8192;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
daemon on;
events {
    worker_connections 4096;
}
http {
    types {
        text/html html htm;
        application/xhtml+xml xhtml;
        text/css css;
        text/plain txt;
        application/javascript js;
        image/png png;
        image/gif gif;
        image/jpeg jpg jpeg;
    }
    default_type application/octet-stream;
    access_log off;
    log_not_found off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    server_tokens off;
    client_body_temp_path $dir/tmp/client_body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen 127.0.0.1:$port reuseport;
        server_name 127.0.0.1;
        root $root;
        index index.html;
        add_header LinkChecker allow always;
        ${conf:+include $conf;}
    }
}
EOF
    rm -f "$dir/nginx.pid"
    : >"$dir/error.log"
    # nginx binds its socket before it daemonizes, so once this returns the
    # server is listening.
    if ! "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" \
        </dev/null >"$dir/start.out" 2>&1; then
        echo "httpd.sh: nginx did not start on 127.0.0.1:$port:" >&2
        sed 's/^/  /' "$dir/start.out" "$dir/error.log" >&2
        exit 1
    fi
    for ((i = 0; i < 100; i++)); do
        [ -s "$dir/nginx.pid" ] && break
        sleep 0.05
    done
    if [ ! -s "$dir/nginx.pid" ]; then
        echo "httpd.sh: nginx wrote no pid file $dir/nginx.pid" >&2
        exit 1
    fi
    if [ -n "${HTTPD_OWNER:-}" ]; then
        case $HTTPD_OWNER in
        *[!0-9]*) echo "httpd.sh: HTTPD_OWNER is not a pid: $HTTPD_OWNER" >&2
                  stop "$dir"; exit 2 ;;
        esac
        # Detached from the caller's output, so that nothing waits on it.
        (
            trap - EXIT INT TERM
            while kill -0 "$HTTPD_OWNER" 2>/dev/null; do
                sleep 1
            done
            stop "$dir"
            rm -f "$dir/watchdog.pid"
        ) </dev/null >/dev/null 2>&1 &
        echo $! >"$dir/watchdog.pid"
    fi
}

stop()
{
    local dir=$1 pid i
    if [ -s "$dir/watchdog.pid" ] && [ "$(cat "$dir/watchdog.pid")" != "${BASHPID:-}" ]; then
        kill "$(cat "$dir/watchdog.pid")" 2>/dev/null || true
        rm -f "$dir/watchdog.pid"
    fi
    [ -s "$dir/nginx.pid" ] || return 0
    pid=$(cat "$dir/nginx.pid")
    case $pid in
    '' | *[!0-9]*) return 0 ;;
    esac
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 200; i++)); do
            alive "$pid" || break
            sleep 0.05
        done
        if alive "$pid"; then
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.1
        fi
    fi
    if alive "$pid"; then
        echo "httpd.sh: nginx (pid $pid) would not stop" >&2
        exit 1
    fi
    rm -f "$dir/nginx.pid"
}

case ${1:-} in
start)
    [ $# -eq 4 ] || [ $# -eq 5 ] || usage
    start "$2" "$3" "$4" "${5:-}"
    ;;
stop)
    [ $# -eq 2 ] || usage
    stop "$2"
    ;;
*) usage ;;
esac
