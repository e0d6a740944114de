"""A recorded hub session and an in-process feed that replays it to the app.

`hub_stream` runs the small test floor (tests.hubkit) through the real
detection engine and records what a hub sends a `detail="summary"`
subscriber: call_start, call_update (every 0.75 s of event time per call, with
the hub's last-second means from a `feeds.core.trace.Trace` per call), events,
flags and call_end; `hub_session` also gives the `trace` message the hub
would send for each live call when it is focused. `ReplayFeed` has
FeedClient's interface and keeps what the app sends; like the hub, it
broadcasts acks and snoozes back and answers a new focus with its trace.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

from feeds.core.engine import Engine
from feeds.core.protocol import SUBSCRIBER_TYPES, Message, validate
from feeds.core.trace import Trace
from tests.hubkit import T0, small_floor

#: Wall clock the tests pin the app to: snapshots never see a real clock.
WALL = T0 + 1000.0


def hub_session(until: float = T0 + 156.0, **floor: Any
                ) -> tuple[list[Message], dict[str, Message]]:
    """What a summary subscriber receives for the small floor up to event time `until`,
    and the `trace` message of each call still live then."""
    engine = Engine()
    out: list[Message] = [{"type": "hello", "server": "floorwatch", "protocol": 1, "t": T0}]
    last: dict[str, float] = {}
    teams: dict[str, tuple[str, str]] = {}
    traces: dict[str, Trace] = {}
    for msg in small_floor(**floor):
        if msg["t"] > until:
            break
        msg = validate(dict(msg))
        flags = engine.process(msg)
        kind = msg["type"]
        call = engine.calls.get(msg["call"])
        if kind == "call_start":
            teams[msg["call"]] = (msg["team"], msg["agent"])
            traces[msg["call"]] = Trace()
        if kind in ("call_start", "event", "call_end"):
            out.append(msg)
        elif kind == "sample" and call is not None:
            traces[msg["call"]].add(msg["t"], msg, call.cust.active, call.agent_party.active)
            if msg["t"] - last.get(msg["call"], 0.0) >= 0.75:
                last[msg["call"]] = msg["t"]
                out.append({"type": "call_update", **call.snapshot(),
                            **traces[msg["call"]].last()})
        if call is not None:  # as the hub does: the agent who has the call as it happens
            teams[msg["call"]] = (call.team, call.agent)
        for flag in flags:
            team, agent = teams[flag.call]
            out.append({**flag.to_message(), "team": team, "agent": agent})
    live = {call_id: traces[call_id].message(call_id, call.snapshot())
            for call_id, call in engine.calls.items()}
    return out, live


def hub_stream(until: float = T0 + 156.0, **floor: Any) -> list[Message]:
    """What a summary subscriber receives for the small floor up to event time `until`."""
    return hub_session(until, **floor)[0]


class ReplayFeed:
    """FeedClient's interface over a list of messages; records what the app sends."""

    def __init__(self, messages: Iterable[Message], url: str = "ws://127.0.0.1:8765/subscribe",
                 user: str = "tester", traces: dict[str, Message] | None = None) -> None:
        self.url = url
        self.traces = traces or {}
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
        before = set(self.focus[-1]) if self.focus else set()
        self.focus.append(list(calls))
        for call in self.focus[-1]:
            if call not in before and call in self.traces:
                self.push(self.traces[call])

    async def close(self) -> None:
        self.closed = True
