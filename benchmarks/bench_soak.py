"""The hub's memory under clients that ask and never read: a soak.

A real `floorwatch hub` (authentication on, its own SQLite) and a real `floorwatch
simulate` floor, one well-behaved subscriber that reads everything, and after a
baseline stretch, attackers that never read what they are sent (their sockets'
receive buffers shrunk to 4 KiB), each reconnecting whenever the hub closes it:

- `stall`: subscribes to every team with raw samples and reads nothing;
- `history`: asks for the whole history every 20 ms and reads nothing;
- `subscribe`: re-subscribes every 20 ms (a snapshot each time) and reads nothing.

Prints the hub's RSS (from /proc) in the baseline and under attack, their ratio, the
RSS at the end, how often each kind of attacker was closed, the hub's CPU, and the
well-behaved subscriber's samples per second in both stretches (a ratio of 1: the
attack cost it nothing). Memory is bounded if the attack's RSS levels off.

    .venv/bin/python benchmarks/bench_soak.py [--calls 200] [--baseline 20] [--seconds 120]
        [--attackers 6]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import time
import urllib.request
from collections import Counter

import msgpack
from floorkit import cpu_seconds, rss_mb, running_floor
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

KINDS = ("stall", "history", "subscribe")


class Reader:
    """The well-behaved subscriber: reads everything, counts samples."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url, self.headers = url, headers
        self.samples = 0
        self.closed = 0

    async def run(self) -> None:
        while True:
            try:
                async with connect(self.url, additional_headers=self.headers,
                                   max_size=None) as ws:
                    await ws.send(msgpack.packb({"type": "subscribe", "teams": None,
                                                 "batch": True}))
                    async for frame in ws:
                        msg = msgpack.unpackb(frame) if isinstance(frame, bytes) else \
                            json.loads(frame)
                        items = msg["items"] if msg["type"] == "batch" else [msg]
                        self.samples += sum(1 for m in items if m["type"] == "sample")
            except (ConnectionClosed, OSError):
                self.closed += 1
                await asyncio.sleep(0.5)


async def attacker(kind: str, url: str, headers: dict[str, str], closed: Counter) -> None:
    """One client of `kind` that never reads; back again each time it is closed."""
    while True:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1",
                                                                 int(url.split(":")[2].split("/")[0])))
            async with connect(url, sock=sock, additional_headers=headers, max_queue=1,
                               max_size=None, open_timeout=10) as ws:
                await ws.send(json.dumps({"type": "subscribe", "teams": None}))
                if kind == "stall":
                    await ws.wait_closed()
                    raise ConnectionClosed(ws.close_rcvd, ws.close_sent)
                while True:
                    if kind == "history":
                        await ws.send(json.dumps({"type": "history"}))
                    else:
                        await ws.send(json.dumps({"type": "subscribe", "teams": None}))
                    await asyncio.sleep(0.02)
        except (ConnectionClosed, OSError, InvalidStatus, TimeoutError):
            closed[kind] += 1
            sock.close()
            await asyncio.sleep(0.5)


async def soak(args: argparse.Namespace, hub_pid: int, url: str, headers: dict[str, str],
               health: str) -> dict:
    reader = Reader(url + "/subscribe", headers)
    tasks = [asyncio.create_task(reader.run())]
    closed: Counter = Counter()
    out: dict = {}

    async def stretch(name: str, seconds: float) -> None:
        samples0, cpu0, wall0 = reader.samples, cpu_seconds(hub_pid), time.monotonic()
        peak = 0.0
        while time.monotonic() - wall0 < seconds:
            await asyncio.sleep(0.5)
            peak = max(peak, rss_mb(hub_pid))
        wall = time.monotonic() - wall0
        out[name] = {"peak_rss": peak, "end_rss": rss_mb(hub_pid),
                     "cpu": (cpu_seconds(hub_pid) - cpu0) / wall,
                     "samples_per_s": (reader.samples - samples0) / wall}

    await asyncio.sleep(5)  # the floor warms up
    await stretch("baseline", args.baseline)
    for kind in KINDS:
        for _ in range(args.attackers):
            tasks.append(asyncio.create_task(attacker(kind, url + "/subscribe", headers,
                                                      closed)))
    await stretch("attack", args.seconds)
    out["closed"] = dict(closed)
    out["reader_closed"] = reader.closed
    with urllib.request.urlopen(health, timeout=5) as response:
        out["health"] = json.load(response)
    for task in tasks:
        task.cancel()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--baseline", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--attackers", type=int, default=6, help="of each kind")
    args = parser.parse_args()
    with running_floor(calls=args.calls) as floor:
        headers = {"Authorization": f"Bearer {floor.token}"}
        result = asyncio.run(soak(args, floor.hub.pid, floor.url, headers,
                                  f"http://127.0.0.1:{floor.port}/healthz"))
    base, attack = result["baseline"], result["attack"]
    print(f"floorwatch hub soak: {args.calls} simulated calls, {args.attackers} never-reading "
          f"clients of each kind ({', '.join(KINDS)}) for {args.seconds:g} s after a "
          f"{args.baseline:g} s baseline")
    print(f"{'':28}{'baseline':>10}{'attack':>10}{'ratio':>8}")
    for label, key, fmt in (("hub peak RSS MB", "peak_rss", "{:.0f}"),
                            ("hub RSS at the end MB", "end_rss", "{:.0f}"),
                            ("hub CPU (cores)", "cpu", "{:.2f}"),
                            ("reader samples/s", "samples_per_s", "{:.0f}")):
        ratio = attack[key] / base[key] if base[key] else float("nan")
        print(f"{label:28}{fmt.format(base[key]):>10}{fmt.format(attack[key]):>10}"
              f"{ratio:>8.2f}")
    health = result["health"]
    errors = health["errors"]
    print(f"closed by the hub: {errors.get('slow_subscriber', 0)} for not reading, "
          f"{errors.get('too_many_requests', 0)} for asking too fast "
          f"({errors.get('rate_limited', 0)} requests refused); attackers back after a "
          f"close they saw: {result['closed']}; the reader closed {result['reader_closed']} "
          "times")


if __name__ == "__main__":
    main()
