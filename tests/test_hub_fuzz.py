"""100,000 hostile frames at a real hub on 127.0.0.1, while a well-behaved producer and
subscriber go on: every good sample arrives, every bad frame is answered, and the hub's
memory stays bounded.

The frames are the cases that broke hubs before, seeded and shuffled: random bytes,
absurd but finite numbers (1e39 dB, t = ±1.7e308, dt = 1.7e308), values nested a
thousand deep, huge integers, markup and escape sequences in ids, unknown calls and
types, duplicate call_starts, and near-valid batches.
"""

from __future__ import annotations

import asyncio
import json
import random
import resource

import msgpack
from websockets.asyncio.client import connect

from feeds.core.protocol import decode_frame
from tests.hubkit import T0, hub_running, read_until, subscribe_to

FRAMES = 100_000
PER_BATCH = 500  # frames sent between reads of the replies
GOOD_SAMPLES = 400


def _nested(depth: int) -> object:
    value: object = {"type": "sample"}
    for _ in range(depth):
        value = [value]
    return value


def _hostile(rng: random.Random, i: int, prefix: str) -> str | bytes:
    call = f"{prefix}{i % 50}"
    kind = rng.randrange(12)
    if kind == 0:
        return rng.randbytes(rng.randrange(1, 64))
    if kind == 1:
        return json.dumps({"type": "sample", "call": call, "t": T0, "dt": 0.25,
                           "cust_db": rng.choice([1e39, -1e308, 1e308, 3.4e38])})
    if kind == 2:
        return json.dumps({"type": "call_start", "call": call, "t": rng.choice(
            [-1.7e308, 1.7e308, -1.0, 1e12]), "agent": "a", "team": "red"})
    if kind == 3:
        return json.dumps({"type": "sample", "call": call, "t": T0, "dt": 1.7e308})
    if kind == 4:
        return msgpack.packb({"type": "batch", "items": [_nested(rng.choice([50, 1000]))]})
    if kind == 5:
        return msgpack.packb({"type": "sample", "call": call, "t": 2**62, "dt": 2**62})
    if kind == 6:
        return json.dumps({"type": "call_start", "call": f"bad[/{i % 7}\x1b[2J", "t": T0,
                           "agent": "[blink]x", "team": "red", "agent_name": "\x1b]0;t\x07"})
    if kind == 7:
        return json.dumps({"type": "call_end", "call": f"ghost{i}", "t": T0})
    if kind == 8:
        return json.dumps({"type": rng.choice(["ack", "subscribe", "nope", 7, None])})
    if kind == 9:
        return json.dumps({"type": "batch", "items": [
            {"type": "sample", "call": call, "t": T0 + 1, "dt": 0.25, "cust_db": "loud"},
            {"type": "event", "call": call, "t": T0, "event": "talk_over", "by": "agent",
             "dur": 1e300}]})
    if kind == 10:
        return json.dumps({"type": "event", "call": call, "t": T0, "event": "transfer",
                           "to": "x" * 300})
    return json.dumps({"type": "sample", "call": call, "t": T0 + rng.random(), "dt": 0.25,
                       "cust_db": -30.0, "cust_pitch": 0.0})


async def _attack(url: str, seed: int, frames: int) -> int:
    """Send `frames` hostile frames; return how many replies (errors) came back."""
    rng = random.Random(seed)
    replies = 0
    prefix = f"h{seed}-"
    async with connect(url + "/publish", max_size=None, max_queue=None) as ws:
        # live calls for the absurd numbers to land on (before the fixes, 1e39 dB in a
        # live call's trace closed every subscriber of its team and killed housekeeping)
        await ws.send(json.dumps({"type": "batch", "items": [
            {"type": "call_start", "call": f"{prefix}{n}", "t": T0, "agent": "a",
             "team": "red"} for n in range(50)]}))
        for start in range(0, frames, PER_BATCH):
            for i in range(start, min(frames, start + PER_BATCH)):
                await ws.send(_hostile(rng, i, prefix))
            await ws.send(json.dumps({"type": "call_end", "call": f"marker{start}", "t": T0}))
            async with asyncio.timeout(60):
                while True:
                    reply = decode_frame(await ws.recv())
                    replies += 1
                    assert reply["type"] == "error", reply
                    if f"marker{start}" in reply["detail"]:
                        break
    return replies


async def test_a_hundred_thousand_hostile_frames_cost_nobody_a_sample():
    async with hub_running() as (hub, url), subscribe_to(url) as sub, \
            connect(url + "/publish") as good:
        await sub.send(json.dumps({"type": "subscribe", "teams": None}))
        await read_until(sub, lambda m: m["type"] == "snapshot")
        await good.send(json.dumps({"type": "call_start", "call": "g1", "t": T0,
                                    "agent": "ann", "team": "blue"}))
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        async def behave() -> None:
            for n in range(GOOD_SAMPLES):
                await good.send(json.dumps({"type": "sample", "call": "g1",
                                            "t": T0 + 0.25 * (n + 1), "dt": 0.25,
                                            "cust_db": -30.0, "cust_pitch": 180.0}))
                await asyncio.sleep(0.01)

        attacks = [_attack(url, seed, FRAMES // 2) for seed in (1, 2)]
        replies = await asyncio.gather(behave(), *attacks)
        got = await read_until(sub, lambda m: m["type"] == "sample"
                               and m["t"] == T0 + 0.25 * GOOD_SAMPLES, timeout=60)
        samples = [m for m in got if m["type"] == "sample" and m["call"] == "g1"]
        assert [m["t"] for m in samples] == [T0 + 0.25 * (n + 1) for n in range(GOOD_SAMPLES)]
        assert all(m["type"] != "error" for m in got)  # the subscriber was never told off
        assert sum(replies[1:]) >= FRAMES * 0.7  # most hostile frames were refused by name
        assert hub.errors["internal"] == 0
        grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        assert grown_mb < 200, grown_mb  # the test process (hub and attackers) included
        assert len(hub.calls) <= 120
