"""`floorwatch simulate`: a live synthetic floor published to a hub in real time.

The floor is the demo generator's (feeds.generator) with event time = wall
time: calls are planned from `now - warmup_s`, the first `warmup_s` seconds
are published at once (so a demo opens on calls already in progress), the
rest as each message falls due. The floor is endless unless `duration_s`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import sys
import time
from collections.abc import Callable, Iterator

from feeds.cli import positive_float, positive_int
from feeds.generator import floor_messages
from feeds.protocol import Message
from feeds.publish import Publisher, play, print_reply


def live_wait(t: float) -> float:
    """Seconds until event time `t` comes round on the wall clock."""
    return t - time.time()


def live_floor(
    agents: int, rate: float, seed: int, warmup_s: float, teams: int,
    duration_s: float | None = None,
) -> Iterator[Message]:
    """The generator's floor starting `warmup_s` ago, in event-time order, endless by default."""
    return floor_messages(
        seed=seed, agents=agents, start=time.time() - warmup_s, teams=teams, dt=1.0 / rate,
        duration_s=math.inf if duration_s is None else duration_s)


async def simulate(
    url: str,
    agents: int = 40,
    rate: float = 4.0,
    seed: int = 1,
    warmup_s: float = 0.0,
    teams: int = 4,
    duration_s: float | None = None,
    binary: bool = True,
    on_reply: Callable[[Message], None] | None = None,
    caught_up: asyncio.Event | None = None,
) -> int:
    """Publish the live floor to `url` until cancelled (or `duration_s` of floor time).

    `caught_up` is set when the warm-up has been sent and the floor runs in real time.
    """
    messages = live_floor(agents, rate, seed, warmup_s, teams, duration_s)
    async with Publisher(url, binary, on_reply) as publisher:
        return await play(publisher, messages, live_wait, caught_up=caught_up)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
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
    parser.add_argument("--to", default="ws://127.0.0.1:8765/publish", metavar="URL",
                        help="the hub's publish URL (default ws://127.0.0.1:8765/publish)")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.warmup < 0:
        print("floorwatch simulate: --warmup: expected a number >= 0", file=sys.stderr)
        return 2
    print(f"floorwatch simulate: {args.calls} agents at {args.rate:g} Hz -> {args.to}",
          file=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        try:
            sent = asyncio.run(simulate(
                args.to, args.calls, args.rate, args.seed, args.warmup, args.teams,
                args.duration, not args.json, print_reply("floorwatch simulate")))
        except ValueError as exc:
            print(f"floorwatch simulate: error: {exc}", file=sys.stderr)
            return 2
        print(f"floorwatch simulate: published {sent} messages", file=sys.stderr)
    return 0
