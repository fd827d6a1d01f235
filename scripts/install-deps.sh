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
# MPICH beside Open MPI: taskfarm builds against either, and the mpich
# build of scripts/test.sh proves it (mpicc.mpich, mpiexec.mpich). Open MPI
# stays the plain mpicc and mpirun: Debian's alternatives (mpi, mpirun)
# rank it first (priority 50, MPICH 40), so installing MPICH changes
# neither.
build_pkgs+=(mpich libmpich-dev)
# clang and libclang-rt-dev: libFuzzer and the sanitizer runtimes (clang
# only recommends them, and recommends are not installed here); valgrind
# for the valgrind build of scripts/test.sh; slurm-wlm and munge for the
# private Slurm cluster of tests/e2e/slurm.sh (its PMIx plugin loads the
# unversioned libpmix.so, which libopenmpi-dev brings); iproute2 (ip netns)
# and util-linux (unshare) for the hosts of scripts/netns-hosts.sh; nginx
# for the private web server (scripts/httpd.sh) that tests/e2e/linkcheck.sh
# and bench/linkcheck.sh crawl, and linkchecker, the peer the linkcheck
# benchmark compares against (in Debian 12, nginx is the plain server and
# nginx-light only adds the echo module to it); openssl, which makes the
# self-signed certificate of tests/e2e/linkcheck-web.sh; groff-base, whose
# groff tests/e2e/help.sh renders the man page with, to find its warnings;
# chromium, the headless browser tests/e2e/report.sh opens the report
# pages in (and scripts/report-sample.sh takes the screenshot with), and
# fonts-dejavu-core, the fonts those pages ask for, so that screenshots
# look the same everywhere.
# python3.11-doc: Python's manual (530 pages of HTML, a 13 MB download),
# the real site that tests/e2e/linkcheck-docs.sh and bench/linkcheck.sh
# crawl: one that nobody here wrote, with broken links and anchors of its
# own.
test_pkgs=(python3 parallel time procps python3-numpy python3-mpi4py
           clang libclang-rt-dev valgrind slurm-wlm munge iproute2 util-linux
           nginx openssl linkchecker groff-base chromium fonts-dejavu-core
           python3.11-doc)
# The aarch64 build of scripts/test.sh (cmake/aarch64-linux-gnu.cmake):
# Debian's cross compiler and its C library (only recommended by the
# compiler), qemu-user to run what it builds, and cmocka for arm64 from the
# archive's multiarch packages, which needs arm64 added to dpkg's
# architectures (below, once).
test_pkgs+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
            libcmocka-dev:arm64)
# scripts/package.sh: dpkg-dev, build-essential and debhelper build the
# Debian packages of debian/ (mpi-default-dev is one of their build
# dependencies, the rest are above), lintian checks them, and lmod loads
# the modulefile of packaging/lmod/.
test_pkgs+=(dpkg-dev build-essential debhelper mpi-default-dev lintian lmod)

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
# A package of another architecture (name:arch) needs that architecture
# known to dpkg before apt-get update reads its package lists; adding it is
# needed once, and never for the native one.
for p in "${missing[@]}"; do
    case $p in
    *:*)
        arch=${p##*:}
        if [ "$arch" != "$(dpkg --print-architecture)" ] &&
            ! dpkg --print-foreign-architectures | grep -q -x "$arch"; then
            dpkg --add-architecture "$arch"
        fi
        ;;
    esac
done
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
