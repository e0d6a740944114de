"""Which detection-core modules run compiled, and never a stale one.

setup.py compiles every module of this package that has a `.pxd` beside its
`.py` (the `.pxd` only adds C types; the `.py` is the one implementation).
A compiled module built from older sources than the `.py`/`.pxd` on disk, say
after a `git pull` with no `make build`, would silently run old code, so such
modules are all imported from their `.py` instead (compiled modules use each
other's C types, so it is all or none), as under FLOORWATCH_PURE_PYTHON=1; so are
they when only some of them were compiled (a build that failed part-way).
Imported by `feeds/__init__.py` before anything else.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from pathlib import Path

PURE_ENV = "FLOORWATCH_PURE_PYTHON"
_HERE = Path(__file__).resolve().parent


def compiled_sources(package: Path = _HERE) -> dict[str, Path]:
    """Module name -> .py source, for every module setup.py compiles (those with a .pxd)."""
    prefix = __package__ if package == _HERE else package.name
    return {f"{prefix}.{pxd.stem}": pxd.with_suffix(".py") for pxd in sorted(package.glob("*.pxd"))}


def _extension(source: Path) -> Path | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = source.with_suffix(suffix)
        if candidate.exists():
            return candidate
    return None


def stale_extensions(package: Path = _HERE) -> list[str]:
    """Compiled modules older than their .py or .pxd: they would run old code."""
    stale = []
    for name, source in compiled_sources(package).items():
        ext = _extension(source)
        if ext is not None:
            built = ext.stat().st_mtime
            if max(source.stat().st_mtime, source.with_suffix(".pxd").stat().st_mtime) > built:
                stale.append(name)
    return stale


class _FromSource(MetaPathFinder):
    """Finds the listed modules as their .py files, ahead of the compiled ones."""

    def __init__(self, modules: dict[str, Path]) -> None:
        self.modules = modules

    def find_spec(self, fullname: str, path: object = None, target: object = None
                  ) -> ModuleSpec | None:
        source = self.modules.get(fullname)
        return None if source is None else importlib.util.spec_from_file_location(
            fullname, source)


def core() -> str:
    """'compiled' when the compiled modules are the ones imported, else 'pure Python'."""
    names = compiled_sources()
    if _SOURCE_FIRST is None and all(_extension(source) for source in names.values()):
        return "compiled"
    return "pure Python"


def missing_extensions(package: Path = _HERE) -> list[str]:
    """Core modules with no compiled form while others have one (a build that failed
    part-way): they could not load the others' C types."""
    sources = compiled_sources(package)
    missing = [name for name, source in sources.items() if _extension(source) is None]
    return missing if len(missing) < len(sources) else []


def _install() -> _FromSource | None:
    if not os.environ.get(PURE_ENV):
        stale, missing = stale_extensions(), missing_extensions()
        if not stale and not missing:
            return None
        why = (f"{', '.join(stale)}: compiled from older sources" if stale
               else f"{', '.join(missing)}: not compiled, unlike the rest")
        print(f"floorwatch: {why}; running the pure-Python core (run `make build` to "
              "recompile)", file=sys.stderr)
    finder = _FromSource(compiled_sources())
    sys.meta_path.insert(0, finder)
    return finder


_SOURCE_FIRST = _install()
