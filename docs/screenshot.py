"""Re-take docs/screenshot.svg: the floor board at 160x48 on the demo floor, deterministic.

    .venv/bin/python docs/screenshot.py [--seconds 150] [--out docs/screenshot.svg]

The demo's floor (feeds.sim.generator: seed 1, 40 agents, 4 teams, 4 samples/s,
from a fixed start) runs for `--seconds` of event time through the real
engine, with a `feeds.core.trace.Trace` per call as the hub keeps them, and the app
is shown what a hub sends a summary subscriber: call starts, events, flags
and call ends in order, and one `call_update` per live call per second of
event time. The app's clock is pinned to the last event time and
notifications are off, so the same command gives the same picture.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

from feeds.core.config import Alerts, Config
from feeds.core.engine import Engine
from feeds.core.protocol import validate
from feeds.core.trace import Trace
from feeds.sim.generator import floor_messages
from tui.app import FloorwatchApp

START = 1_790_000_000.0 + 14 * 3600  # a fixed afternoon, so the clock text never changes


def hub_messages(seconds: float) -> list[dict[str, Any]]:
    """What a summary subscriber of a hub gets for the demo floor's first `seconds`."""
    engine = Engine()
    traces: dict[str, Trace] = {}
    who: dict[str, tuple[str, str]] = {}
    out: list[dict[str, Any]] = [
        {"type": "status", "state": "connected", "attempt": 1,
         "url": "ws://127.0.0.1:8765/subscribe"},
        {"type": "hello", "server": "floorwatch", "protocol": 1, "t": START}]
    second = int(START)
    for msg in floor_messages(seed=1, agents=40, teams=4, start=START, duration_s=seconds):
        if msg["t"] > START + seconds:
            break
        msg = validate(dict(msg))
        while int(msg["t"]) > second:  # a second is over: its updates go out
            second += 1
            out.extend({"type": "call_update", **engine.calls[c].snapshot(),
                        **traces[c].last()} for c in engine.calls)
        flags = engine.process(msg)
        call = engine.calls.get(msg["call"])
        if msg["type"] == "call_start":
            traces[msg["call"]] = Trace()
        if msg["type"] == "sample" and call is not None:
            traces[msg["call"]].add(msg["t"], msg, call.cust.active, call.agent_party.active)
        elif msg["type"] != "sample":
            out.append(msg)
        if call is not None:
            who[msg["call"]] = (call.team, call.agent)
        for flag in flags:
            team, agent = who[flag.call]
            out.append({**flag.to_message(), "team": team, "agent": agent})
    return out


class RecordedFeed:
    """The app's Feed interface over a fixed list of messages."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for msg in messages:
            self.queue.put_nowait(msg)

    async def messages(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            yield await self.queue.get()

    async def send(self, msg: dict[str, Any]) -> None:
        return None

    async def set_focus(self, calls: Iterable[str]) -> None:
        return None

    async def close(self) -> None:
        return None


async def take(seconds: float, out: Path) -> None:
    messages = hub_messages(seconds)
    last = max(m["t"] for m in messages if isinstance(m.get("t"), float))
    feed = RecordedFeed(messages)
    app = FloorwatchApp(feed, clock=lambda: last,
                        config=Config(alerts=Alerts(bell=False, notify=False)))
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(1000):  # bounded: until the app has read the whole recording
            if feed.queue.empty():
                break
            await pilot.pause()
        await pilot.pause()
        app.tick()
        await pilot.pause()
        out.write_text(app.export_screenshot(title="floorwatch"), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=150.0)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("screenshot.svg"))
    args = parser.parse_args()
    asyncio.run(take(args.seconds, args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
