"""What a compiled core module was built from: shared by setup.py (which writes it) and
feeds.core.compiled (which checks it). No imports from the package: setup.py loads this
file by path, mid-build."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

#: Written beside the extensions: module name -> `source_digest` of what it was built from.
MANIFEST = "compiled_from.json"


def source_digest(source: Path) -> str:
    """A compiled module's sources: its .py and its .pxd."""
    digest = hashlib.sha256(source.read_bytes())
    digest.update(source.with_suffix(".pxd").read_bytes())
    return digest.hexdigest()


def read_manifest(package: Path) -> dict[str, str]:
    """The digests recorded by the last build in `package`; empty if there is none."""
    try:
        built = json.loads((package / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return built if isinstance(built, dict) else {}


def write_manifest(package: Path, sources: dict[str, Path]) -> None:
    """Record the digests of `sources` (module name -> .py) as built into `package`."""
    digests = {name: source_digest(source) for name, source in sorted(sources.items())}
    (package / MANIFEST).write_text(json.dumps(digests, indent=1) + "\n", encoding="utf-8")
