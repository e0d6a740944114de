"""The client library against a real hub: reconnect, resubscribe, summary detail, focus."""

from __future__ import annotations

import asyncio
import socket

import pytest

from feeds.client.subscriber import FeedClient, FeedDisconnected
from feeds.core.protocol import ProtocolError
from feeds.hub.server import Hub, running_hub
from tests.hubkit import T0, hub_running, publish, small_floor


async def _next(stream, kind: str, limit: int = 100_000) -> dict:
    async with asyncio.timeout(30):
        for _ in range(limit):
            msg = await anext(stream)
            if msg["type"] == kind:
                return msg
    raise AssertionError(f"no {kind} message")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_client_reconnects_and_resubscribes_after_a_hub_restart():
    port = _free_port()
    url = f"ws://127.0.0.1:{port}"
    client = FeedClient(url + "/subscribe", teams=["red"], user="ann",
                        backoff_initial=0.05, backoff_max=0.2)
    stream = client.messages()
    try:
        async with running_hub(Hub(), port=port) as _:
            status = await anext(stream)
            assert (status["type"], status["state"], status["attempt"]) == (
                "status", "connecting", 1)
            assert (await _next(stream, "status"))["state"] == "connected"
            await _next(stream, "snapshot")
            await publish(url, [{"type": "call_start", "call": "r1", "t": T0, "agent": "a",
                                 "team": "red"}], binary=True)
            assert (await _next(stream, "call_start"))["call"] == "r1"
        down = await _next(stream, "status")
        assert down["state"] == "reconnecting"
        with pytest.raises(FeedDisconnected, match="not connected"):
            await client.send({"type": "note", "call": "r1", "text": "hello"})
        retry = await _next(stream, "status")  # the first attempt against a closed port
        assert (retry["state"], retry["attempt"]) == ("reconnecting", 2)
        assert "retrying in" in retry["detail"]
        hub = Hub()
        async with running_hub(hub, port=port) as _:
            while (msg := await anext(stream))["type"] != "status" or msg["state"] != "connected":
                assert msg["type"] == "status" and msg["state"] == "reconnecting"
            snapshot = await _next(stream, "snapshot")
            assert snapshot["calls"] == []  # a new hub: the call is gone
            (sub,) = hub.subscribers
            assert (sub.teams, sub.user, sub.batch) == (frozenset({"red"}), "ann", True)
            await client.set_teams(["red", "blue"])
            await _next(stream, "snapshot")
            assert sub.teams == frozenset({"red", "blue"})
    finally:
        await client.close()


async def test_summary_detail_sends_call_updates_and_focus_gets_raw_samples():
    floor = [m for m in small_floor(seed=9, teams=("red",), calls_per_team=2)
             if m["t"] < T0 + 40]
    async with hub_running() as (_, url), FeedClient(
            url + "/subscribe", detail="summary", focus=["red-1"]) as client:
        stream = client.messages()
        await _next(stream, "snapshot")
        await publish(url, floor, binary=False)
        seen: list[dict] = []
        async with asyncio.timeout(30):
            while not {"red-0", "red-1"} <= {m["call"] for m in seen
                                             if m["type"] == "call_update"}:
                seen.append(await anext(stream))
        with pytest.raises(ProtocolError, match="ack: missing required field 'flag'"):
            await client.send({"type": "ack"})
    samples = {m["call"] for m in seen if m["type"] == "sample"}
    assert samples == {"red-1"}
    updates = [m for m in seen if m["type"] == "call_update"]
    assert all(m["call"] in ("red-0", "red-1") and "hold_total" in m for m in updates)
    # at most one per changed call per second: the burst of ~300 messages per call
    # spans at most two of the hub's update rounds
    assert all(sum(1 for m in updates if m["call"] == c) <= 2 for c in ("red-0", "red-1"))
