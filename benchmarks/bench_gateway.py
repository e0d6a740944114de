"""Live streams through `floorwatch gateway`: CPU per stream, against the analysis alone.

Starts a hub and a gateway as processes on 127.0.0.1, then streams `--streams`
Twilio Media Streams at once from this process, in real time (a 20 ms μ-law chunk per
track per stream every 20 ms, as Twilio sends), for `--seconds`, each a real
two-party call of synthesized speech (tests/speech.py). Measures the gateway's and the
hub's CPU from /proc over the streaming window, checks that every stream's samples
reached the hub (the gateway kept up), and, as the baseline in the same run, the CPU
of the analysis alone (feeds.sources.analysis fed the same audio in this process).
Prints cores used, per-stream CPU and the ratio gateway/analysis: what the protocol
(JSON, base64, WebSocket frames, the hub connection) costs on top of the measuring.

    python benchmarks/bench_gateway.py [--streams 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from floorkit import cpu_seconds, running_floor
from websockets.asyncio.client import connect

from feeds.client.credentials import auth_headers
from feeds.sources.analysis import CallAnalyzer
from feeds.sources.codec import ulaw
from tests.speech import Line, Speech, tools_present

KEY = "bench-key"


def call_tracks(seconds: float) -> tuple[bytes, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        speech = Speech(Path(tmp))
        path = speech.call("bench", speech.conversation(0.5, seconds),
                           Line(ulaw=True, bleed_db=-30.0, noise_db=-55.0), length=seconds)
        tracks = []
        for channel in ("1", "2"):
            raw = Path(tmp) / f"{channel}.ul"
            subprocess.run(["sox", str(path), "-t", "raw", "-e", "u-law", "-c", "1", str(raw),
                            "remix", channel], check=True)
            tracks.append(raw.read_bytes())
    return tracks[0], tracks[1]


async def stream_all(base: str, streams: int, chunks: list[tuple[str, str]]) -> float:
    """Every stream in real time; returns the worst lateness of a tick, s."""
    sockets = []
    for i in range(streams):
        ws = await connect(base.replace("http", "ws") + "/twilio", max_queue=None)
        await ws.send(json.dumps({"event": "start", "start": {
            "callSid": f"bench-{i}", "tracks": ["inbound", "outbound"],
            "customParameters": {"agent": f"a{i}", "team": f"t{i % 10}", "key": KEY}}}))
        sockets.append(ws)
    loop = asyncio.get_running_loop()
    began, worst = loop.time(), 0.0
    for k, (inbound, outbound) in enumerate(chunks):
        for ws in sockets:
            await ws.send(inbound)
            await ws.send(outbound)
        due = began + (k + 1) * 0.02
        worst = max(worst, loop.time() - due)
        await asyncio.sleep(max(0.0, due - loop.time()))
    for ws in sockets:
        await ws.send('{"event":"stop"}')
        await ws.close()
    return worst


async def count_samples(url: str, token: str, done: asyncio.Event, counts: dict) -> None:
    async with connect(url + "/subscribe", additional_headers=auth_headers(token),
                       max_size=None, max_queue=None) as ws:
        await ws.send('{"type":"subscribe","teams":null}')
        while not done.is_set():
            try:
                frame = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            msg = json.loads(frame)
            for item in msg["items"] if msg["type"] == "batch" else [msg]:
                counts[item["type"]] = counts.get(item["type"], 0) + 1


async def run(streams: int, seconds: float) -> None:
    customer, agent = call_tracks(seconds)
    chunks = []
    for k in range(int(seconds * 50)):
        pair = []
        for track, audio in (("inbound", customer), ("outbound", agent)):
            pair.append(json.dumps({"event": "media", "media": {
                "track": track, "timestamp": str(k * 20),
                "payload": base64.b64encode(audio[k * 160:(k + 1) * 160]).decode()}}))
        chunks.append((pair[0], pair[1]))
    with running_floor() as floor:
        gateway = floor.start("gateway", "--to", floor.url, "--port", "0", "--key", KEY,
                              "--token", floor.token, "--max-streams", str(streams + 10),
                              stdout=subprocess.PIPE)
        base = gateway.stdout.readline().split()[3]
        done, counts = asyncio.Event(), {}
        counter = asyncio.create_task(count_samples(floor.url, floor.token, done, counts))
        await asyncio.sleep(1.0)
        hub = floor.hub
        g0, h0, t0 = cpu_seconds(gateway.pid), cpu_seconds(hub.pid), time.monotonic()
        worst = await stream_all(base, streams, chunks)
        await asyncio.sleep(2.0)
        g1, h1, t1 = cpu_seconds(gateway.pid), cpu_seconds(hub.pid), time.monotonic()
        done.set()
        await counter
    expected = streams * int(seconds / 0.25)
    start = time.process_time()
    c, a = ulaw(customer), ulaw(agent)
    analyzer = CallAnalyzer("baseline", 0.0)
    for at in range(0, len(c), 160):
        analyzer.feed(c[at:at + 160], a[at:at + 160])
    alone = (time.process_time() - start) * streams
    wall = t1 - t0
    gateway_cpu, hub_cpu = g1 - g0, h1 - h0
    print(f"{streams} Twilio streams in real time for {seconds:.0f} s "
          f"(the sender's worst tick {worst * 1000:.0f} ms late):")
    print(f"  samples at the hub: {counts.get('sample', 0)} of {expected} "
          f"({counts.get('call_end', 0)} calls ended)")
    print(f"  gateway: {gateway_cpu / wall:.2f} cores, "
          f"{gateway_cpu / streams / seconds * 1000:.2f} ms CPU per stream-second; "
          f"hub: {hub_cpu / wall:.2f} cores")
    print(f"  the analysis alone, same audio: {alone / streams / seconds * 1000:.2f} ms CPU per "
          f"stream-second; the gateway costs {gateway_cpu / alone:.2f}× the analysis")
    print(f"  => one gateway core would carry about {streams * wall / gateway_cpu:.0f} streams")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    if not tools_present():
        sys.exit("bench_gateway: espeak-ng and sox are needed (make tools)")
    asyncio.run(run(args.streams, args.seconds))


if __name__ == "__main__":
    main()
