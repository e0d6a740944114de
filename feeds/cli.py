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
import json
import os
import sys
from collections.abc import Sequence

from feeds.config import ConfigError, load, to_toml

#: Modules contributing subcommands, in the order `floorwatch --help` lists them.
COMMAND_MODULES: list[str] = [
    "feeds.replay",
    "feeds.hub",
    "feeds.simulate",
    "feeds.embedded",
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
    config = load(args.check)
    print(to_toml(config), end="")
    if args.check:
        print(f"floorwatch config: {args.check} is valid", file=sys.stderr)
    return 0


def _add_generate(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="write a recording of a synthetic call floor",
        description="Write a seeded, realistic call floor (feeds.generator) to a recording; "
        "the form follows the file name (.jsonl, .msgpack, .jsonl.gz, .msgpack.gz). The "
        "same options always give the same messages.",
    )
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="recording to write")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--agents", type=positive_int, default=40,
                        help="agents on the floor (default 40)")
    parser.add_argument("--teams", type=positive_int, default=4, help="teams (default 4)")
    parser.add_argument("--minutes", type=positive_float, default=15.0,
                        help="event time the floor covers (default 15)")
    parser.add_argument("--start", type=float, metavar="EPOCH",
                        help="event time of the start, Unix seconds (default 2026-01-01 09:00 UTC)")
    parser.add_argument("--expected", metavar="FILE",
                        help="also write the flags the floor must raise, one JSON object a line")
    parser.set_defaults(func=_run_generate)


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _run_generate(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from feeds.generator import DEMO_EPOCH, expected_episodes, floor_messages, plan_floor
    from feeds.recording import write_recording

    start = DEMO_EPOCH if args.start is None else args.start
    plans = plan_floor(args.seed, args.agents, args.minutes * 60.0, start, args.teams)
    try:
        count = write_recording(args.output, floor_messages(plans))
        if args.expected:
            with open(args.expected, "w", encoding="utf-8") as out:
                for expected in expected_episodes(plans):
                    out.write(json.dumps(asdict(expected)) + "\n")
    except (ValueError, OSError) as exc:
        print(f"floorwatch generate: error: {exc}", file=sys.stderr)
        return 2
    print(f"floorwatch generate: {count} messages, {len(plans)} calls -> {args.output}",
          file=sys.stderr)
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
    _add_generate(subparsers)
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
    except ConfigError as exc:  # every command's --config (and `config --check`) ends here
        print(f"floorwatch {args.command}: error: config {exc}", file=sys.stderr)
        return 2
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
