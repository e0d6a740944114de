"""Wall time in the hub: quiet holds still time out, snoozes end; actions reach producers."""

from __future__ import annotations

import asyncio

from websockets.asyncio.client import connect

from feeds.core.protocol import decode_frame, encode_like
from tests.hubkit import T0, hub_running, read_until, subscribe_to


def _hold_call(call: str, held_s: float) -> list[dict]:
    """A call put on hold at T0 + 5 whose producer has sent `held_s` seconds of hold samples."""
    out = [{"type": "call_start", "call": call, "t": T0, "agent": "a", "team": "red"},
           {"type": "event", "call": call, "t": T0 + 5, "event": "hold_start"}]
    t = T0 + 5
    while t < T0 + 5 + held_s:
        t += 0.5
        out.append({"type": "sample", "call": call, "t": t, "dt": 0.5})
    return out


async def test_a_quiet_hold_still_becomes_hold_long_and_a_talking_call_does_not_move():
    async with hub_running(quiet_s=0.3) as (hub, url), subscribe_to(url) as ws, \
            connect(url + "/publish") as producer:
        await ws.send(encode_like({"type": "subscribe", "teams": None}, False))
        await read_until(ws, lambda m: m["type"] == "snapshot")
        talking = {"type": "call_start", "call": "talk", "t": T0, "agent": "b", "team": "red"}
        await producer.send(encode_like(
            {"type": "batch", "items": [*_hold_call("quiet", 119.0), talking]}, True))
        # nothing more is sent: only the hub's wall clock can complete the 120 s hold
        flag = (await read_until(ws, lambda m: m["type"] == "flag", timeout=30))[-1]
        assert (flag["call"], flag["rule"], flag["state"]) == ("quiet", "hold_long", "raised")
        assert flag["t"] == T0 + 5 + 120  # event time: when the threshold was crossed
        assert "timed by the hub's clock: no message from the call's producer" in (
            flag["evidence"])
        assert flag["values"]["quiet_s"] >= 0.3
        assert hub.engine.calls["talk"].t == T0


async def test_snooze_ends_and_the_flag_is_raised_again():
    async with hub_running() as (_, url), subscribe_to(url) as ws, \
            connect(url + "/publish") as producer:
        await ws.send(encode_like({"type": "subscribe", "teams": ["red"], "user": "sam"},
                                  False))
        await read_until(ws, lambda m: m["type"] == "snapshot")
        await producer.send(encode_like(
            {"type": "batch", "items": _hold_call("c", 121.0)}, False))
        flag = (await read_until(ws, lambda m: m["type"] == "flag"))[-1]
        await ws.send(encode_like({"type": "snooze", "flag": flag["id"], "seconds": 0.3},
                                  False))
        snoozed = (await read_until(ws, lambda m: m["type"] == "flag"))[-1]
        assert (snoozed["state"], snoozed["by"]) == ("snoozed", "sam")
        assert snoozed["until"] > snoozed["at"]
        again = (await read_until(ws, lambda m: m["type"] == "flag", timeout=30))[-1]
        assert (again["id"], again["state"]) == (flag["id"], "raised")
        assert "until" not in again


async def test_action_is_forwarded_to_the_calls_producer_and_echoed():
    async with hub_running() as (_, url), subscribe_to(url) as ws:
        await ws.send(encode_like({"type": "subscribe", "teams": None, "user": "lee"}, True))
        await read_until(ws, lambda m: m["type"] == "snapshot")
        async with connect(url + "/publish") as producer:
            await producer.send(encode_like(_hold_call("c", 1.0)[0], False))
            await read_until(ws, lambda m: m["type"] == "call_start")
            await ws.send(encode_like({"type": "action", "call": "c", "action": "barge"}, True))
            control = decode_frame(await asyncio.wait_for(producer.recv(), 10))
            assert {k: control[k] for k in ("type", "call", "action", "by")} == {
                "type": "control", "call": "c", "action": "barge", "by": "lee"}
            echo = (await read_until(ws, lambda m: m["type"] == "control"))[-1]
            assert echo == control
        await ws.send(encode_like({"type": "action", "call": "c", "action": "listen"}, True))
        error = (await read_until(ws, lambda m: m["type"] == "error"))[-1]
        assert error["code"] == "no_producer"


async def test_calls_of_a_vanished_producer_end_after_a_silence():
    async with hub_running(orphan_s=0.3) as (hub, url), subscribe_to(url) as ws:
        await ws.send(encode_like({"type": "subscribe", "teams": None}, False))
        await read_until(ws, lambda m: m["type"] == "snapshot")
        async with connect(url + "/publish") as producer:
            await producer.send(encode_like(
                {"type": "batch", "items": _hold_call("gone", 3.0)}, True))
            await read_until(ws, lambda m: m["type"] == "call_start")
            await asyncio.sleep(0.5)  # silent, but its producer is still connected
            assert "gone" in hub.engine.calls
        end = (await read_until(ws, lambda m: m["type"] == "call_end", timeout=30))[-1]
        assert (end["call"], end["reason"]) == ("gone", "producer gone")
        assert end["t"] > T0 + 5 + 3.0
        assert hub.counts["orphans_ended"] == 1
