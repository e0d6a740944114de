"""A subscriber that stops reading never holds up the others, and never loses a flag."""

from __future__ import annotations

import asyncio

from websockets.exceptions import ConnectionClosed

from feeds.core.protocol import decode_frame, encode_like
from tests.hubkit import (
    hub_running,
    publish,
    read_until,
    small_floor,
    stalled_subscriber,
    subscribe_to,
)


async def _drain(ws, calls: set[str]) -> list[dict]:
    ended: set[str] = set()

    def done(msg: dict) -> bool:
        if msg["type"] == "call_end":
            ended.add(msg["call"])
        return ended == calls

    return await read_until(ws, done, timeout=60)


async def test_stalled_subscriber_is_coalesced_and_the_healthy_one_gets_everything():
    floor = small_floor(seed=7, calls_per_team=12, teams=("red",))
    calls = {m["call"] for m in floor}
    samples = sum(1 for m in floor if m["type"] == "sample")
    async with hub_running(sndbuf=4096, max_lag_ticks=3, max_behind_s=600) as (hub, url), \
            subscribe_to(url) as healthy, stalled_subscriber(url) as stalled:
        await stalled.send(encode_like({"type": "subscribe", "teams": None}, False))
        await healthy.send(encode_like({"type": "subscribe", "teams": None, "batch": True},
                                       True))
        while len(hub.subscribers) < 2:
            await asyncio.sleep(0.01)
        healthy_task = asyncio.create_task(_drain(healthy, calls))
        await publish(url, floor, binary=True, pause_every=4)
        got = await healthy_task
        slow = next(s for s in hub.subscribers if not s.batch)
        assert slow.coalesced > 0
        late = await _drain(stalled, calls)

    assert sum(1 for m in got if m["type"] == "sample") == samples
    flags = [m["id"] + m["state"] for m in got if m["type"] == "flag"]
    assert flags and [m["id"] + m["state"] for m in late if m["type"] == "flag"] == flags
    assert sum(1 for m in late if m["type"] == "sample") < samples
    assert [m["call"] for m in late if m["type"] == "call_end"] == [
        m["call"] for m in got if m["type"] == "call_end"]


async def _closed_for(stalled) -> tuple[int, str]:
    """Read what the hub had sent until it closed the connection (a policy close):
    how many frames that was, and the reason it gave."""
    received = 0
    try:
        async with asyncio.timeout(30):
            while True:
                decode_frame(await stalled.recv())
                received += 1
    except ConnectionClosed:
        pass
    assert stalled.close_code == 1008
    return received, stalled.close_reason


async def test_subscriber_with_too_many_flags_and_events_waiting_is_closed():
    """Raw samples can be coalesced away; discrete messages cannot. When more of them wait
    than `max_essential` (200,000 by default; 30 here), the subscriber is closed, not
    buffered without end, and the hub goes on serving the others."""
    floor = small_floor(seed=9, calls_per_team=12, teams=("red",))
    async with hub_running(sndbuf=4096, max_lag_ticks=3, max_behind_s=600,
                           max_essential=30) as (hub, url), \
            subscribe_to(url) as healthy, stalled_subscriber(url) as stalled:
        await stalled.send(encode_like({"type": "subscribe", "teams": None}, False))
        await healthy.send(encode_like({"type": "subscribe", "teams": None}, True))
        while len(hub.subscribers) < 2:
            await asyncio.sleep(0.01)
        healthy_task = asyncio.create_task(_drain(healthy, {m["call"] for m in floor}))
        await publish(url, floor, binary=True, pause_every=4)
        await healthy_task
        assert hub.closed_slow == 1 and len(hub.subscribers) == 1
        _, reason = await _closed_for(stalled)
        assert "messages waiting" in reason


async def test_subscriber_behind_too_long_is_closed_with_a_reason():
    floor = small_floor(seed=8, calls_per_team=12, teams=("red",))
    async with hub_running(sndbuf=4096, max_lag_ticks=3, max_behind_s=0.2) as (hub, url), \
            stalled_subscriber(url) as stalled:
        await stalled.send(encode_like({"type": "subscribe", "teams": None}, False))
        while not hub.subscribers:
            await asyncio.sleep(0.01)
        await publish(url, floor, binary=True, pause_every=4)
        for _ in range(200):
            if hub.closed_slow:
                break
            await asyncio.sleep(0.05)
        assert hub.closed_slow == 1 and not hub.subscribers
        received, reason = await _closed_for(stalled)
        assert received > 0
        assert "too slow" in reason
