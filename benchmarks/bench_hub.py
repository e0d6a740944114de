"""The hub under floor load: producer -> subscriber latency, hub CPU and RSS, throughput.

Scenario (defaults): 5,000 concurrent calls in 50 teams at 4 samples/s each
(20,000 samples/s), published by 5 producer connections as MessagePack batch
frames every 50 ms, to 50 subscribers on loopback: 45 team supervisors (one
team each, raw samples) and 5 floor managers (all teams, `detail: summary`).
Each sample carries its send time as event time `t`, so a subscriber's
latency is its receive time minus `t` (one machine, one clock).

The same load runs three times, each server in its own process:
- baseline: a bare websockets fan-out (decode the batch, group by team,
  re-encode once per team, `broadcast`), no validation, detection or store;
- no auth: `floorwatch hub --insecure-local` (validation, detection, store,
  coalescing);
- floorwatch: `floorwatch hub` as it ships: tokens checked on every connection, the
  producers with a producer's token, the subscribers with a lead's (so every customer
  number they receive is masked). Its ratio to "no auth" is the cost of authentication
  and masking.

Prints p50/p99 latency, server CPU (process time / wall), peak RSS and
delivered messages/s for both, and the ratios. The machine is shared: read
the ratios, and run it when the machine is otherwise quiet.

    python benchmarks/bench_hub.py [--calls 5000] [--teams 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgpack
from websockets.asyncio.client import connect
from websockets.asyncio.server import broadcast, serve
from websockets.exceptions import ConnectionClosed

TICK_S = 0.05
#: The Authorization headers of this run's producers and subscribers (none: no auth).
TOKENS: dict[str, dict[str, str]] = {}
RATE_HZ = 4.0
WARMUP_S = 3.0


# --- the baseline server: a bare fan-out -----------------------------------


async def baseline_server() -> None:
    teams: dict[str, str] = {}  # call -> team
    subs: dict[str | None, set] = {}

    async def handler(ws) -> None:
        if ws.request.path == "/publish":
            async for frame in ws:
                by_team: dict[str, list] = {}
                for item in msgpack.unpackb(frame)["items"]:
                    if item["type"] == "call_start":
                        teams[item["call"]] = item["team"]
                    by_team.setdefault(teams[item["call"]], []).append(item)
                for team, items in by_team.items():
                    data = msgpack.packb({"type": "batch", "items": items})
                    broadcast(subs.get(team, ()), data)
            return
        request = msgpack.unpackb(await ws.recv())
        wanted = request["teams"] or [None]
        for team in wanted:
            subs.setdefault(team, set()).add(ws)
        await ws.send(msgpack.packb({"type": "snapshot", "calls": [], "flags": []}))
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
        print(f"listening on {next(iter(server.sockets)).getsockname()[1]}", flush=True)
        await asyncio.Future()


# --- load: producers and subscribers -------------------------------------------


class Results:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.delivered = 0
        self.measuring = False


async def producer(url: str, calls: list[tuple[str, str]], stop: asyncio.Event) -> None:
    rng = random.Random(len(calls))
    noise = [rng.gauss(0, 1.0) for _ in range(997)]
    async with connect(url + "/publish", max_size=None,
                       additional_headers=TOKENS.get("producer", {})) as ws:
        now = time.time()
        starts = [{"type": "call_start", "call": c, "t": now, "agent": f"a{c}", "team": team,
                   "customer": f"+1555{i:07d}"}  # what a lead gets masked
                  for i, (c, team) in enumerate(calls)]
        await ws.send(msgpack.packb({"type": "batch", "items": starts}))
        reader = asyncio.create_task(_drain(ws))
        phases = round(1 / (RATE_HZ * TICK_S))
        tick, n = 0, 0
        next_at = time.monotonic()
        while not stop.is_set():
            t = time.time()
            items = []
            for c, _ in calls[tick % phases::phases]:
                n += 1
                x = noise[n % 997]
                if n % 2:
                    items.append({"type": "sample", "call": c, "t": t, "dt": 0.25,
                                  "cust_db": -28.0 + x, "cust_pitch": 210.0 + 4 * x,
                                  "agent_db": None, "agent_pitch": None})
                else:
                    items.append({"type": "sample", "call": c, "t": t, "dt": 0.25,
                                  "cust_db": None, "cust_pitch": None,
                                  "agent_db": -26.0 + x, "agent_pitch": 120.0 + 2 * x})
            await ws.send(msgpack.packb({"type": "batch", "items": items}))
            tick += 1
            next_at += TICK_S
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        reader.cancel()


async def _drain(ws) -> None:
    async for _ in ws:
        pass


async def subscriber(url: str, teams: list[str] | None, detail: str, results: Results,
                     ready: asyncio.Event) -> None:
    async with connect(url + "/subscribe", max_size=None,
                       additional_headers=TOKENS.get("subscriber", {})) as ws:
        await ws.send(msgpack.packb({"type": "subscribe", "teams": teams, "detail": detail,
                                     "batch": True}))
        ready.set()
        async for frame in ws:
            now = time.time()
            if detail == "summary" and frame.startswith(BATCH_HEAD):
                # floor managers' frames are only counted: read the item count, skip decoding
                if results.measuring:
                    results.delivered += _batch_count(frame)
                continue
            msg = msgpack.unpackb(frame)
            items = msg["items"] if msg["type"] == "batch" else [msg]
            if not results.measuring:
                continue
            results.delivered += len(items)
            for item in items:
                if item["type"] == "sample":
                    results.latencies.append(now - item["t"])


BATCH_HEAD = b"\x82\xa4type\xa5batch\xa5items"


def _batch_count(frame: bytes) -> int:
    """Items in a MessagePack batch frame, from its array header alone."""
    head = frame[len(BATCH_HEAD)]
    if head & 0xF0 == 0x90:
        return head & 0x0F
    size = 2 if head == 0xDC else 4
    return int.from_bytes(frame[len(BATCH_HEAD) + 1:len(BATCH_HEAD) + 1 + size], "big")


async def slow_subscriber(url: str, teams: list[str], slow: dict) -> None:
    """Wants every team's raw samples but reads only one frame every 100 ms."""
    try:
        async with connect(url + "/subscribe", max_size=None, max_queue=4,
                           additional_headers=TOKENS.get("subscriber", {})) as ws:
            await ws.send(msgpack.packb({"type": "subscribe", "teams": teams,
                                         "batch": True}))
            async for frame in ws:
                msg = msgpack.unpackb(frame)
                items = msg["items"] if msg["type"] == "batch" else [msg]
                slow["received"] += len(items)
                slow["call_updates"] += sum(1 for m in items if m["type"] == "call_update")
                await asyncio.sleep(0.1)
    except ConnectionClosed as exc:
        slow["closed"] = f"{exc.rcvd.code} {exc.rcvd.reason}" if exc.rcvd else str(exc)
    else:
        slow["closed"] = f"{ws.close_code} {ws.close_reason}"


