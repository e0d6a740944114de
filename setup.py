"""Build: the detection core's hot modules are compiled with Cython where a C compiler is found.

The modules stay plain Python (each .pxd beside its .py only adds C types), so a
machine without a compiler installs and runs the same code, only slower: the
extensions are optional. FLOORWATCH_PURE_PYTHON=1 skips compiling them here, and
at run time makes `feeds` import the .py files even where compiled ones exist.
"""

import os
from pathlib import Path

from setuptools import setup

#: A module is compiled when it has a .pxd (feeds.compiled applies the same rule at run time).
COMPILED = sorted(str(pxd.with_suffix(".py")) for pxd in Path("feeds").glob("*.pxd"))


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
    for module in modules:
        module.optional = True  # no compiler: a warning, and the pure-Python core
    return modules


setup(ext_modules=extensions())
