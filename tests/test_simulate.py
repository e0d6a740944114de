"""Producers for real: `floorwatch hub` + `simulate` / `replay --to` as processes, and DemoFloor."""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import connect

from feeds.client.credentials import auth_headers, find_token
from feeds.client.subscriber import FeedClient
from feeds.core.recording import write_recording
from feeds.sim.demo import DemoFloor
from feeds.sim.generator import floor_messages
from tests.hubkit import (
    FLOORWATCH,
    replay_flags,
    start_hub_process,
    stop_hub_process,
    watching,
)


async def test_hub_and_simulate_processes_stream_json_calls_and_flags(tmp_path):
    hub, url = await start_hub_process(tmp_path / "hub.db")
    try:
        # the hub wrote this machine's admin token; a client here finds it by itself
        async with connect(url + "/subscribe", max_size=None, max_queue=None,
                           additional_headers=auth_headers(find_token())) as ws:
            await ws.send('{"type":"subscribe","teams":null}')
            sim = await asyncio.create_subprocess_exec(
                FLOORWATCH, "simulate", "--to", url + "/publish", "--calls", "12",
                "--warmup", "240", "--duration", "241", "--json",
                stderr=asyncio.subprocess.PIPE)
            kinds: dict[str, int] = {}
            async with asyncio.timeout(60):
                while kinds.get("flag", 0) < 3 or not kinds.get("sample"):
                    frame = await ws.recv()
                    assert isinstance(frame, str)  # the JSON form, as this client used
                    kind = json.loads(frame)["type"]
                    kinds[kind] = kinds.get(kind, 0) + 1
            assert await asyncio.wait_for(sim.wait(), 60) == 0
            assert b"published" in await sim.stderr.read()
        assert kinds["hello"] == kinds["snapshot"] == 1
        assert kinds["call_start"] >= 1
    finally:
        assert await stop_hub_process(hub) == 0


async def test_replay_to_publishes_a_recording_with_the_same_flags(tmp_path):
    recording = tmp_path / "floor.jsonl"
    messages = list(floor_messages(seed=5, agents=6, duration_s=300.0, teams=2))
    write_recording(recording, messages)
    expected = replay_flags(messages)
    assert expected
    hub, url = await start_hub_process(tmp_path / "hub.db")
    try:
        async with watching(url) as stream:
            replay = await asyncio.create_subprocess_exec(
                FLOORWATCH, "replay", str(recording), "--to", url + "/publish", "--fast",
                stderr=asyncio.subprocess.PIPE)
            assert await asyncio.wait_for(replay.wait(), 60) == 0
            flags = []
            async with asyncio.timeout(60):
                while len(flags) < len(expected):
                    msg = await anext(stream)
                    if msg["type"] == "flag":
                        flags.append(msg)
        assert sorted((f["id"], f["state"], f["t"]) for f in flags) == sorted(
            (f["id"], f["state"], f["t"]) for f in expected)
    finally:
        assert await stop_hub_process(hub) == 0


async def test_demo_floor_shows_calls_in_progress_and_an_intervene_flag(tmp_path):
    async with DemoFloor(agents=16, seed=1, warmup_s=120, db=tmp_path / "demo.db") as floor, \
            FeedClient(floor.url, detail="summary", token=floor.token) as client:
        assert floor.url.startswith("ws://127.0.0.1:") and floor.url.endswith("/subscribe")
        stream = client.messages()
        snapshot = None
        intervene = None
        async with asyncio.timeout(60):
            while intervene is None:
                msg = await anext(stream)
                if msg["type"] == "snapshot" and snapshot is None:
                    snapshot = msg
                    flags = msg["flags"]
                elif msg["type"] == "flag":
                    flags = [msg]
                else:
                    continue
                intervene = next((f for f in flags if f["kind"] == "intervene"), None)
        assert snapshot is not None and snapshot["calls"]  # the warm-up's calls in progress
        assert intervene["rule"] in ("hold_long", "transfers", "customer_distress")
    assert (tmp_path / "demo.db").exists()
