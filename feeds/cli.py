"""The headless `floorwatch` commands, and the one parser factory everything builds on.

Each subcommand lives in the module that does its work: the module has
`add_parser(subparsers)`, which adds the subcommand and sets `func` (called
with the parsed arguments, returns the exit status). `COMMAND_MODULES` lists
those modules; adding a command is one line there. Modules are imported only
when the parser is built, and none of them imports textual, so headless
commands start fast. tui.cli adds the UI commands on top.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from feeds.config import ConfigError, load, to_toml

#: Modules contributing subcommands, in the order `floorwatch --help` lists them.
COMMAND_MODULES: list[str] = [
    "feeds.replay",
    "feeds.hub",
]


def _add_config(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "config",
        help="print the default thresholds as TOML, or check a config file",
        description="Without options, print every setting with its default as TOML (a "
        "starting point for --config FILE). With --check FILE, validate FILE and print "
        "the settings it results in.",
    )
    parser.add_argument("--check", metavar="FILE", help="validate this config file")
    parser.set_defaults(func=_run_config)


def _run_config(args: argparse.Namespace) -> int:
    try:
        config = load(args.check)
    except ConfigError as exc:
        print(f"floorwatch config: error: {exc}", file=sys.stderr)
        return 2
    print(to_toml(config), end="")
    if args.check:
        print(f"floorwatch config: {args.check} is valid", file=sys.stderr)
    return 0


def build_parser(prog: str = "floorwatch") -> argparse.ArgumentParser:
    """The parser with every headless subcommand; callers may add more subparsers."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Live monitoring of contact-center calls for floor supervisors.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    _add_config(subparsers)
    return parser


def subparsers_of(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    """The subcommand group of a parser made by `build_parser`, to add commands to."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise ValueError("parser has no subcommands")


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse `argv` and run the chosen subcommand; returns the exit status."""
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do, and
        # point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m feeds.cli`: the headless commands only."""
    return run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
