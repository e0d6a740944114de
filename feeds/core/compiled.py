"""Which core modules run compiled, and never one built from other sources.

setup.py compiles every module of this package that has a `.pxd` beside its
`.py` (the `.pxd` only adds C types; the `.py` is the one implementation) and
writes `compiled_from.json` beside the extensions: each module's digest of the
`.py` and `.pxd` it was built from. A compiled module whose sources on disk no
longer match, say after a `git pull` with no `make build`, would silently run
old code, so then every core module is imported from its `.py` instead
(compiled modules use each other's C types, so it is all or none), as under
FLOORWATCH_PURE_PYTHON=1; so are they when only some were compiled (a build
that failed part-way). Digests, not file times: an installed wheel's files all
carry the time they were unpacked. Imported by `feeds/core/__init__.py` first.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from pathlib import Path

from feeds.core.buildinfo import read_manifest, source_digest

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
    """Compiled modules not built from the .py and .pxd on disk: they would run other code."""
    built = read_manifest(package)
    return [name for name, source in compiled_sources(package).items()
            if _extension(source) is not None and built.get(name) != source_digest(source)]


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
        why = (f"{', '.join(stale)}: compiled from other sources" if stale
               else f"{', '.join(missing)}: not compiled, unlike the rest")
        print(f"floorwatch: {why}; running the pure-Python core (run `make build` to "
              "recompile)", file=sys.stderr)
    finder = _FromSource(compiled_sources())
    sys.meta_path.insert(0, finder)
    return finder


_SOURCE_FIRST = _install()
