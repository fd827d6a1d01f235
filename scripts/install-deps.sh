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
# and util-linux (unshare) for the hosts of scripts/netns-hosts.sh.
test_pkgs=(python3 parallel time procps python3-numpy python3-mpi4py
           clang libclang-rt-dev valgrind slurm-wlm munge iproute2 util-linux)

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
