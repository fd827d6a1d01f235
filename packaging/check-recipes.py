#!/usr/bin/env python3
"""check-recipes.py - checks the Spack recipe and the EasyBuild easyconfig
without Spack or EasyBuild, and prints what scripts/package.sh builds.

  check-recipes.py VERSION               check both recipes against VERSION
  check-recipes.py VERSION --configopts  also print the easyconfig's configopts
  check-recipes.py VERSION --sanity      also print its sanity_check_paths
                                         files, one line each, alternatives
                                         separated by spaces

The Spack recipe is loaded with a stand-in for spack.package that records
its directives, and its cmake_args() is run for the default variants and
for each variant turned off. The checks: both recipes have VERSION; with the
default variants the recipe asks for the same TASKFARM_* options as the
easyconfig's configopts; and each variant turns its own option off.
"""

import os
import shlex
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
EASYCONFIG = "easybuild/taskfarm-{v}-foss-2023a.eb"
RECIPE = "spack/package.py"

# The variant that sets each option, in the recipe.
VARIANT_OPTION = {
    "mpi": "TASKFARM_MPI",
    "linalg": "TASKFARM_LINALG",
    "linkcheck": "TASKFARM_LINKCHECK",
    "shared": "TASKFARM_SHARED",
}


def load_easyconfig(path):
    """The easyconfig's parameters, with the templates it uses."""
    params = {"SHLIB_EXT": "so",
              "SOURCELOWER_TAR_GZ": "%(namelower)s-%(version)s.tar.gz"}
    with open(path, encoding="utf-8") as f:
        exec(compile(f.read(), path, "exec"), params)
    return params


def stand_in_spack():
    """A module that takes the place of spack.package: directives are
    recorded in DIRECTIVES, CMakePackage.define works as Spack's does."""
    mod = types.ModuleType("spack.package")
    mod.DIRECTIVES = []

    def directive(kind):
        def record(*args, **kwargs):
            mod.DIRECTIVES.append((kind, args, kwargs))
        return record

    for kind in ("version", "variant", "depends_on", "conflicts",
                 "requires", "provides", "patch", "maintainers", "license"):
        setattr(mod, kind, directive(kind))

    class CMakePackage:
        run_tests = False

        def __init__(self, spec):
            self.spec = spec

        @staticmethod
        def define(name, value):
            if isinstance(value, bool):
                return "-D%s:BOOL=%s" % (name, "ON" if value else "OFF")
            return "-D%s:STRING=%s" % (name, value)

    mod.CMakePackage = CMakePackage
    mod.working_dir = mod.Executable = mod.which = None
    mod.__all__ = [n for n in vars(mod) if not n.startswith("_")]
    return mod


class Dependency:
    def __init__(self, name):
        self.name = name
        self.mpicc = "/spack/%s/bin/mpicc" % name


class Spec:
    """Variants by name; providers by virtual (mpi: openmpi, blas:
    openblas)."""

    def __init__(self, variants):
        self.variants = variants

    def satisfies(self, s):
        if len(s) > 1 and s[0] in "+~" and s[1:] in self.variants:
            return self.variants[s[1:]] == (s[0] == "+")
        raise ValueError("the stand-in spec cannot answer %r" % s)

    def __getitem__(self, name):
        return Dependency({"mpi": "openmpi", "blas": "openblas",
                           "lapack": "openblas"}.get(name, name))


def load_recipe(path):
    """The recipe's package class and the directives it recorded."""
    spack = types.ModuleType("spack")
    spack.package = stand_in_spack()
    sys.modules["spack"] = spack
    sys.modules["spack.package"] = spack.package
    params = {"__name__": "taskfarm_recipe"}
    with open(path, encoding="utf-8") as f:
        exec(compile(f.read(), path, "exec"), params)
    classes = [c for c in params.values() if isinstance(c, type)
               and issubclass(c, spack.package.CMakePackage)
               and c is not spack.package.CMakePackage]
    if len(classes) != 1:
        raise SystemExit("%s: expected one CMakePackage class" % path)
    return classes[0], spack.package.DIRECTIVES


def taskfarm_options(args):
    """{TASKFARM_X: ON|OFF} from -D arguments, typed or not."""
    opts = {}
    for a in args:
        if not a.startswith("-DTASKFARM_"):
            continue
        name, value = a[2:].split("=", 1)
        opts[name.split(":")[0]] = value.upper()
    return opts


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    version = argv[1]
    failures = []

    eb_path = os.path.join(HERE, EASYCONFIG.format(v=version))
    if not os.path.exists(eb_path):
        print("check-recipes: no easyconfig %s" % eb_path, file=sys.stderr)
        return 1
    eb = load_easyconfig(eb_path)
    if eb.get("version") != version:
        failures.append("%s: version %r, not %s" % (eb_path, eb.get("version"),
                                                    version))
    eb_opts = taskfarm_options(shlex.split(eb.get("configopts", "")))

    recipe_path = os.path.join(HERE, RECIPE)
    cls, directives = load_recipe(recipe_path)
    versions = [a[0] for k, a, _ in directives if k == "version"]
    if version not in versions:
        failures.append("%s: no version(%r) (has %s)" % (recipe_path, version,
                                                         versions))
    defaults = {a[0]: kw.get("default") for k, a, kw in directives
                if k == "variant"}
    if set(defaults) != set(VARIANT_OPTION):
        failures.append("%s: variants %s, expected %s" % (
            recipe_path, sorted(defaults), sorted(VARIANT_OPTION)))

    spack_opts = taskfarm_options(cls(Spec(dict(defaults))).cmake_args())
    if spack_opts != eb_opts:
        failures.append("default variants give %s, the easyconfig %s" % (
            spack_opts, eb_opts))
    for variant, option in VARIANT_OPTION.items():
        if variant not in defaults:
            continue
        variants = dict(defaults, **{variant: False})
        got = taskfarm_options(cls(Spec(variants)).cmake_args()).get(option)
        if got != "OFF":
            failures.append("~%s gives %s=%s" % (variant, option, got))

    for f in failures:
        print("check-recipes: " + f, file=sys.stderr)
    if failures:
        return 1
    if "--configopts" in argv:
        print(eb["configopts"])
    if "--sanity" in argv:
        for entry in eb["sanity_check_paths"]["files"]:
            alts = entry if isinstance(entry, tuple) else (entry,)
            print(" ".join(alts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
