"""`floorwatch gateway` as platforms use it: real processes (hub, gateway), a Twilio-format
client and an AudioHook-format client written here, a subscriber on the hub."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from itertools import pairwise
from pathlib import Path

import pytest
from aiohttp import web
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from feeds.client.credentials import auth_headers, find_token
from feeds.client.subscriber import FeedClient
from feeds.core.paths import local_token_path
from feeds.hub.auth import local_token
from tests.hubkit import FLOORWATCH, start_hub_process, stop_hub_process
from tests.speech import Line, Speech, Turn

KEY = "test-gateway-key"
RANT = "I have been waiting for this refund for weeks and nobody has ever called me back."


@pytest.fixture(scope="module")
def distress_call(speech: Speech, tmp_path_factory: pytest.TempPathFactory
                  ) -> tuple[bytes, bytes, float, float]:
    """μ-law bytes of each track of a call whose customer is distressed from `change` to
    `calm` seconds."""
    turns = speech.conversation(0.5, 22.0)
    change = at = turns[-1].at + speech.seconds(turns[-1]) + 0.6
    for text in [RANT, "This is the third time I have had to explain all of this to you."]:
        turns.append(Turn("customer", at, text, gain_db=9.0, cents=450))
        at += speech.seconds(turns[-1]) + 0.4
    turns += speech.conversation(at + 0.3, at + 14.0)
    path = speech.call("gateway-distress", turns, Line(bleed_db=-30.0, noise_db=-55.0))
    out = tmp_path_factory.mktemp("ulaw")
    tracks = []
    for channel in ("1", "2"):
        raw = out / f"{channel}.ul"
        subprocess.run(["sox", str(path), "-t", "raw", "-e", "u-law", "-c", "1", str(raw),
                        "remix", channel], check=True)
        tracks.append(raw.read_bytes())
    return tracks[0], tracks[1], change, at


@contextlib.asynccontextmanager
async def gateway_to(url: str, *args: str) -> AsyncIterator[str]:
    """`floorwatch gateway` publishing to `url`, as a process; its base URL."""
    gateway = await asyncio.create_subprocess_exec(
        FLOORWATCH, "gateway", "--to", url, "--port", "0", "--key", KEY, *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        line = (await asyncio.wait_for(gateway.stdout.readline(), 30)).decode()
        assert line.startswith("floorwatch gateway on http://127.0.0.1:"), line
        yield line.split()[3]
    finally:
        gateway.terminate()
        await asyncio.wait_for(gateway.wait(), 30)


@pytest.fixture
async def floor(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """A hub and a gateway publishing to it, as processes: (hub URL, gateway URL)."""
    hub, url = await start_hub_process(tmp_path / "hub.db")
    try:
        async with gateway_to(url, "--stall-timeout", "2") as base:
            yield url, base
    finally:
        assert await stop_hub_process(hub) == 0


async def twilio_stream(base: str, customer: bytes, agent: bytes, speed: float,
                        params: dict, stop: bool = True) -> None:
    """Stream two μ-law tracks as Twilio does, `speed` times faster than real time."""
    async with connect(base.replace("http", "ws") + "/twilio") as ws:
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        await ws.send(json.dumps({"event": "start", "sequenceNumber": "1", "start": {
            "streamSid": "MZ1", "callSid": "CA-test", "tracks": ["inbound", "outbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": params}, "streamSid": "MZ1"}))
        chunks = min(len(customer), len(agent)) // 160
        loop = asyncio.get_running_loop()
        began = loop.time()
        for k in range(chunks):
            for track, audio in (("inbound", customer), ("outbound", agent)):
                await ws.send(json.dumps({"event": "media", "streamSid": "MZ1", "media": {
                    "track": track, "chunk": str(k + 1), "timestamp": str(k * 20),
                    "payload": base64.b64encode(audio[k * 160:(k + 1) * 160]).decode()}}))
            if k % 10 == 9:
                await asyncio.sleep(max(0.0, began + (k + 1) * 0.02 / speed - loop.time()))
        if stop:
            await ws.send(json.dumps({"event": "stop", "stop": {"callSid": "CA-test"}}))


async def _watch(url: str, until: str, call: str, limit_s: float = 60.0) -> list[dict]:
    """The hub's messages about `call` until a flag of rule `until` (or call_end)."""
    seen: list[dict] = []
    async with FeedClient(url + "/subscribe", token=find_token()) as client:
        stream = client.messages()
        async with asyncio.timeout(limit_s):
            while True:
                msg = await anext(stream)
                if msg.get("call") == call:
                    seen.append(msg)
                    if msg.get("rule") == until or msg["type"] == "call_end":
                        return seen


