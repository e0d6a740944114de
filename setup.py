"""Build: the detection core's hot modules are compiled with Cython where a C compiler is found.

The modules stay plain Python (each .pxd beside its .py only adds C types), so a
machine without a compiler installs and runs the same code, only slower: the
extensions are optional. FLOORWATCH_PURE_PYTHON=1 skips compiling them here, and
at run time makes `feeds` import the .py files even where compiled ones exist.

FLOORWATCH_PGO=generate builds them instrumented and FLOORWATCH_PGO=use builds them
again laid out by the profile a training run left in build/pgo (the Makefile's
`build` runs benchmarks/pgo_train.py between the two): with gcc, ~4% more samples/s
in the detection benchmark. Other compilers build without a profile.
"""

import importlib.util
import os
import shlex
import subprocess
import sysconfig
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext


def _buildinfo():
    """feeds/core/buildinfo.py, loaded by path: the package is not importable mid-build."""
    spec = importlib.util.spec_from_file_location("buildinfo", CORE / "buildinfo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildExt(build_ext):
    """build_ext that records, beside the extensions it built, the sources of each
    (feeds.core.compiled runs a compiled module only if they match the .py on disk)."""

    def run(self) -> None:
        super().run()
        built = {}
        out_dir = None
        for ext in self.extensions:
            path = Path(self.get_ext_fullpath(ext.name))
            if path.exists():
                built[ext.name] = Path(*ext.name.split(".")).with_suffix(".py")
                out_dir = path.parent
        if out_dir is not None:
            _buildinfo().write_manifest(out_dir, built)

#: A module is compiled when it has a .pxd (feeds.compiled applies the same rule at run time).
CORE = Path("feeds", "core")
COMPILED = sorted(str(pxd.with_suffix(".py")) for pxd in CORE.glob("*.pxd"))
PGO_DIR = Path("build", "pgo").resolve()


def _gcc_major(compiler: str) -> int:
    """gcc's major version (-fprofile-partial-training needs 10); 0 if it cannot say."""
    try:
        out = subprocess.run([compiler, "-dumpversion"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
        return int(out.split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        return 0


def pgo_flags() -> tuple[list[str], list[str]]:
    """(compile, link) flags for the profile-guided build stage named by FLOORWATCH_PGO."""
    stage = os.environ.get("FLOORWATCH_PGO", "")
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")[0]
    if not stage or "gcc" not in Path(compiler).name or _gcc_major(compiler) < 10:
        return [], []
    if stage == "generate":
        return [f"-fprofile-generate={PGO_DIR}"], [f"-fprofile-generate={PGO_DIR}"]
    if stage == "use":
        # Code the training never ran is compiled as without a profile, not as cold.
        return [f"-fprofile-use={PGO_DIR}", "-fprofile-partial-training", "-fprofile-correction",
                "-Wno-missing-profile"], []
    raise SystemExit(f"FLOORWATCH_PGO: expected 'generate' or 'use', got {stage!r}")


def extensions() -> list:
    if os.environ.get("FLOORWATCH_PURE_PYTHON"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        return []
    modules = cythonize(
        COMPILED,
        compiler_directives={"language_level": 3, "annotation_typing": False},
        quiet=True,
    )
    compile_args, link_args = pgo_flags()
    for module in modules:
        module.optional = True  # no compiler: a warning, and the pure-Python core
        module.extra_compile_args += compile_args
        module.extra_link_args += link_args
    return modules


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
