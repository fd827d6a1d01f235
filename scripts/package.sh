#!/usr/bin/env bash
# package.sh - builds and checks what packagers use (docs/packaging.md):
#   1. the versions of debian/changelog, the Spack recipe, the easyconfig,
#      the Lmod modulefile and the man page are the one of
#      include/taskfarm.h, and the recipes ask for the same options
#      (packaging/check-recipes.py);
#   2. the Debian packages taskfarm, libtaskfarm0 and libtaskfarm-dev,
#      built with dpkg-buildpackage from a copy of the working tree (what
#      git would commit: tracked and new files, without the ignored build
#      directories), pass lintian without errors, install, run the demo
#      from /usr/bin, under mpirun too, and build programs with pkg-config
#      and CMake's find_package(taskfarm); then they are purged again;
#   3. the easyconfig's configure line builds, `cmake --install` puts it
#      in a prefix, and Lmod loads packaging/lmod/taskfarm/VERSION.lua for
#      that prefix: taskfarm --version, man, pkg-config and a program built
#      with the module's paths work, and unloading takes them away.
# Every check prints one line: OK or ERR, then the command, which can be
# pasted into a shell (with TF_PACKAGE_KEEP=1 the scratch directory the
# commands name is kept). lintian's warnings follow its line.
#   scripts/package.sh       (as root: it installs and purges packages)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
start=$SECONDS

if [ "$(id -u)" -ne 0 ]; then
    echo "package.sh: run as root: it installs and purges Debian packages" >&2
    exit 2
fi
"$top/scripts/install-deps.sh" --test || exit 3

W=$(mktemp -d /tmp/tf-package.XXXXXX) || exit 3
pkgs=(taskfarm libtaskfarm0 libtaskfarm-dev)
installed_by_us=
lintian_pid=
cleanup()
{
    if [ -n "$lintian_pid" ]; then
        kill "$lintian_pid" 2>/dev/null
        wait "$lintian_pid" 2>/dev/null
    fi
    if [ -n "$installed_by_us" ]; then
        apt-get purge -y -qq -o DPkg::Lock::Timeout=600 "${pkgs[@]}" \
            > /dev/null 2>&1
    fi
    if [ -n "${TF_PACKAGE_KEEP:-}" ]; then
        echo "# kept $W"
    else
        rm -rf "$W"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
unset PKG_CONFIG_PATH CMAKE_PREFIX_PATH

# ok CMD / err CMD [DETAIL...] - record and print one result, as the
# end-to-end tests do (tests/e2e/lib.sh); the details follow on lines that
# start with '#'.
. "$top/tests/e2e/lib.sh"
ok()
{
    e2e_ok "$@"
}
err()
{
    e2e_err "$@"
}
# check CMD - runs the shell command CMD; OK when it exits 0, else ERR
# with the end of its output.
check()
{
    local out
    if out=$(bash -c "$1" 2>&1); then
        ok "$1"
        return 0
    fi
    err "$1" "$(printf '%s\n' "$out" | tail -n 20)"
    return 1
}
finish()
{
    echo "package.sh: $E2E_PASSED passed, $E2E_FAILED failed, $((SECONDS - start)) s"
    [ "$E2E_FAILED" -eq 0 ]
    exit
}

# ---------------------------------------------------------------- versions
ver=$(sed -n 's/^#define TF_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' \
      "$top/include/taskfarm.h" | paste -sd.)
echo "# taskfarm $ver (include/taskfarm.h); scratch: $W"
# What examples/square.c prints for 5.
squares='1 4 9 16 25 '
check "test \"\$(dpkg-parsechangelog -l $top/debian/changelog -S Version)\" = $ver"
check "python3 $top/packaging/check-recipes.py $ver"
check "grep -qx 'local version = \"$ver\"' $top/packaging/lmod/taskfarm/$ver.lua"
check "grep -q '^\.TH TASKFARM 1 .* \"taskfarm $ver\"' $top/docs/taskfarm.1"

# ---------------------------------------------------------------- Debian
src=$W/src/taskfarm-$ver
mkdir -p "$src"
if git -C "$top" rev-parse --git-dir > /dev/null 2>&1; then
    # Tracked and untracked files that are not ignored, less those deleted.
    git -C "$top" ls-files -z -co --exclude-standard |
        while IFS= read -r -d '' f; do
            [ -e "$top/$f" ] || [ -L "$top/$f" ] && printf '%s\0' "$f"
        done | tar -C "$top" --null -T - -cf - | tar -C "$src" -xf -
else
    tar -C "$top" --exclude=./.git --exclude=./build --exclude='./build-*' \
        -cf - . | tar -C "$src" -xf -
fi
check "cd $src && dpkg-checkbuilddeps" || finish
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}"
export DEB_BUILD_OPTIONS
if ! check "cd $src && dpkg-buildpackage --no-sign > $W/build.log 2>&1"; then
    tail -n 40 "$W/build.log" | sed 's/^/#    /'
    finish
