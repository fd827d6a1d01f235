# package.py - Spack recipe for taskfarm: the taskfarm command and
# libtaskfarm. Put it in a Spack repository as packages/taskfarm/package.py
# (`spack repo create`, `spack repo add`).
#
# Each variant sets one of the build's options to ON or OFF, never to AUTO,
# so that what is built follows the spec and not what the build machine
# happens to have. With the default variants it asks for what
# packaging/easybuild/taskfarm-0.2.0-foss-2023a.eb asks for, and
# scripts/package.sh builds and checks that configuration.

from spack.package import *


class Taskfarm(CMakePackage):
    """Runs thousands to millions of independent tasks (shell commands or
    built-in jobs) over the cores of a node or the ranks of an MPI job, and
    gives C programs a pool of workers (libtaskfarm) over the same."""

    # Release tarballs are named taskfarm-VERSION.tar.gz. example.org stands
    # for the project's release site until releases are published there,
    # and each version's sha256 is added when its tarball is. Until then,
    # build from a checkout: `spack develop --path DIR taskfarm@0.2.0`.
    homepage = "https://example.org/taskfarm"
    url = "https://example.org/taskfarm/releases/taskfarm-0.2.0.tar.gz"

    version("0.2.0")

    variant("mpi", default=True,
            description="The MPI transport: workers on the ranks of an "
                        "MPI job (without it, forked local workers only)")
    variant("shared", default=True,
            description="Build and install libtaskfarm.so beside "
                        "libtaskfarm.a")
    variant("linalg", default=True,
            description="The linalg job (CBLAS and LAPACKE)")
    variant("linkcheck", default=True,
            description="The linkcheck job (libcurl and jansson)")

    depends_on("c", type="build")
    depends_on("cmake@3.18:", type="build")
    depends_on("pkgconfig", type="build")

    depends_on("mpi", when="+mpi")

    # linalg calls CBLAS and LAPACKE. OpenBLAS (the usual provider) and MKL
    # have both in their own libraries; netlib-lapack has LAPACKE only with
    # its +lapacke variant.
    depends_on("blas", when="+linalg")
    depends_on("lapack", when="+linalg")
    conflicts("^netlib-lapack~lapacke", when="+linalg",
              msg="the linalg job calls LAPACKE: use netlib-lapack+lapacke")

    depends_on("curl", when="+linkcheck")
    depends_on("jansson", when="+linkcheck")

    # The unit tests; the end-to-end ones need far more (MPI launchers,
    # Slurm, a web server) and run in the project's scripts/test.sh.
    depends_on("cmocka", type="test")

    def cmake_args(self):
        args = [
            self.define("TASKFARM_MPI", self.spec.satisfies("+mpi")),
            self.define("TASKFARM_LINALG", self.spec.satisfies("+linalg")),
            self.define("TASKFARM_LINKCHECK",
                        self.spec.satisfies("+linkcheck")),
            self.define("TASKFARM_SHARED", self.spec.satisfies("+shared")),
            self.define("TASKFARM_STATIC", True),
            self.define("BUILD_TESTING", self.run_tests),
        ]
        if self.spec.satisfies("+mpi"):
            args.append(self.define("MPI_C_COMPILER",
                                    self.spec["mpi"].mpicc))
        if self.spec.satisfies("+linalg"):
            args.append(self.define("BLA_VENDOR", self._bla_vendor()))
        return args

    def _bla_vendor(self):
        """CMake's FindBLAS name for the BLAS provider of this spec."""
        name = self.spec["blas"].name
        if name == "openblas":
            return "OpenBLAS"
        if name in ("intel-oneapi-mkl", "intel-mkl"):
            return "Intel10_64lp_seq"
        if name in ("amdblis", "blis"):
            return "FLAME"
        if name == "flexiblas":
            return "FlexiBLAS"
        return "Generic"

    def check(self):
        with working_dir(self.build_directory):
            ctest = Executable(self.spec["cmake"].prefix.bin.ctest)
            ctest("--output-on-failure", "-R", "^unit_")

    def test_version(self):
        """taskfarm --version names this version"""
        taskfarm = which(self.prefix.bin.taskfarm)
        out = taskfarm("--version", output=str, error=str)
        assert str(self.spec.version) in out