async def healthz(url: str) -> dict:
    host, port = url.removeprefix("ws://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
    response = await reader.read()
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return json.loads(body) if head.startswith(b"HTTP/1.1 200") else {}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_load(url: str, pid: int, args: argparse.Namespace) -> dict:
    team_ids = [f"team{i:02d}" for i in range(args.teams)]
    calls = [(f"call{i:05d}", team_ids[i % args.teams]) for i in range(args.calls)]
    results = Results()
    stop = asyncio.Event()
    readies = []
    tasks = []
    for i in range(args.subscribers):
        ready = asyncio.Event()
        readies.append(ready)
        if i < args.subscribers - args.managers:
            teams, detail = [team_ids[i % args.teams]], "samples"
        else:
            teams, detail = None, "summary"
        tasks.append(asyncio.create_task(subscriber(url, teams, detail, results, ready)))
    await asyncio.gather(*(r.wait() for r in readies))
    slow = {"received": 0, "call_updates": 0, "closed": None}
    if args.slow:
        tasks.append(asyncio.create_task(slow_subscriber(url, team_ids, slow)))
    share = -(-len(calls) // args.producers)
    tasks += [asyncio.create_task(producer(url, calls[i:i + share], stop))
              for i in range(0, len(calls), share)]
    await asyncio.sleep(WARMUP_S)
    results.measuring = True
    cpu0, wall0, load0 = cpu_seconds(pid), time.monotonic(), time.process_time()
    await asyncio.sleep(args.seconds)
    cpu1, wall1, load1 = cpu_seconds(pid), time.monotonic(), time.process_time()
    results.measuring = False
    health = await healthz(url)
    stop.set()
    await asyncio.sleep(TICK_S * 2)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    lat = sorted(results.latencies)
    wall = wall1 - wall0
    return {
        "p50_ms": 1000 * lat[len(lat) // 2] if lat else float("nan"),
        "p99_ms": 1000 * lat[int(len(lat) * 0.99)] if lat else float("nan"),
        "cpu": (cpu1 - cpu0) / wall,
        "load_cpu": (load1 - load0) / wall,
        "rss_mb": peak_rss_mb(pid),
        "delivered_per_s": results.delivered / wall,
        "samples_per_s": len(lat) / wall,
        "slow": {**slow, "coalesced": health.get("coalesced"),
                 "closed_by_hub": health.get("slow_subscribers_closed")},
    }


def start(cmd: list[str], marker: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if marker not in line:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    port = line.split("ws://127.0.0.1:")[1].split()[0] if "ws://" in line else line.split()[-1]
    return proc, f"ws://127.0.0.1:{port}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--managers", type=int, default=5,
                        help="subscribers watching all teams in summary detail")
    parser.add_argument("--producers", type=int, default=5)
    parser.add_argument("--slow", type=int, default=1, choices=(0, 1),
                        help="add a subscriber to every team's samples that reads 10 frames/s")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--serve-baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        asyncio.run(baseline_server())
        return 0
    floorwatch = str(Path(sys.executable).parent / "floorwatch")
    print(f"{args.calls} calls in {args.teams} teams at {RATE_HZ:g} Hz "
          f"({args.calls * RATE_HZ:,.0f} samples/s) from {args.producers} producers to "
          f"{args.subscribers} subscribers ({args.managers} all-teams summary"
          f"{', plus 1 slow all-teams raw subscriber' if args.slow else ''}), "
          f"{args.seconds:g} s measured after {WARMUP_S:g} s warm-up", flush=True)
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        tokens = {}
        for role, user in (("producer", "feed"), ("subscriber", "lead")):
            added = subprocess.run(
                [floorwatch, "user", "add", user, "--role",
                 "producer" if role == "producer" else "lead", "--db", f"{tmp}/auth.db"],
                capture_output=True, text=True, check=True)
            tokens[role] = {"Authorization": f"Bearer {added.stdout.split()[-1]}"}
        for name, cmd, marker in (
            ("baseline", [sys.executable, __file__, "--serve-baseline"], "listening"),
            ("no auth", [floorwatch, "hub", "--port", "0", "--db", f"{tmp}/bench.db",
                         "--insecure-local"], "floorwatch hub on"),
            ("floorwatch", [floorwatch, "hub", "--port", "0", "--db", f"{tmp}/auth.db"],
             "floorwatch hub on"),
        ):
            TOKENS.clear()
            if name == "floorwatch":
                TOKENS.update(tokens)
            proc, url = start(cmd, marker)
            try:
                figures[name] = asyncio.run(run_load(url, proc.pid, args))
            finally:
                proc.terminate()
                proc.wait(10)
            f = figures[name]
            print(f"{name:>10}: latency p50 {f['p50_ms']:6.1f} ms  p99 {f['p99_ms']:6.1f} ms  "
                  f"server CPU {f['cpu']:.2f} cores  peak RSS {f['rss_mb']:5.0f} MB  "
                  f"delivered {f['delivered_per_s']:,.0f} msg/s "
                  f"({f['samples_per_s']:,.0f} samples/s to team subscribers)  "
                  f"(load process CPU {f['load_cpu']:.2f})", flush=True)
            if args.slow:
                slow = f["slow"]
                print(f"{'':>10}  slow subscriber: received {slow['received']:,} messages "
                      f"({slow['call_updates']:,} call_updates), hub coalesced "
                      f"{slow['coalesced']}, closed: {slow['closed'] or 'no'}", flush=True)
    print("machine load average (1, 5, 15 min) at the end: "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores")
    base, open_hub, hub = figures["baseline"], figures["no auth"], figures["floorwatch"]
    print(f"{'auth cost':>10}: p99 x{hub['p99_ms'] / open_hub['p99_ms']:.2f}  "
          f"CPU x{hub['cpu'] / open_hub['cpu']:.2f}  (floorwatch / no auth: tokens, roles, "
          f"teams, masking)")
    print(f"{'ratio':>10}: p99 x{hub['p99_ms'] / base['p99_ms']:.2f}  "
          f"CPU x{hub['cpu'] / base['cpu']:.2f}  "
          f"team samples delivered x{hub['samples_per_s'] / base['samples_per_s']:.2f}  "
          f"(floorwatch / bare fan-out; the bare fan-out has no summary form, so its "
          f"floor managers receive nothing)")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
