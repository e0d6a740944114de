"""Well-formed input cannot break the hub: absurd numbers are refused by name, memory
is bounded in bytes whatever a client sends or fails to read, live calls are capped,
silent calls expire (a real hub on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import json

import msgpack
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from feeds.core.protocol import decode_frame
from tests.hubkit import T0, hub_running, read_until, subscribe_to


def _start(call: str, t: float = T0, team: str = "red") -> dict:
    return {"type": "call_start", "call": call, "t": t, "agent": "a1", "team": team}


async def _errors(ws, frames: list, marker: str = "zz-marker") -> list[dict]:
    """Send the frames, then a marker whose error says every earlier one was taken."""
    for frame in frames:
        await ws.send(frame)
    await ws.send(json.dumps({"type": "call_end", "call": marker, "t": T0}))
    errors = []
    async with asyncio.timeout(10):
        while True:
            msg = decode_frame(await ws.recv())
            if marker in msg["detail"]:
                return errors
            errors.append(msg)


async def test_absurd_numbers_are_refused_by_name_and_the_hub_keeps_serving():
    async with hub_running() as (hub, url), connect(url + "/publish") as producer, \
            subscribe_to(url) as sub:
        await sub.send(json.dumps({"type": "subscribe"}))
        await read_until(sub, lambda m: m["type"] == "snapshot")
        nested: object = {"type": "sample"}
        for _ in range(1000):
            nested = [nested]
        errors = await _errors(producer, [
            json.dumps(_start("c1")),
            json.dumps({"type": "sample", "call": "c1", "t": T0 + 1, "dt": 0.25,
                        "cust_db": 1e39}),  # overflowed the float32 trace
            json.dumps({"type": "sample", "call": "c1", "t": T0 + 1, "dt": 1.7e308}),
            json.dumps(_start("c2", t=-1.7e308)),  # gave a flag at t = -inf
            json.dumps({"type": "sample", "call": "c1", "t": 1.7e308, "dt": 0.25}),
            msgpack.packb({"type": "batch", "items": [nested]}),  # a RecursionError
            json.dumps({"type": "sample", "call": "c1", "t": T0 + 1, "dt": 0.25,
                        "cust_pitch": 0.0}),
        ])
        codes = [(e["code"], e["detail"].split(":")[0]) for e in errors]
        assert codes == [("out_of_range", "sample.cust_db"), ("out_of_range", "sample.dt"),
                         ("out_of_range", "call_start.t"), ("out_of_range", "sample.t"),
                         ("invalid", "batch.items[0]"), ("out_of_range", "sample.cust_pitch")]
        # the connection is open and the call goes on: a good sample reaches the subscriber
        await producer.send(json.dumps({"type": "sample", "call": "c1", "t": T0 + 2,
                                        "dt": 0.25, "cust_db": -30.0}))
        got = await read_until(sub, lambda m: m["type"] == "sample" and m["t"] == T0 + 2)
        assert got[-1]["cust_db"] == -30.0
        assert hub.errors["out_of_range"] == 5
        async with subscribe_to(url) as asker:
            await asker.send(json.dumps({"type": "subscribe"}))
            await read_until(asker, lambda m: m["type"] == "snapshot")
            await asker.send(msgpack.packb({"type": "history", "limit": 2**63}))
            error = (await read_until(asker, lambda m: m["type"] == "error"))[-1]
            assert error["detail"].startswith("history.limit: expected whole number 1..")


async def test_a_client_that_asks_and_never_reads_is_closed_with_its_bytes_bounded(tmp_path):
    async with hub_running(tmp_path / "hub.db", sndbuf=4096, max_bytes=256 * 1024) as (
            hub, url), connect(url + "/publish") as producer:
        await _errors(producer, [json.dumps({"type": "batch", "items": [
            _start(f"c{i}") for i in range(300)]})])
        async with connect(url + "/subscribe", max_queue=1, max_size=None) as greedy:
            await greedy.send(json.dumps({"type": "subscribe"}))
            closed = False
            for _ in range(2000):  # bounded: 2,000 requests, 30 s
                try:
                    await greedy.send(json.dumps({"type": "history"}))
                except ConnectionClosed:
                    closed = True
                    break
                await asyncio.sleep(0.005)
                if not hub.subscribers:
                    closed = True
                    break
            assert closed
            assert hub.errors["slow_subscriber"] >= 1
            assert all(s._pending_bytes <= 256 * 1024 for s in hub.subscribers)


async def test_live_calls_are_capped_per_hub_and_per_producer():
    async with hub_running(max_calls=5, max_calls_per_producer=3) as (hub, url), \
            connect(url + "/publish") as one, connect(url + "/publish") as two:
        errors = await _errors(one, [json.dumps(_start(f"a{i}")) for i in range(4)])
        assert [e["code"] for e in errors] == ["too_many_calls"]
        assert "max_calls_per_producer 3" in errors[0]["detail"]
        errors = await _errors(two, [json.dumps(_start(f"b{i}")) for i in range(3)])
        assert [e["code"] for e in errors] == ["too_many_calls"]
        assert "(max_calls 5)" in errors[0]["detail"]
        assert len(hub.calls) == 5
        await _errors(one, [json.dumps({"type": "call_end", "call": "a0", "t": T0 + 5})])
        assert await _errors(two, [json.dumps(_start("b9"))]) == []  # room again


async def test_a_silent_call_expires_though_its_producer_is_connected():
    async with hub_running(idle_call_s=60.0) as (hub, url), connect(url + "/publish") as ws:
        await _errors(ws, [json.dumps(_start("c1")), json.dumps(_start("c2"))])
        call = hub.calls.get("c1")
        hub.end_idle(call.seen_at + 30.0)
        assert len(hub.calls) == 2
        hub.end_idle(call.seen_at + 61.0)
        assert len(hub.calls) == 0 and hub.counts["idle_ended"] == 2
        assert hub.calls.owned_by(next(iter(hub.producers))) == 0
