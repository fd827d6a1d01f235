# aarch64-linux-gnu.cmake - a toolchain file: builds for 64-bit Arm with
# Debian's cross compiler and runs the tests under qemu-user.
#   cmake -S . -B build-aarch64 \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#         -DTASKFARM_MPI=OFF -DBUILD_TESTING=ON
# It needs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user, and
# for the tests libcmocka-dev:arm64 (scripts/install-deps.sh --test). The
# compiler finds its C library in /usr/aarch64-linux-gnu and every other
# arm64 library in Debian's multiarch directories (/usr/lib/aarch64-linux-gnu),
# where CMake looks too, as Debian's own cross builds do. The optional parts
# are built where their arm64 packages are installed; the host's MPI is not
# one (TASKFARM_MPI=AUTO finds that it cannot link it), so the MPI
# transport is left out: say so with -DTASKFARM_MPI=OFF.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# pkg-config reads the arm64 packages' .pc files, not the host's.
set(ENV{PKG_CONFIG_LIBDIR}
    /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)

# What the build runs (ctest's tests, the wrapper of the end-to-end scripts)
# goes through qemu-aarch64, named here: a container has no binfmt_misc to
# do it by itself. A program's loader and C library must come from one
# glibc. Where Debian's libc6:arm64 is installed (libcmocka0:arm64 brings
# it), its loader /lib/ld-linux-aarch64.so.1 finds its own libc.so.6 in
# /lib/aarch64-linux-gnu, so qemu's prefix is /; with /usr/aarch64-linux-gnu
# the loader would be the cross compiler's copy and libc.so.6 still
# Debian's. Without libc6:arm64 the cross copy is the only one. Tasks run
# /bin/sh, a native program, which the kernel runs directly.
find_program(TF_QEMU_AARCH64 qemu-aarch64)
if(NOT TF_QEMU_AARCH64)
  if(NOT CMAKE_IN_TRY_COMPILE)
    message(WARNING "qemu-aarch64 not found (Debian: qemu-user): the "
                    "programs built cannot be run here, nor the tests")
  endif()
elseif(EXISTS /lib/ld-linux-aarch64.so.1)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${TF_QEMU_AARCH64} -L /)
else()
  set(CMAKE_CROSSCOMPILING_EMULATOR ${TF_QEMU_AARCH64}
      -L /usr/aarch64-linux-gnu)
endif()
