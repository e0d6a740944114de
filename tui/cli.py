"""The `floorwatch` command line: every subcommand, its options, and what it runs.

One module, so `floorwatch --help` and this file list the same commands in the
same order. Each `_run_*` turns parsed options into a call of the module that
does the work; the headless commands import no UI library (textual is imported
inside `_run_watch` and `_run_demo` only), so they start fast and run anywhere.
docs/cli.md documents every option.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import os
import ssl
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from feeds.client.address import hub_url
from feeds.client.credentials import HubRefused, find_token
from feeds.client.publisher import print_problem, print_reply, replay_to
from feeds.client.subscriber import FeedClient
from feeds.core.config import Config, ConfigError, load, to_toml
from feeds.core.paths import data_dir
from feeds.core.replay import replay_file
from feeds.core.roles import ROLES
from feeds.hub.auth import (
    add_key,
    audit_rows,
    is_loopback,
    list_users,
    new_token,
    put_user,
    remove_user,
)
from feeds.hub.service import run_hub
from feeds.hub.store import Store, default_path
from feeds.sim.demo import DemoFloor, print_flags
from feeds.sim.generator import DEMO_EPOCH, expected_episodes, floor_messages, plan_floor
from feeds.sim.simulate import simulate
from tui.audio_commands import add_analyze, add_gateway
from tui.options import DEFAULT_HUB, add_token_option, positive_float, positive_int
from tui.remote.commands import add_ssh, add_web

DEFAULT_PUBLISH = "ws://127.0.0.1:8765/publish"


def _version() -> str:
    try:
        return version("floorwatch")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


# --- the parser ----------------------------------------------------------------------------


def build_parser(prog: str = "floorwatch") -> argparse.ArgumentParser:
    """The parser with every subcommand, in the order `floorwatch --help` lists them."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Live monitoring of contact-center calls for floor supervisors.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_add_replay, _add_generate, _add_config, _add_hub, _add_user, _add_audit,
                _add_simulate, _add_demo, _add_watch, add_ssh, add_web, add_analyze,
                add_gateway):
        add(sub)
    return parser


def _add_replay(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "replay", help="replay a recording through detection and print the flags",
        description="Replay a .jsonl / .msgpack (optionally .gz) recording through the "
        "detection engine and print one line per flag transition on stdout. Invalid "
        "messages are reported on stderr and skipped.")
    parser.add_argument("file", help="recording: .jsonl, .msgpack, .jsonl.gz or .msgpack.gz")
    parser.add_argument("--fast", action="store_true",
                        help="as fast as possible, ignoring the recording's timing")
    parser.add_argument("--speed", type=positive_float, default=1.0, metavar="X",
                        help="play X times faster than recorded (default 1)")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per flag transition (the flag message's fields)")
    parser.add_argument("--headless", action="store_true",
                        help="no UI: print to the terminal (what replay always does)")
    parser.add_argument("--strict", action="store_true",
                        help="stop at the first invalid message, exit status 2")
    parser.add_argument("--config", metavar="FILE", help="thresholds TOML (floorwatch config)")
    parser.add_argument("--to", metavar="URL", help="publish to a hub instead "
                        "(e.g. ws://127.0.0.1:8765/publish); paced by --speed unless --fast")
    add_token_option(parser)
    parser.set_defaults(func=_run_replay)


def _run_replay(args: argparse.Namespace) -> int:
    speed = None if args.fast else args.speed
    if args.to:
        try:
            url = hub_url(args.to, "/publish")
            return asyncio.run(replay_to(args.file, url, speed, binary=True,
                                         token=find_token(args.token), ca=args.ca))
        except (ValueError, OSError) as exc:
            print(f"floorwatch replay: error: {exc}", file=sys.stderr)
            return 2
        except HubRefused as exc:
            print(f"floorwatch replay: error: {exc}", file=sys.stderr)
            return 1
    return replay_file(args.file, load(args.config), speed=speed, as_json=args.json,
                       strict=args.strict, out=sys.stdout, err=sys.stderr)


def _add_generate(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "generate", help="write a recording of a synthetic call floor",
        description="Write a seeded, realistic call floor (feeds.sim.generator) to a "
        "recording; the form follows the file name (.jsonl, .msgpack, .jsonl.gz, "
        ".msgpack.gz). The same options always give the same messages.")
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


def _run_generate(args: argparse.Namespace) -> int:
    from feeds.core.recording import write_recording

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


def _add_config(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "config", help="print the default thresholds as TOML, or check a config file",
        description="Without options, print every setting with its default as TOML (a "
        "starting point for --config FILE). With --check FILE, validate FILE and print "
        "the settings it results in.")
    parser.add_argument("--check", metavar="FILE", help="validate this config file")
    parser.set_defaults(func=_run_config)


def _run_config(args: argparse.Namespace) -> int:
    config = load(args.check)
    print(to_toml(config), end="")
    if args.check:
        print(f"floorwatch config: {args.check} is valid", file=sys.stderr)
    return 0


def _add_hub(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "hub", help="run the hub: producers publish, the hub detects, subscribers watch")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--db", help=f"SQLite file (default {default_path()})")
    parser.add_argument("--config", help="TOML file with rule thresholds")
    parser.add_argument("--insecure-local", action="store_true",
                        help="serve without authentication (refused unless --host is a "
                        "loopback address)")
    parser.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                        help="a web page origin allowed to connect, e.g. "
                        "https://board.example (repeatable; default: none)")
    parser.add_argument("--max-per-address", type=positive_int, default=64, metavar="N",
                        help="open connections allowed from one address (default 64)")
    parser.add_argument("--tls-cert", metavar="FILE",
                        help="serve wss:// with this PEM certificate (chain); needs --tls-key")
    parser.add_argument("--tls-key", metavar="FILE", help="the certificate's private key")
    parser.set_defaults(func=_run_hub)


