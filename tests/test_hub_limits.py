"""Well-formed input cannot break the hub: absurd numbers are refused by name, memory
is bounded in bytes whatever a client sends or fails to read, live calls are capped,
silent calls expire (a real hub on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import contextlib
import json

import msgpack
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from feeds.core.protocol import decode_frame
from tests.hubkit import T0, hub_running, read_until, stalled_subscriber, subscribe_to


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
    """History asked four times a second (within the rate limit), nothing read: the
    answers wait, the client is behind from its second request and closed once behind
    for max_behind_s; its bytes waiting stay under max_bytes all along."""
    async with hub_running(tmp_path / "hub.db", sndbuf=4096, max_bytes=256 * 1024,
                           max_behind_s=2.0) as (hub, url), \
            connect(url + "/publish") as producer:
        await _errors(producer, [json.dumps({"type": "batch", "items": [
            _start(f"c{i}") for i in range(300)]})])
        async with connect(url + "/subscribe", max_queue=1, max_size=None) as greedy:
            await greedy.send(json.dumps({"type": "subscribe"}))
            closed = False
            for _ in range(60):  # bounded: 60 requests, 15 s
                try:
                    await greedy.send(json.dumps({"type": "history"}))
                except ConnectionClosed:
                    closed = True
                    break
                assert all(s.pending_bytes <= 256 * 1024 for s in hub.subscribers)
                await asyncio.sleep(0.25)
                if not hub.subscribers:
                    closed = True
                    break
            assert closed
            assert hub.errors["slow_subscriber"] == 1
            assert hub.errors["rate_limited"] == 0


async def test_a_client_asking_in_a_loop_is_told_to_slow_down_then_closed():
    async with hub_running() as (hub, url), subscribe_to(url) as asker, \
            subscribe_to(url) as calm:
        await calm.send(json.dumps({"type": "subscribe"}))
        await read_until(calm, lambda m: m["type"] == "snapshot")
        for _ in range(25):  # the burst the hub takes at once, and then some
            await asker.send(json.dumps({"type": "subscribe", "teams": None}))
        refused = (await read_until(asker, lambda m: m.get("code") == "rate_limited"))[-1]
        assert refused["detail"].startswith("subscribe: more than 5 subscribes and history")
        with contextlib.suppress(ConnectionClosed):
            for _ in range(200):  # bounded: told, and told again
                await asker.send(json.dumps({"type": "history"}))
            async with asyncio.timeout(10):
                while True:
                    await asker.recv()
        assert asker.close_code == 1008 and asker.close_reason.startswith("too many requests")
        assert hub.errors["too_many_requests"] == 1
        await calm.send(json.dumps({"type": "history"}))  # everyone else is served
        await read_until(calm, lambda m: m["type"] == "history")


async def test_a_newer_snapshot_replaces_one_still_waiting_and_the_hub_has_a_budget(
        tmp_path):
    """Stalled clients whose answers wait: re-subscribing keeps one snapshot waiting,
    not one per request; and past the hub's budget for all subscribers the one with
    the most waiting is closed."""
    async with hub_running(tmp_path / "hub.db", sndbuf=4096, max_total_bytes=600_000) as (
            hub, url), \
            connect(url + "/publish") as producer:
        await _errors(producer, [json.dumps({"type": "batch", "items": [
            _start(f"c{i}", team=f"t{i % 2}") for i in range(j, j + 500)]})
            for j in range(0, 2000, 500)])
        async with stalled_subscriber(url) as one, stalled_subscriber(url) as two:
            await one.send(json.dumps({"type": "subscribe", "teams": ["t0"]}))
            sizes = []
            for _ in range(8):  # bounded: 8 requests, 2.4 s
                await one.send(json.dumps({"type": "subscribe", "teams": ["t0"]}))
                await asyncio.sleep(0.3)
                sizes.append(max(s.pending_bytes for s in hub.subscribers))
            assert 0 < max(sizes) < 2 * min(sizes[2:])  # one snapshot waits, not eight
            await two.send(json.dumps({"type": "subscribe", "teams": None}))
            for _ in range(8):  # bounded: 8 requests, 4 s; histories of every live call pile up
                await asyncio.sleep(0.5)
                if len(hub.subscribers) < 2:
                    break
                with contextlib.suppress(ConnectionClosed):
                    await two.send(json.dumps({"type": "history"}))
            assert len(hub.subscribers) == 1  # the heavier one went
            assert hub.errors["slow_subscriber"] == 1


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