fi
# dpkg-gensymbols fails the build on a symbol gone from libtaskfarm.so.0
# (an ABI break needs a new soname) and warns of new ones, which
# debian/libtaskfarm0.symbols should list with the version that adds them.
if grep -q 'dpkg-gensymbols: warning' "$W/build.log"; then
    err "grep -A 30 'dpkg-gensymbols: warning' $W/build.log" \
        "$(grep -A 30 'dpkg-gensymbols: warning' "$W/build.log")"
fi
debs=()
for p in "${pkgs[@]}"; do
    debs+=("$W/src/${p}_${ver}_${arch}.deb")
done

# lintian takes half a minute: it runs while the packages are tried out.
lintian --fail-on error --tag-display-limit 0 \
    "$W/src/taskfarm_${ver}_${arch}.changes" > "$W/lintian.txt" 2>&1 &
lintian_pid=$!

before=$(dpkg-query -W -f='${db:Status-Abbrev}${Package}\n' "${pkgs[@]}" \
         2>/dev/null | grep '^ii' || true)
if [ -n "$before" ]; then
    err "dpkg-query -W ${pkgs[*]}" "installed already: purge them first" \
        "$before"
else
    installed_by_us=1
    check "apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends ${debs[*]} > $W/apt.log 2>&1"
fi
if [ -n "$installed_by_us" ]; then
    # Every part is built (debian/rules asks for each): no job is left out,
    # and there is an MPI library.
    check "/usr/bin/taskfarm --version > $W/version && grep -Eq '^taskfarm $ver([^0-9.]|\$)' $W/version && ! grep -q '^not built' $W/version && grep '^MPI: ' $W/version | grep -vq '^MPI: none'"
    # The command has the library linked in.
    check "! ldd /usr/bin/taskfarm | grep -q libtaskfarm"
    # The demo (scripts/demo.sh), from the package's copy of its task file.
    mkdir -p "$W/demo"
    check "cd $W/demo && /usr/bin/taskfarm run --joblog $W/demo/joblog /usr/share/doc/taskfarm/examples/demo-tasks.txt > $W/demo/out && grep -q 'sum of 1..100 = 5050' $W/demo/out"
    check "printf 'echo a\necho b\n' | /usr/bin/taskfarm -j 2 run - > $W/pipe.out && printf 'a\nb\n' | cmp - $W/pipe.out"
    if mpirun --version 2>&1 | grep -q 'Open MPI'; then
        mpirun=(mpirun --oversubscribe)
    else
        mpirun=(mpirun)
    fi
    check "printf 'echo a\necho b\n' | ${mpirun[*]} -np 3 /usr/bin/taskfarm run - > $W/mpi.out && printf 'a\nb\n' | cmp - $W/mpi.out"
    # BLAS and LAPACKE through Debian's alternatives.
    check "/usr/bin/taskfarm -j 2 linalg gemm --n 128 --check | grep -q 'max relative error'"
    check "test \"\$(man -w taskfarm)\" = /usr/share/man/man1/taskfarm.1.gz"
    check "test \"\$(bash -c '. /usr/share/bash-completion/completions/taskfarm; COMP_WORDS=(taskfarm pi --sa); COMP_CWORD=2; _taskfarm; echo \"\${COMPREPLY[*]}\"')\" = --samples"

    # A program of libtaskfarm-dev's examples, built against the packages.
    ex=/usr/share/doc/libtaskfarm-dev/examples/square.c
    check "test \"\$(pkg-config --modversion taskfarm)\" = $ver"
    check "cc -Wall -Werror -o $W/square-pc $ex \$(pkg-config --cflags --libs taskfarm)"
    check "test \"\$(TF_EXAMPLE_WORKERS=2 $W/square-pc 5 | tr '\n' ' ')\" = '$squares'"
    check "dpkg -S \"\$(readlink -f \"\$(ldd $W/square-pc | awk '/libtaskfarm.so.0/ { print \$3 }')\")\" | grep -q '^libtaskfarm0:'"
    check "test \"\$(${mpirun[*]} -np 3 $W/square-pc 5 | tr '\n' ' ')\" = '$squares'"
    mkdir -p "$W/cmake"
    cp "$ex" "$W/cmake/square.c"
    cat > "$W/cmake/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.18)
