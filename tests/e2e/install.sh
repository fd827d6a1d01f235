#!/usr/bin/env bash
# install.sh - `cmake --install` puts the binary, the header, the libraries
# (shared, with its soname and only the public tf_ symbols, and static), a
# pkg-config file and a CMake package that hold no path of the build tree,
# the man page and the bash completion in place; the completion works with
# the installed binary; and a user's program (examples/square.c), built out
# of the tree against the installed copy four ways (pkg-config and
# find_package(taskfarm), shared and static), runs forked and under the
# MPI launcher.
#   tests/e2e/install.sh BUILD_DIR
set -u
build=${1:?usage: install.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"
e2e_init "$build/taskfarm"
src=$(cd "$(dirname "$0")/../.." && pwd)
mpi_init

prefix=$W/prefix
run_cmd 0 "cmake --install $(q "$build") --prefix $(q "$prefix") > /dev/null"
for f in bin/taskfarm include/taskfarm.h share/man/man1/taskfarm.1 \
         share/bash-completion/completions/taskfarm; do
    check "test -f $(q "$prefix/$f")"
done
comp=$prefix/share/bash-completion/completions/taskfarm
check "bash -n $(q "$comp")"
check "test \"\$(bash -c '. \"\$1\"; COMP_WORDS=(\"\$2\" pi --sa); COMP_CWORD=2; _taskfarm; echo \"\${COMPREPLY[*]}\"' - $(q "$comp" "$prefix/bin/taskfarm"))\" = --samples"
run_cmd 0 "$(q "$prefix/bin/taskfarm") --version | grep -q '^taskfarm [0-9]'"

lib=$(find "$prefix" -name libtaskfarm.a -printf '%h\n' | head -n 1)
check "test -n '$lib' && test -f $(q "$lib/libtaskfarm.a")"
so=$lib/libtaskfarm.so
check "test -L $(q "$so") && test -L $(q "$so.0") && test -f \$(readlink -f $(q "$so"))"
check "objdump -p $(q "$so") | grep -q -E 'SONAME +libtaskfarm\\.so\\.0\$'"
# The shared library's ABI is the header's functions: every one of them and
# nothing else (the internal tf__ ones are hidden).
gcc -E -P "$prefix/include/taskfarm.h" | grep -o -E '\btf_[a-z0-9_]+ *\(' |
    tr -d '( ' | sort -u > "$W/declared"
nm -D --defined-only "$so" | awk '{ print $3 }' | sort -u > "$W/exported"
check "test -s $W/declared && cmp $W/declared $W/exported"
# The binary needs no libtaskfarm.so to run.
check "! ldd $(q "$prefix/bin/taskfarm") | grep -q libtaskfarm"

pc=$lib/pkgconfig/taskfarm.pc
check "test -f $(q "$pc") && test -f $(q "$lib/cmake/taskfarm/taskfarmConfig.cmake")"
# No path of this machine in the .pc file: it finds its prefix from its
# own place, and the MPI library by its own .pc name.
check "! grep -n -E '(^|[ =:])/' $(q "$pc")"
check "! grep -r -l -F -e $(q "$build") -e $(q "$src") $(q "$lib/cmake/taskfarm")"

# ---------------------------------------------------------- a user's program
export PKG_CONFIG_PATH=$lib/pkgconfig
cc=(cc -Wall -Werror ${TF_E2E_CFLAGS:-})
# pkg-config, shared: the program finds the library through its rpath.
run_cmd 0 "$(q "${cc[@]}") -o $W/sq-pc-shared $(q "$src/examples/square.c") \$(pkg-config --cflags --libs taskfarm) -Wl,-rpath,$(q "$lib")"
# pkg-config, static: the archive by name, and what it needs (MPI through
# Requires.private).
run_cmd 0 "$(q "${cc[@]}") -o $W/sq-pc-static $(q "$src/examples/square.c") \$(pkg-config --cflags --libs --static taskfarm | sed 's/-ltaskfarm/-l:libtaskfarm.a/')"
check "ldd $W/sq-pc-shared | grep -q 'libtaskfarm.so.0 => $lib/'"
check "! ldd $W/sq-pc-static | grep -q libtaskfarm"

# find_package(taskfarm), shared and static.
mkdir -p "$W/user"
cp "$src/examples/square.c" "$W/user/"
cat > "$W/user/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.18)
project(user C)
find_package(taskfarm 0.2 REQUIRED)
add_executable(square square.c)
target_link_libraries(square PRIVATE taskfarm::taskfarm)
CMAKE
for kind in shared static; do
    use_static=OFF
    [ $kind = static ] && use_static=ON
    run_cmd 0 "CFLAGS=$(q "${TF_E2E_CFLAGS:-}") cmake -S $W/user -B $W/user-$kind -DCMAKE_PREFIX_PATH=$(q "$prefix") -DTASKFARM_USE_STATIC_LIBS=$use_static > $W/user-$kind.log 2>&1 && cmake --build $W/user-$kind >> $W/user-$kind.log 2>&1 && cp $W/user-$kind/square $W/sq-cmake-$kind"
done
check "ldd $W/sq-cmake-shared | grep -q 'libtaskfarm.so.0 => $lib/'"
check "! ldd $W/sq-cmake-static | grep -q libtaskfarm"

# Each runs forked, and under the MPI launcher where the build has MPI.
awk 'BEGIN { for (i = 1; i <= 50; i++) print i * i }' > "$W/squares"
for p in sq-pc-shared sq-pc-static sq-cmake-shared sq-cmake-static; do
    run_cmd 0 "TF_EXAMPLE_WORKERS=2 $W/$p 50 > $W/$p.fork"
    same_file "$W/squares" "$W/$p.fork"
    if mpi_run 0 "$(TF=$W/$p mpirun_cmd "-np 3" 50) > $W/$p.mpi"; then
        same_file "$W/squares" "$W/$p.mpi"
    fi
done
e2e_finish