def _run_hub(args: argparse.Namespace) -> int:
    config = load(args.config)
    if args.insecure_local and not is_loopback(args.host):
        print(f"floorwatch hub: error: --insecure-local serves without authentication, "
              f"so only on a loopback address, not {args.host}", file=sys.stderr)
        return 2
    if bool(args.tls_cert) != bool(args.tls_key):
        print("floorwatch hub: error: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    tls = (args.tls_cert, args.tls_key) if args.tls_cert else None
    with contextlib.suppress(KeyboardInterrupt):
        try:
            asyncio.run(run_hub(args.host, args.port, args.db, config,
                                auth=not args.insecure_local,
                                origins=frozenset(args.allow_origin),
                                max_per_address=args.max_per_address, tls=tls))
        except (OSError, ssl.SSLError) as exc:
            print(f"floorwatch hub: error: {exc}", file=sys.stderr)
            return 1
    return 0


def _add_user(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "user", help="manage who may use the hub: add (prints a token), list, remove",
        description="Users live in the hub's database; a change takes effect on the next "
        "connection, without restarting the hub. Roles: producer (publish), viewer (read), "
        "lead (+ ack, snooze, note, history), supervisor (+ listen, whisper, barge), "
        "admin (everything, all teams).")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="create or replace a user; prints their new token")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--team", action="append", metavar="T",
                     help="a team the user may see (repeatable; default: all teams)")
    listing = actions.add_parser("list", help="users, roles and teams (never tokens)")
    remove = actions.add_parser("remove", help="remove a user: their token stops working")
    remove.add_argument("name")
    add_key_ = actions.add_parser("add-key", help="let a user in over `floorwatch ssh` with "
                                  "an SSH public key (e.g. ~/.ssh/id_ed25519.pub)")
    add_key_.add_argument("name")
    add_key_.add_argument("keyfile")
    for each in (add, listing, remove, add_key_):
        each.add_argument("--db", help=f"the hub's SQLite file (default {default_path()})")
    parser.set_defaults(func=_run_user)