project(square LANGUAGES C)
find_package(taskfarm $ver REQUIRED)
add_executable(square square.c)
target_link_libraries(square PRIVATE taskfarm::taskfarm)
EOF
    check "cmake -S $W/cmake -B $W/cmake/shared > /dev/null && cmake --build $W/cmake/shared > /dev/null && ldd $W/cmake/shared/square | grep -q libtaskfarm.so.0"
    check "test \"\$(TF_EXAMPLE_WORKERS=2 $W/cmake/shared/square 5 | tr '\n' ' ')\" = '$squares'"
    check "cmake -S $W/cmake -B $W/cmake/static -DTASKFARM_USE_STATIC_LIBS=ON > /dev/null && cmake --build $W/cmake/static > /dev/null && ! ldd $W/cmake/static/square | grep -q libtaskfarm"
    check "test \"\$(TF_EXAMPLE_WORKERS=2 $W/cmake/static/square 5 | tr '\n' ' ')\" = '$squares'"

    check "apt-get purge -y -qq -o DPkg::Lock::Timeout=600 ${pkgs[*]} > $W/purge.log 2>&1"
    installed_by_us=
    check "! dpkg-query -W -f='\${db:Status-Abbrev}\n' ${pkgs[*]} 2>/dev/null | grep -q '^ii' && test ! -e /usr/bin/taskfarm"
fi

# ---------------------------------------------------------------- Lmod
# The easyconfig's configure line, with the build type EasyBuild passes.
configopts=$(python3 "$top/packaging/check-recipes.py" "$ver" --configopts)
prefix=$W/apps/taskfarm/$ver
if check "cmake -S $src -B $W/eb-build -DCMAKE_BUILD_TYPE=Release $configopts > $W/eb-build.log 2>&1 && cmake --build $W/eb-build -j $(nproc) >> $W/eb-build.log 2>&1 && cmake --install $W/eb-build --prefix $prefix >> $W/eb-build.log 2>&1"; then
    # The easyconfig's sanity_check_paths.
    while read -r -a alts; do
        cmd=""
        for a in "${alts[@]}"; do
            cmd="$cmd${cmd:+ || }test -e $prefix/$a"
        done
        check "$cmd"
    done < <(python3 "$top/packaging/check-recipes.py" "$ver" --sanity)

    mkdir -p "$W/modules/taskfarm"
    sed "s|^local root = .*|local root = \"$prefix\"|" \
        "$top/packaging/lmod/taskfarm/$ver.lua" \
        > "$W/modules/taskfarm/$ver.lua"
    check "grep -qx 'local root = \"$prefix\"' $W/modules/taskfarm/$ver.lua"
    lmod_init=/usr/share/lmod/lmod/init/bash
    load=". $lmod_init && module use $W/modules && module load taskfarm/$ver"
    check "$load && test \"\$(command -v taskfarm)\" = $prefix/bin/taskfarm && test \"\$TASKFARM_ROOT\" = $prefix"
    check "$load && taskfarm --version > $W/version-mod && grep -Eq '^taskfarm $ver([^0-9.]|\$)' $W/version-mod && ! grep -q '^not built' $W/version-mod && grep '^MPI: ' $W/version-mod | grep -vq '^MPI: none'"
    check "$load && test \"\$(man -w taskfarm)\" = $prefix/share/man/man1/taskfarm.1"
    check "$load && test \"\$(pkg-config --modversion taskfarm)\" = $ver"
    # CPATH, LIBRARY_PATH and LD_LIBRARY_PATH: no flags needed.
    check "$load && cc -o $W/square-mod $src/examples/square.c -ltaskfarm && test \"\$(TF_EXAMPLE_WORKERS=2 $W/square-mod 5 | tr '\n' ' ')\" = '$squares'"
    check "$load && module unload taskfarm && ! command -v taskfarm && test -z \"\${TASKFARM_ROOT:-}\""
else
    tail -n 40 "$W/eb-build.log" | sed 's/^/#    /'
fi

# ---------------------------------------------------------------- lintian
wait "$lintian_pid"
lrc=$?
lintian_pid=
tags=$(grep -E '^[EW]: ' "$W/lintian.txt" || true)
if [ "$lrc" -eq 0 ]; then
    ok "lintian --fail-on error $W/src/taskfarm_${ver}_${arch}.changes"
    [ -n "$tags" ] && printf '%s\n' "$tags" | sed 's/^/#    /'
else
    err "lintian --fail-on error $W/src/taskfarm_${ver}_${arch}.changes" \
        "$(grep -v 'running with root privileges' "$W/lintian.txt")"
fi
finish
