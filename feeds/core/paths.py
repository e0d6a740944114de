"""Where floorwatch keeps its files in the user's data directory."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """$XDG_DATA_HOME/floorwatch, else ~/.local/share/floorwatch."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "floorwatch"


def local_token_path() -> Path:
    """The token a hub on this machine accepts from this user (an admin's, readable by
    this user only): `floorwatch hub` makes it, the other commands read it."""
    return data_dir() / "local.token"