def _run_user(args: argparse.Namespace) -> int:
    store = Store(args.db or default_path())
    try:
        if args.action == "add":
            token = new_token()
            try:
                store.run_sync(partial(put_user, name=args.name, role=args.role,
                                       teams=args.team, token=token))
            except ValueError as exc:
                print(f"floorwatch user: error: {exc}", file=sys.stderr)
                return 2
            teams = "all teams" if not args.team or args.role == "admin" else ", ".join(
                sorted(set(args.team)))
            print(f"user {args.name}: {args.role}, {teams}; their token (shown once):")
            print(token)
        elif args.action == "add-key":
            return _add_user_key(store, args.name, args.keyfile)
        elif args.action == "list":
            for name, role, teams, _ in store.run_sync(list_users):
                print(f"{name}\t{role}\t{'all teams' if teams is None else ','.join(teams)}")
        elif not store.run_sync(partial(remove_user, name=args.name)):
            print(f"floorwatch user: error: no user {args.name!r}", file=sys.stderr)
            return 1
        else:
            print(f"user {args.name} removed")
    finally:
        store.close()
    return 0


def _add_user_key(store: Store, name: str, keyfile: str) -> int:
    import asyncssh  # only this command and `ssh` need it

    try:
        key = asyncssh.import_public_key(Path(keyfile).read_bytes())
        line = key.export_public_key("openssh").decode().strip()
        store.run_sync(partial(add_key, name=name, key=line,
                               fingerprint=key.get_fingerprint()))
    except (OSError, asyncssh.KeyImportError, ValueError) as exc:
        print(f"floorwatch user: error: {keyfile}: {exc}", file=sys.stderr)
        return 2
    print(f"user {name} may now connect over SSH with {key.get_fingerprint()}")
    return 0


def _add_audit(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "audit", help="what supervisors did: every ack, snooze, note and action",
        description="The hub's audit trail, oldest first: when, who, their role, from "
        "which address, what, on which call or flag, and the request's details.")
    parser.add_argument("--since", type=float, metavar="EPOCH",
                        help="only entries at or after this time (seconds since 1970)")
    parser.add_argument("--user", help="only this user's entries")
    parser.add_argument("--json", action="store_true", help="one JSON object per entry")
    parser.add_argument("--db", help=f"the hub's SQLite file (default {default_path()})")
    parser.set_defaults(func=_run_audit)


def _run_audit(args: argparse.Namespace) -> int:
    store = Store(args.db or default_path())
    try:
        rows = store.run_sync(partial(audit_rows, since=args.since, user=args.user))
    finally:
        store.close()
    for at, user, role, address, what, call, flag, detail in rows:
        if args.json:
            print(json.dumps({"at": at, "user": user, "role": role, "address": address,
                              "what": what, "call": call, "flag": flag,
                              "detail": json.loads(detail or "{}")}))
        else:
            when = datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
            print(f"{when}  {user or '-'} ({role or 'no auth'}) from {address or '?'}  "
                  f"{what} {flag or call or ''}  {detail or ''}".rstrip())
    return 0


def _add_simulate(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "simulate", help="publish a live synthetic floor to a hub in real time",
        description="Stream a seeded synthetic floor (the demo generator) to a hub's "
        "/publish, with event time = wall time. Reconnects if the hub restarts.")
    parser.add_argument("--calls", type=positive_int, default=40, metavar="N",
                        help="agents on the floor, each on one call at a time (default 40)")
    parser.add_argument("--rate", type=positive_float, default=4.0, metavar="HZ",
                        help="samples per second per call (default 4)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--teams", type=positive_int, default=4,
                        help="teams on the floor (default 4)")
    parser.add_argument("--warmup", type=float, default=0.0, metavar="S",
                        help="publish the floor's first S seconds at once, then live")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="stop after S seconds of floor time (default: run until Ctrl-C)")
    parser.add_argument("--json", action="store_true",
                        help="send JSON text frames instead of MessagePack")
    parser.add_argument("--to", default=DEFAULT_PUBLISH, metavar="URL",
                        help=f"the hub's publish URL (default {DEFAULT_PUBLISH})")
    add_token_option(parser)
    parser.set_defaults(func=_run_simulate)


