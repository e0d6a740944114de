"""The `floorwatch` console script: the headless commands plus the terminal UI ones.

Textual is imported only by the UI commands' own functions, never here, so
`floorwatch replay` and the other headless commands start without it.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from feeds.cli import build_parser, run, subparsers_of

#: Modules adding UI subcommands (each has `add_parser(subparsers)`, like feeds.cli's).
TUI_COMMAND_MODULES: list[str] = ["tui.commands"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    subparsers = subparsers_of(parser)
    for name in TUI_COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return run(parser, argv)
