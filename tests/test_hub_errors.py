"""Bad input never takes the hub or another call down; it is answered and counted."""

from __future__ import annotations

import asyncio
import json

import msgpack
from websockets.asyncio.client import connect

from feeds.core.protocol import MAX_MESSAGE_BYTES, decode_frame, encode_like
from tests.hubkit import T0, hub_running, read_until, subscribe_to


async def _healthz(url: str) -> dict:
    host, port = url.removeprefix("ws://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    response = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"application/json" in head
    return json.loads(body)


async def _reply(ws, frame) -> dict:
    await ws.send(frame)
    reply = await asyncio.wait_for(ws.recv(), 10)
    msg = decode_frame(reply)
    assert msg["type"] == "error"
    return {"binary": isinstance(reply, bytes), **msg}


START = {"type": "call_start", "call": "c1", "t": T0, "agent": "a1", "team": "red"}


async def test_bad_frames_get_named_errors_and_are_counted():
    async with hub_running() as (hub, url), connect(url + "/publish") as ws:
        await ws.send(json.dumps(START))
        cases = [
            ("{not json", "bad_encoding", "not valid JSON", False),
            (b"\xc1\xff", "bad_encoding", "not valid MessagePack", True),
            (json.dumps({"type": "gossip"}), "unknown_type", "gossip", False),
            (json.dumps({"type": "sample", "call": "c1", "t": T0 + 1, "dt": 0.5,
                         "cust_db": "loud"}),
             "invalid", "sample.cust_db: expected number or null, got 'loud'", False),
            (msgpack.packb({"type": "sample", "call": "ghost", "t": T0, "dt": 0.5}),
             "unknown_call", "unknown call 'ghost'", True),
            (json.dumps({"type": "event", "call": "c1", "t": T0}), "invalid",
             "missing required field 'event'", False),
            (b"\x00" * (MAX_MESSAGE_BYTES + 10), "too_big", "larger than", True),
        ]
        for frame, code, words, binary in cases:
            reply = await _reply(ws, frame)
            assert (reply["code"], reply["binary"]) == (code, binary), reply
            assert words in reply["detail"]
        # a batch with one bad item: the others are applied
        batch = {"type": "batch", "items": [
            {"type": "sample", "call": "c1", "t": T0 + 2, "dt": 0.5, "cust_db": -30.0},
            {"type": "sample", "call": "nobody", "t": T0 + 2, "dt": 0.5},
            {"type": "event", "call": "c1", "t": T0 + 3, "event": "hold_start"},
        ]}
        reply = await _reply(ws, json.dumps(batch))
        assert reply["detail"].startswith("batch.items[1]: sample.call: unknown call")
        assert hub.engine.calls["c1"].on_hold
        # a malformed item costs only itself too
        batch = {"type": "batch", "items": [
            {"type": "event", "call": "c1", "t": T0 + 4, "event": "hold_end"},
            {"type": "sample", "call": "c1", "t": T0 + 5, "dt": "long"},
            {"type": "event", "call": "c1", "t": T0 + 6, "event": "transfer", "to": "q"},
        ]}
        reply = await _reply(ws, msgpack.packb(batch))
        assert (reply["code"], reply["binary"]) == ("invalid", True)
        assert reply["detail"] == "batch.items[1]: sample.dt: expected number, got 'long'"
        call = hub.engine.calls["c1"]
        assert (call.on_hold, call.transfers, call.t) == (False, 1, T0 + 6)
        health = await _healthz(url)
    assert health["calls"] == 1
    assert health["connections"] == {"producers": 1, "subscribers": 0}
    assert health["errors"] == {"bad_encoding": 2, "unknown_type": 1, "invalid": 3,
                                "unknown_call": 2, "too_big": 1}
    assert health["errors_total"] == 9


async def test_another_producer_cannot_touch_a_call_it_did_not_start():
    async with hub_running() as (hub, url), connect(url + "/publish") as owner, \
            connect(url + "/publish") as intruder:
        await owner.send(json.dumps(START))
        await owner.send(json.dumps({"type": "sample", "call": "c1", "t": T0 + 1, "dt": 1.0,
                                     "cust_db": -30.0}))
        reply = await _reply(intruder, json.dumps(
            {"type": "event", "call": "c1", "t": T0 + 5, "event": "hold_start"}))
        assert reply["code"] == "not_owner"
        reply = await _reply(intruder, json.dumps({**START, "agent": "a2"}))
        assert reply["code"] == "not_owner"
        call = hub.engine.calls["c1"]
        assert (call.on_hold, call.t, call.agent) == (False, T0 + 1, "a1")
        # the owner's connection was never disturbed
        reply = await _reply(owner, json.dumps({"type": "call_end", "call": "zz", "t": T0}))
        assert reply["code"] == "unknown_call"


async def test_bad_subscriber_messages_get_errors_and_the_feed_goes_on():
    async with hub_running() as (_, url), subscribe_to(url) as ws, \
            connect(url + "/publish") as producer:
        reply = await _reply(ws, json.dumps({"type": "ack", "flag": "x"}))
        assert reply["code"] == "not_subscribed"
        await ws.send(encode_like({"type": "subscribe", "teams": None}, True))
        await read_until(ws, lambda m: m["type"] == "snapshot")
        for frame, code in [
            (encode_like({"type": "ack", "flag": "c9:hold_long:1"}, True), "unknown_flag"),
            (encode_like({"type": "subscribe", "teams": "red"}, True), "invalid"),
            (encode_like(START, True), "unexpected_type"),
            (encode_like({"type": "snooze", "flag": "f", "seconds": -1}, True), "invalid"),
            (encode_like({"type": "action", "call": "c1", "action": "dance"}, True), "invalid"),
            (encode_like({"type": "note", "call": "nope", "text": "hi"}, True), "unknown_call"),
        ]:
            reply = await _reply(ws, frame)
            assert (reply["code"], reply["binary"]) == (code, True)
        await producer.send(json.dumps(START))
        seen = await read_until(ws, lambda m: m["type"] == "call_start")
        assert seen[-1]["call"] == "c1"


async def test_frames_over_the_hard_limit_close_with_a_reason():
    async with hub_running() as (hub, url):
        ws = await connect(url + "/publish", max_size=None)
        await ws.send(b"\x00" * (4 * MAX_MESSAGE_BYTES + 1))
        await asyncio.wait_for(ws.wait_closed(), 10)  # the hub closed it; nothing to close
        assert ws.close_code == 1009
        async with connect(url + "/publish") as ws:  # the hub itself is fine
            reply = await _reply(ws, "[]")
            assert reply["code"] == "invalid"
        assert (await _healthz(url))["connections"]["producers"] == 0
        assert hub.errors["invalid"] == 1


async def test_unknown_keys_are_dropped_before_forwarding():
    """A producer's extra key (bytes, a 100-digit number) never breaks a subscriber's feed."""
    async with hub_running() as (_hub, url), subscribe_to(url) as sub:
        await sub.send(json.dumps({"type": "subscribe", "teams": None}))
        await read_until(sub, lambda m: m["type"] == "snapshot")
        async with connect(url + "/publish") as ws:
            await ws.send(msgpack.packb({**START, "blob": b"\x00\x01"}, use_bin_type=True))
            await ws.send(json.dumps({"type": "sample", "call": "c1", "t": T0 + 1, "dt": 0.5,
                                      "cust_db": -30.0, "big": 10**100}))
            await ws.send(json.dumps({"type": "event", "call": "c1", "t": T0 + 2,
                                      "event": "hold_start", "why": {"x": b"y".hex()}}))
            seen = await read_until(sub, lambda m: m["type"] == "event")
    forwarded = {m["type"]: m for m in seen}
    assert forwarded["call_start"] == START
    assert "big" not in forwarded["sample"] and forwarded["sample"]["cust_db"] == -30.0
    assert "why" not in forwarded["event"] and forwarded["event"]["event"] == "hold_start"