async def test_a_twilio_stream_at_10x_gives_the_flags_at_the_right_event_times(
        floor, distress_call) -> None:
    url, base = floor
    customer, agent, change, calm = distress_call
    watcher = asyncio.create_task(_watch(url, "deescalated", "c-twilio"))
    await asyncio.sleep(0.5)
    await twilio_stream(base, customer, agent, 10.0, {
        "agent": "a7", "team": "billing", "call": "c-twilio", "key": KEY})
    seen = await watcher
    start = next(m for m in seen if m["type"] == "call_start")
    assert start["agent"] == "a7" and start["team"] == "billing"
    flags = [(m["rule"], round(m["t"] - start["t"], 2)) for m in seen
             if m["type"] == "flag" and m["state"] == "raised"]
    assert [rule for rule, _ in flags] == ["customer_distress", "deescalated"], seen[-3:]
    assert change < flags[0][1] <= change + 5.0
    assert calm < flags[1][1] < calm + 10.0
    samples = [m for m in seen if m["type"] == "sample"]
    assert all(b["t"] - a["t"] == pytest.approx(0.25) for a, b in pairwise(samples))


async def test_garbage_and_stalls_close_one_stream_not_the_others(floor, distress_call) -> None:
    _, base = floor
    customer, agent, _, _ = distress_call
    good = asyncio.create_task(twilio_stream(base, customer[:8000 * 8], agent[:8000 * 8], 4.0,
                                             {"agent": "a1", "team": "t", "call": "good",
                                              "key": KEY}))
    async with connect(base.replace("http", "ws") + "/twilio") as bad:
        await bad.send(json.dumps({"event": "start", "start": {
            "callSid": "CA-bad", "customParameters": {"agent": "a", "team": "t", "key": KEY}}}))
        await bad.send("{not json")
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(bad.recv(), 10)
    assert closed.value.rcvd.code == 1008 and "not JSON" in closed.value.rcvd.reason
    async with connect(base.replace("http", "ws") + "/twilio") as stalled:
        await stalled.send(json.dumps({"event": "start", "start": {
            "callSid": "CA-stall", "customParameters": {"agent": "a", "team": "t", "key": KEY}}}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(stalled.recv(), 10)
    assert "stalled" in closed.value.rcvd.reason
    async with connect(base.replace("http", "ws") + "/twilio") as stranger:
        await stranger.send(json.dumps({"event": "start", "start": {
            "callSid": "CA-x", "customParameters": {"agent": "a", "team": "t"}}}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(stranger.recv(), 10)
    assert "unauthorized" in closed.value.rcvd.reason
    await asyncio.wait_for(good, 30)
    status = json.loads(_http(base + "/status")[1])
    assert status["closed_with_error"] == 3 and status["dropped"] == 0


def _http(url: str, body: object | None = None, key: str | None = KEY) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"X-API-KEY": key} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def test_cti_events_for_a_streamed_call(floor, distress_call) -> None:
    url, base = floor
    customer, agent, _, _ = distress_call
    watcher = asyncio.create_task(_watch(url, "hold_long", "c-hold"))
    await asyncio.sleep(0.5)
    streaming = asyncio.create_task(twilio_stream(
        base, customer * 4, agent * 4, 40.0,
        {"agent": "a2", "team": "t", "call": "c-hold", "key": KEY}, stop=False))
    await asyncio.sleep(1.0)
    assert _http(base + "/events", {"type": "event", "call": "c-hold",
                                    "event": "hold_start"}) == (200, '{"accepted": 1}')
    assert _http(base + "/events", {"type": "event", "call": "nope", "event": "hold_end"}
                 )[0] == 404
    assert _http(base + "/events", {"type": "event", "call": "c-hold", "event": "fly"}
                 )[0] == 400
    assert _http(base + "/events", {"type": "event", "call": "c-hold"}, key="wrong")[0] == 401
    seen = await watcher
    streaming.cancel()
    hold = next(m for m in seen if m.get("event") == "hold_start")
    flag = seen[-1]
    assert flag["rule"] == "hold_long" and flag["t"] - hold["t"] == pytest.approx(120, abs=1)
    samples = [m for m in seen if m["type"] == "sample"]
    assert any(m["agent_db"] is not None for m in samples if m["t"] < hold["t"])
    # on hold, the agent's channel is hold music, not the agent: no agent levels
    assert all(m["agent_db"] is None for m in samples if m["t"] > hold["t"] + 0.5)


async def test_an_audiohook_session(floor) -> None:
    url, base = floor
    watcher = asyncio.create_task(_watch(url, "", "conv-1", 30))
    await asyncio.sleep(0.5)
    headers = {"X-API-KEY": KEY, "Audiohook-Session-Id": "s-1"}
    async with connect(base.replace("http", "ws") + "/audiohook",
                       additional_headers=headers) as ws:
        await ws.send(json.dumps({
            "version": "2", "type": "open", "seq": 1, "serverseq": 0, "id": "s-1",
            "position": "PT0S", "parameters": {
                "organizationId": "o", "conversationId": "conv-1",
                "participant": {"id": "p", "ani": "+15550001111"},
                "media": [{"type": "audio", "format": "PCMU", "rate": 8000,
                           "channels": ["external", "internal"]}],
                "customConfig": {"agent": "a3", "team": "t"}}}))
        opened = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert opened["type"] == "opened" and opened["clientseq"] == 1
        for _ in range(100):
            await ws.send(bytes([0xFF]) * 320)
        await ws.send(json.dumps({"version": "2", "type": "ping", "seq": 2, "serverseq": 1,
                                  "id": "s-1", "position": "PT2S", "parameters": {}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "pong"
        await ws.send(json.dumps({"version": "2", "type": "close", "seq": 3, "serverseq": 2,
                                  "id": "s-1", "position": "PT2S",
                                  "parameters": {"reason": "end"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "closed"
    seen = await watcher
    assert seen[0]["type"] == "call_start" and seen[0]["agent"] == "a3"
    assert seen[-1]["type"] == "call_end" and seen[-1]["t"] - seen[0]["t"] == pytest.approx(2.0)
    with pytest.raises(InvalidStatus) as refused:  # no key, no session
        await connect(base.replace("http", "ws") + "/audiohook")
    assert refused.value.response.status_code == 401


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_hub_that_is_down_loses_no_call(tmp_path: Path, distress_call) -> None:
    """The gateway holds what it measured while the hub is away (dropping the oldest
    samples past its buffer, counted, never a call's start or end) and delivers it."""
    customer, agent, _, _ = distress_call
    port = _free_port()
    local_token(local_token_path())  # what the hub will accept from this machine, made now
    async with gateway_to(f"ws://127.0.0.1:{port}", "--buffer", "40") as base:
        stream = asyncio.create_task(twilio_stream(
            base, customer[:8000 * 20], agent[:8000 * 20], 10.0,
            {"agent": "a4", "team": "t", "call": "c-away", "key": KEY}, stop=False))
        await asyncio.wait_for(stream, 30)
        status = json.loads(_http(base + "/status")[1])
        assert status["sent"] == 0 and status["queued"] == 40 and status["dropped"] == 41
        hub, url = await start_hub_process(tmp_path / "hub.db", port)
        try:
            async with FeedClient(url + "/subscribe", token=find_token()) as client:
                messages = client.messages()
                async with asyncio.timeout(30):
                    while True:
                        msg = await anext(messages)
                        if msg["type"] == "snapshot" and msg["calls"]:
                            break
                        if msg.get("call") == "c-away":
                            break
            status = json.loads(_http(base + "/status")[1])
            assert status["queued"] == 0 and status["sent"] == 40 + 1  # and the call_start
        finally:
            assert await stop_hub_process(hub) == 0


async def test_control_requests_are_posted_to_the_platform(tmp_path: Path,
                                                            distress_call) -> None:
    """A supervisor's barge on a streamed call reaches the telephony side as a POST."""
    received: asyncio.Queue[dict] = asyncio.Queue()

    async def control(request: web.Request) -> web.Response:
        await received.put(await request.json())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/control", control)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    control_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/control"
    customer, agent, _, _ = distress_call
    hub, url = await start_hub_process(tmp_path / "hub.db")
    try:
        async with gateway_to(url, "--control-url", control_url) as base:
            streaming = asyncio.create_task(twilio_stream(
                base, customer, agent, 1.0,
                {"agent": "a5", "team": "t", "call": "c-barge", "key": KEY}, stop=False))
            async with connect(url + "/subscribe",
                               additional_headers=auth_headers(find_token())) as ws:
                await ws.send(json.dumps({"type": "subscribe", "teams": None}))
                async with asyncio.timeout(20):
                    while "c-barge" not in await ws.recv():
                        pass
                await ws.send(json.dumps({"type": "action", "call": "c-barge",
                                          "action": "barge"}))
                posted = await asyncio.wait_for(received.get(), 20)
            streaming.cancel()
        assert posted["type"] == "control" and posted["call"] == "c-barge"
        assert posted["action"] == "barge" and posted["by"]
    finally:
        await runner.cleanup()
        assert await stop_hub_process(hub) == 0


async def test_a_gateway_the_hub_refuses_stops_and_says_why(tmp_path: Path) -> None:
    hub, url = await start_hub_process(tmp_path / "hub.db")
    try:
        gateway = await asyncio.create_subprocess_exec(
            FLOORWATCH, "gateway", "--to", url, "--port", "0", "--key", KEY,
            "--token", "fw_not-a-token", stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        try:
            assert await asyncio.wait_for(gateway.wait(), 30) == 1
        finally:
            if gateway.returncode is None:
                gateway.kill()
                await gateway.wait()
        assert b"--token or $FLOORWATCH_TOKEN" in await gateway.stderr.read()
    finally:
        assert await stop_hub_process(hub) == 0


async def test_a_stream_signed_by_the_twilio_account_needs_no_key(tmp_path: Path) -> None:
    """X-Twilio-Signature: HMAC-SHA1 of the wss:// URL Twilio was given, with the account's
    auth token; a wrong one is refused."""
    hub, url = await start_hub_process(tmp_path / "hub.db")
    try:
        async with gateway_to(url, "--twilio-auth-token", "tw-secret") as base:
            address = base.replace("http://", "wss://") + "/twilio"
            good = base64.b64encode(hmac.new(b"tw-secret", address.encode(),
                                             hashlib.sha1).digest()).decode()
            start = json.dumps({"event": "start", "start": {
                "callSid": "CA-signed", "customParameters": {"agent": "a", "team": "t"}}})
            async with connect(base.replace("http", "ws") + "/twilio",
                               additional_headers={"X-Twilio-Signature": good}) as ws:
                await ws.send(start)
                await ws.send(json.dumps({"event": "stop"}))
            async with connect(base.replace("http", "ws") + "/twilio",
                               additional_headers={"X-Twilio-Signature": good[:-4] + "AAA="}
                               ) as ws:
                await ws.send(start)
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 10)
            assert "unauthorized" in closed.value.rcvd.reason
            status = json.loads(_http(base + "/status")[1])
            assert status["opened"] == 2 and status["closed_with_error"] == 1
    finally:
        assert await stop_hub_process(hub) == 0