def _run_simulate(args: argparse.Namespace) -> int:
    if args.warmup < 0:
        print("floorwatch simulate: --warmup: expected a number >= 0", file=sys.stderr)
        return 2
    try:
        args.to = hub_url(args.to, "/publish")
    except ValueError as exc:
        print(f"floorwatch simulate: error: {exc}", file=sys.stderr)
        return 2
    print(f"floorwatch simulate: {args.calls} agents at {args.rate:g} Hz -> {args.to}",
          file=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        try:
            sent = asyncio.run(simulate(
                args.to, args.calls, args.rate, args.seed, args.warmup, args.teams,
                args.duration, not args.json, print_reply("floorwatch simulate"),
                on_problem=print_problem("floorwatch simulate"),
                token=find_token(args.token), ca=args.ca))
        except ValueError as exc:
            print(f"floorwatch simulate: error: {exc}", file=sys.stderr)
            return 2
        except HubRefused as exc:
            print(f"floorwatch simulate: error: {exc}", file=sys.stderr)
            return 1
        print(f"floorwatch simulate: published {sent} messages", file=sys.stderr)
    return 0


def _add_ui_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", help="name shown on your acks and notes (default: login name)")
    parser.add_argument("--theme", help="Textual theme, e.g. textual-light, ansi-dark (16 colors)")
    parser.add_argument("--export-dir", type=Path, metavar="DIR",
                        help="where the coaching queue's exports go "
                        f"(default {data_dir() / 'exports'})")


def _add_demo(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo", help="run a hub and a live simulated floor in one process, and watch it",
        description="Start a hub on 127.0.0.1 (ephemeral port, database in a temporary "
        "directory) with a simulated floor publishing into it, and show the live flags.")
    parser.add_argument("--agents", type=positive_int, default=40, help="agents on the floor (40)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--warmup", type=float, default=90.0, metavar="S",
                        help="publish the floor's first S seconds at once (default 90)")
    parser.add_argument("--db", help="keep the demo's database in this file")
    parser.add_argument("--config", metavar="FILE", help="thresholds TOML (floorwatch config)")
    parser.add_argument("--headless", action="store_true",
                        help="no UI: print the live flag feed")
    parser.add_argument("--json", action="store_true",
                        help="with --headless: one JSON object per flag transition")
    _add_ui_options(parser)
    parser.set_defaults(func=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    """The TUI (or with --headless the flag feed) on a hub and simulated floor in-process."""
    config = load(args.config)
    with contextlib.suppress(KeyboardInterrupt):
        if args.headless:
            asyncio.run(print_flags(args.agents, args.seed, args.warmup, args.db, config,
                                    as_json=args.json))
        else:
            asyncio.run(_demo_tui(args, config))
    return 0


async def _demo_tui(args: argparse.Namespace, config: Config) -> None:
    from tui.app import FloorwatchApp

    async with DemoFloor(args.agents, args.seed, args.warmup, db=args.db, config=config,
                         user=args.user or getpass.getuser()) as floor:
        feed = FeedClient(floor.url, detail="summary", token=floor.token)
        await FloorwatchApp(feed, config=config, theme=args.theme,
                            export_dir=args.export_dir).run_async()


def _add_watch(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "watch", help="open the supervisor TUI against a running hub",
        description="Open the floor board against a floorwatch hub. It reconnects by itself "
        "and says so in the status line.")
    parser.add_argument("url", nargs="?", default=DEFAULT_HUB,
                        help=f"hub address (default {DEFAULT_HUB})")
    parser.add_argument("--team", action="append", metavar="T",
                        help="watch only this team (repeat for more)")
    parser.add_argument("--config", metavar="FILE", help="TOML config (alerts.bell, alerts.notify)")
    add_token_option(parser)
    _add_ui_options(parser)
    parser.set_defaults(func=_run_watch)


def _run_watch(args: argparse.Namespace) -> int:
    config = load(args.config)
    try:
        url = hub_url(args.url, "/subscribe")
    except ValueError as exc:
        print(f"floorwatch watch: error: {exc}", file=sys.stderr)
        return 2
    from tui.app import FloorwatchApp

    feed = FeedClient(url, teams=args.team, detail="summary",
                      user=args.user or getpass.getuser(), token=find_token(args.token),
                      ca=args.ca)
    FloorwatchApp(feed, config=config, theme=args.theme, export_dir=args.export_dir).run()
    return 0


# --- running ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """The `floorwatch` console script: parse `argv`, run the subcommand, return its status."""
    parser = build_parser()
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


if __name__ == "__main__":
    sys.exit(main())
