#!/usr/bin/env bash
# install-deps.sh - install the Debian packages taskfarm needs (run as root).
#   scripts/install-deps.sh          what building and running need
#   scripts/install-deps.sh --test   also what the test suite and benchmarks use
# Packages already installed are left alone; apt-get runs only when something
# is missing.
set -euo pipefail

build_pkgs=(gcc make cmake pkg-config openmpi-bin libopenmpi-dev
            libcmocka-dev libcurl4-openssl-dev libopenblas-dev liblapacke-dev
            libjansson-dev)
# clang and libclang-rt-dev: libFuzzer and the sanitizer runtimes (clang
# only recommends them, and recommends are not installed here); valgrind
# for the valgrind build of scripts/test.sh; slurm-wlm and munge for the
# private Slurm cluster of tests/e2e/slurm.sh (its PMIx plugin loads the
# unversioned libpmix.so, which libopenmpi-dev brings); iproute2 (ip netns)
# and util-linux (unshare) for the hosts of scripts/netns-hosts.sh; nginx
# for the private web server (scripts/httpd.sh) that tests/e2e/linkcheck.sh
# and bench/linkcheck.sh crawl, and linkchecker, the peer the linkcheck
# benchmark compares against (in Debian 12, nginx is the plain server and
# nginx-light only adds the echo module to it); groff-base, whose groff
# tests/e2e/help.sh renders the man page with, to find its warnings;
# chromium, the headless browser tests/e2e/report.sh opens the report
# pages in (and scripts/report-sample.sh takes the screenshot with), and
# fonts-dejavu-core, the fonts those pages ask for, so that screenshots
# look the same everywhere.
test_pkgs=(python3 parallel time procps python3-numpy python3-mpi4py
           clang libclang-rt-dev valgrind slurm-wlm munge iproute2 util-linux
           nginx linkchecker groff-base chromium fonts-dejavu-core)

want=("${build_pkgs[@]}")
if [ "${1:-}" = "--test" ]; then
    want+=("${test_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#want[@]} packages present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}; run as root to install them" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# Installing nginx may start (and enable) the system's nginx on port 80. No
# test uses it, each starts a private one (scripts/httpd.sh): stop it, with
# or without an init system, and keep it from starting at boot.
for p in "${missing[@]}"; do
    [ "$p" = nginx ] || continue
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        systemctl disable --now nginx >/dev/null 2>&1 || true
    else
        if [ -x /etc/init.d/nginx ]; then
            /etc/init.d/nginx stop >/dev/null 2>&1 || true
        fi
        if command -v update-rc.d >/dev/null 2>&1; then
            update-rc.d nginx disable >/dev/null 2>&1 || true
        fi
    fi
    # Whatever is left of it (no init script, or one that did not stop it).
    if [ -s /run/nginx.pid ]; then
        pid=$(cat /run/nginx.pid)
        if kill "$pid" 2>/dev/null; then
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
        fi
    fi
done
