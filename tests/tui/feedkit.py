"""A recorded hub session and an in-process feed that replays it to the app.

`hub_stream` runs the small test floor (tests.hubkit) through the real
detection engine and records what a hub sends a `detail="summary"`
subscriber: call_start, call_update (every 0.75 s of event time per call, so both parties show),
events, flags and call_end. `ReplayFeed` has FeedClient's interface and
keeps what the app sends; like the hub, it broadcasts acks and snoozes back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

from feeds.engine import Engine
from feeds.protocol import SUBSCRIBER_TYPES, Message, validate
from tests.hubkit import T0, small_floor

#: Wall clock the tests pin the app to: snapshots never see a real clock.
WALL = T0 + 1000.0


def hub_stream(until: float = T0 + 156.0, **floor: Any) -> list[Message]:
    """What a summary subscriber receives for the small floor up to event time `until`."""
    engine = Engine()
    out: list[Message] = [{"type": "hello", "server": "floorwatch", "protocol": 1, "t": T0}]
    last: dict[str, float] = {}
    teams: dict[str, tuple[str, str]] = {}
    for msg in small_floor(**floor):
        if msg["t"] > until:
            break
        msg = validate(dict(msg))
        flags = engine.process(msg)
        kind = msg["type"]
        if kind == "call_start":
            teams[msg["call"]] = (msg["team"], msg["agent"])
        if kind in ("call_start", "event", "call_end"):
            out.append(msg)
        elif kind == "sample" and msg["t"] - last.get(msg["call"], 0.0) >= 0.75:
            last[msg["call"]] = msg["t"]
            out.append({"type": "call_update", **engine.calls[msg["call"]].snapshot()})
        for flag in flags:
            team, agent = teams[flag.call]
            out.append({**flag.to_message(), "team": team, "agent": agent})
    return out


class ReplayFeed:
    """FeedClient's interface over a list of messages; records what the app sends."""

    def __init__(self, messages: Iterable[Message], url: str = "ws://127.0.0.1:8765/subscribe",
                 user: str = "tester") -> None:
        self.url = url
        self.user = user
        self.queue: asyncio.Queue[Message] = asyncio.Queue()
        self.queue.put_nowait({"type": "status", "state": "connected", "attempt": 1,
                               "url": url, "detail": ""})
        self.flags: dict[str, Message] = {}
        for msg in messages:
            self.push(msg)
        self.sent: list[Message] = []
        self.focus: list[list[str]] = []
        self.closed = False

    def push(self, msg: Message) -> None:
        if msg["type"] == "flag":
            self.flags[msg["id"]] = msg
        self.queue.put_nowait(msg)

    async def messages(self) -> AsyncIterator[Message]:
        while True:
            yield await self.queue.get()

    async def send(self, msg: Message) -> None:
        validate(msg, SUBSCRIBER_TYPES)
        self.sent.append(msg)
        if msg["type"] in ("ack", "snooze") and msg["flag"] in self.flags:
            state = "acked" if msg["type"] == "ack" else "snoozed"
            self.push({**self.flags[msg["flag"]], "state": state, "by": self.user})

    async def set_focus(self, calls: Iterable[str]) -> None:
        self.focus.append(list(calls))

    async def close(self) -> None:
        self.closed = True
