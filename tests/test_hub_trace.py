"""The hub's 1-second traces: `call_update` carries the last second, focus sends the trace."""

from __future__ import annotations

from websockets.asyncio.client import connect

from feeds.core.protocol import encode_like
from tests.hubkit import T0, hub_running, publish, read_until, small_floor, subscribe_to


def _first_minute() -> list[dict]:
    """The small floor's first 70 s of event time: red-1 has a loud customer at 40-55 s."""
    return [m for m in small_floor() if m["t"] < T0 + 70]


async def test_call_update_carries_the_last_complete_seconds_means():
    async with hub_running() as (hub, url), subscribe_to(url) as ws:
        await ws.send(encode_like({"type": "subscribe", "teams": ["red"], "detail": "summary"},
                                  False))
        await read_until(ws, lambda m: m["type"] == "snapshot")
        await publish(url, _first_minute(), binary=True)
        update = (await read_until(ws, lambda m: m["type"] == "call_update"
                                   and m["call"] == "red-1" and m["t"] >= T0 + 69))[-1]
        second = update["t_1s"]
        assert second == int(update["t"]) - 1
        # the small floor alternates speakers every half second: both talk in every second
        assert -32 < update["cust_db_1s"] < -24 and 180 < update["cust_pitch_1s"] < 240
        assert -30 < update["agent_db_1s"] < -22 and 100 < update["agent_pitch_1s"] < 140
        # the v1 fields keep their meaning: the last sample's levels (one party is silent)
        assert (update["cust_db"] is None) != (update["agent_db"] is None)
        trace = hub.calls.get("red-1").trace
        assert trace.last() == {k: update[k] for k in trace.last()}


async def test_focusing_a_call_sends_its_trace_before_its_live_samples():
    async with hub_running() as (hub, url), subscribe_to(url) as ws, \
            connect(url + "/publish") as producer:
        await ws.send(encode_like({"type": "subscribe", "teams": ["red"], "detail": "summary"},
                                  True))
        await read_until(ws, lambda m: m["type"] == "snapshot")
        await publish(url, _first_minute(), binary=False)
        # the producer above has gone; this one takes the call over and goes on live
        await ws.send(encode_like({"type": "subscribe", "teams": ["red"], "detail": "summary",
                                   "focus": ["red-1", "blue-1", "gone"]}, True))
        got = await read_until(ws, lambda m: m["type"] == "trace")
        assert got[-2]["type"] == "snapshot"  # the trace follows the new snapshot at once
        trace = got[-1]
        assert trace["call"] == "red-1"  # blue-1 is outside the subscription, "gone" unknown
        start = T0 + 1  # red-1 started at T0 + 1; its first sample ends at T0 + 1.25
        assert trace["t0"] == start and trace["step"] == 1.0
        assert len(trace["cust_db"]) == int(T0 + 69.75) - int(start)
        # bin i is second i of the call: loud at 40-55 s, the spike clears a few s later
        loud = [db for i, db in enumerate(trace["cust_db"]) if 41 <= i < 54]
        calm = [db for i, db in enumerate(trace["cust_db"]) if 15 <= i < 39]
        assert min(loud) > max(calm) + 6
        spiking = [i for i, s in enumerate(trace["cust_spike"]) if s]
        assert spiking and min(spiking) >= 40 and max(spiking) <= 60
        assert -31 < trace["cust_db_base"] < -25
        assert all(x is not None for x in trace["agent_db"])
        await producer.send(encode_like({"type": "sample", "call": "red-1", "t": T0 + 70.5,
                                         "dt": 0.5, "cust_db": -20.0}, False))
        rest = await read_until(ws, lambda m: m["type"] == "sample")
        assert rest[-1]["call"] == "red-1" and rest[-1]["cust_db"] == -20.0
        assert not [m for m in rest if m["type"] == "trace"]  # sent once per focus
        # a resubscribe that keeps the focus does not send it again; a new focus does
        await ws.send(encode_like({"type": "subscribe", "teams": ["red"], "detail": "summary",
                                   "focus": ["red-1", "red-2"]}, True))
        again = await read_until(ws, lambda m: m["type"] == "trace")
        assert again[-1]["call"] == "red-2"
        assert [m["call"] for m in again if m["type"] == "trace"] == ["red-2"]
        assert hub.calls.get("red-1") is not None
