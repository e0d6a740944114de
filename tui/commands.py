"""The UI subcommands: `floorwatch watch` opens the TUI against a hub, and
`floorwatch demo` opens it on the embedded demo floor (feeds.embedded), whose
`--headless` mode keeps printing the flag feed.

The board subscribes with `detail="summary"` (one `call_update` per call per
second instead of every sample), and the detail screen adds the call it
shows to the subscription's `focus` for its live plots.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import sys
from urllib.parse import urlsplit

from feeds import embedded
from feeds.client import FeedClient
from feeds.config import Config, load

DEFAULT_HUB = "ws://127.0.0.1:8765"


def subscribe_url(url: str) -> str:
    """`ws://host:port` -> `ws://host:port/subscribe`; a URL with a path is kept as given."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise ValueError(f"hub address: expected ws://host:port, got {url!r}")
    return url if parts.path not in ("", "/") else url.rstrip("/") + "/subscribe"


def add_ui_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", help="name shown on your acks and notes (default: login name)")
    parser.add_argument("--theme", help="Textual theme, e.g. textual-light, ansi-dark (16 colors)")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "watch",
        help="open the supervisor TUI against a running hub",
        description="Open the floor board against a floorwatch hub. It reconnects by itself "
        "and says so in the status line.",
    )
    parser.add_argument("url", nargs="?", default=DEFAULT_HUB,
                        help=f"hub address (default {DEFAULT_HUB})")
    parser.add_argument("--team", action="append", metavar="T",
                        help="watch only this team (repeat for more)")
    parser.add_argument("--config", metavar="FILE", help="TOML config (alerts.bell, alerts.notify)")
    add_ui_options(parser)
    parser.set_defaults(func=run_watch)
    demo = subparsers.choices.get("demo") or embedded.add_parser(subparsers)
    add_ui_options(demo)
    demo.set_defaults(func=run_demo)


def run_watch(args: argparse.Namespace) -> int:
    config = load(args.config)
    try:
        url = subscribe_url(args.url)
    except ValueError as exc:
        print(f"floorwatch watch: error: {exc}", file=sys.stderr)
        return 2
    from tui.app import FloorwatchApp

    user = args.user or getpass.getuser()
    feed = FeedClient(url, teams=args.team, detail="summary", user=user)
    FloorwatchApp(feed, config=config, theme=args.theme).run()
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """`floorwatch demo`: the TUI on a hub and simulated floor in this process."""
    if args.headless:
        return embedded.main(args)
    config = load(args.config)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_demo(args, config))
    return 0


async def _demo(args: argparse.Namespace, config: Config) -> None:
    from tui.app import FloorwatchApp

    user = args.user or getpass.getuser()
    async with embedded.DemoFloor(args.agents, args.seed, args.warmup, db=args.db,
                                  config=config) as floor:
        feed = FeedClient(floor.url, detail="summary", user=user)
        app = FloorwatchApp(feed, config=config, theme=args.theme)
        await app.run_async()
