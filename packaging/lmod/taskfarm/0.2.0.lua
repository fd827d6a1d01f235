-- taskfarm/0.2.0.lua - Lmod modulefile for taskfarm installed in a prefix:
--   cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTASKFARM_MPI=ON ...
--   cmake --build build && cmake --install build --prefix PREFIX
-- Copy this file to DIR/taskfarm/0.2.0.lua, where DIR is on MODULEPATH
-- (`module use DIR`), and set `root` below to PREFIX. scripts/package.sh
-- does both in a temporary directory and loads it.
--
-- taskfarm runs with the MPI library it was built with. Where MPI comes from
-- a module, place this file in that MPI's level of the module hierarchy, or
-- uncomment the depends_on line with the module it was built against.

local root = "/opt/taskfarm/0.2.0"
local version = "0.2.0"

-- GNUInstallDirs puts the libraries in lib64 on some systems.
local libdir = pathJoin(root, "lib")
if isDir(pathJoin(root, "lib64")) then
    libdir = pathJoin(root, "lib64")
end

whatis("Name: taskfarm")
whatis("Version: " .. version)
whatis("Category: tools")
whatis("Description: runs many independent tasks over local cores or the "
       .. "ranks of an MPI job; libtaskfarm, a pool of workers for C")

help([[
taskfarm ]] .. version .. [[ runs thousands to millions of independent tasks
(shell commands, or the built-in jobs pi, linalg and linkcheck) over the
cores of a node or the ranks of an MPI job:

  taskfarm run tasks.txt                  one forked worker per core
  mpirun -np 65 taskfarm run tasks.txt    rank 0 the master, 64 workers
  srun --mpi=pmix taskfarm run tasks.txt  inside a Slurm allocation

`taskfarm --version` names the jobs and the MPI library of this build, and
`man taskfarm` documents every option.

C programs use libtaskfarm through pkg-config or CMake:
  cc -o prog prog.c $(pkg-config --cflags --libs taskfarm)
  find_package(taskfarm) and target_link_libraries(prog taskfarm::taskfarm)

Bash completion:
  source $TASKFARM_ROOT/share/bash-completion/completions/taskfarm

This module sets TASKFARM_ROOT and adds the install to PATH, MANPATH, CPATH,
LIBRARY_PATH, LD_LIBRARY_PATH, PKG_CONFIG_PATH and CMAKE_PREFIX_PATH.
]])

-- depends_on("openmpi")

setenv("TASKFARM_ROOT", root)
prepend_path("PATH", pathJoin(root, "bin"))
prepend_path("MANPATH", pathJoin(root, "share", "man"))
prepend_path("CPATH", pathJoin(root, "include"))
prepend_path("LIBRARY_PATH", libdir)
-- The taskfarm command has the library linked in; programs linked against
-- libtaskfarm.so find it through this.
prepend_path("LD_LIBRARY_PATH", libdir)
prepend_path("PKG_CONFIG_PATH", pathJoin(libdir, "pkgconfig"))
prepend_path("CMAKE_PREFIX_PATH", root)
