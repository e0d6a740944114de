"""TUI benchmark: the app headless against 5,000 live calls updating 4 times a second.

Not a test: it prints figures. In one run it measures the app twice, first
against an idle feed (the same 5,000 calls, no updates: the baseline), then
against the busy feed, and prints for each the board's repaint rate, the
key-press -> repaint latency (p50/p99 over 200 presses of `j`), CPU use of
the process (app and synthetic feed together) and peak RSS, with the ratios
busy / idle. Targets: p99 < 50 ms, RSS < 300 MB.

    .venv/bin/python benchmarks/bench_tui.py [--calls 5000] [--hz 4] [--presses 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from textual import events

from tui.app import FloorwatchApp
from tui.board import Board

T0 = 1_790_000_000.0
TEAMS = ("billing", "sales", "tech", "retention", "fraud", "tier2")
RULES = (("customer_distress", "intervene", 3), ("hold_long", "intervene", 2),
         ("talk_over", "coach", 1), ("deescalated", "kudos", 1))


class SyntheticFeed:
    """FeedClient's interface: a snapshot of `calls` live calls, then `hz` updates per call
    per second (when busy) and a few flag transitions a second so the order changes."""

    def __init__(self, calls: int, hz: float, busy: bool, seed: int = 7) -> None:
        self.url = f"synthetic://{calls}-calls-{hz:g}hz{'' if busy else '-idle'}"
        self.calls, self.hz, self.busy = calls, hz, busy
        self.rng = random.Random(seed)
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.updates = 0
        self.base = [{
            "type": "call_update", "call": f"c{i:05d}", "agent": f"a{i:05d}",
            "agent_name": f"Agent {i:05d}", "team": TEAMS[i % len(TEAMS)], "queue": "main",
            "started": T0 - self.rng.uniform(0, 900), "t": T0, "state": "talking",
            "hold_started": None, "hold_total": 0.0, "transfers": 0, "talk_overs": 0,
            "cust_db_base": -28.0, "agent_db_base": -26.0, "cust_pitch_base": 200.0,
            "agent_pitch_base": 120.0, "cust_spike": False, "agent_spike": False,
        } for i in range(calls)]
        self._task: asyncio.Task | None = None

    async def messages(self) -> AsyncIterator[dict[str, Any]]:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._produce())
        while True:
            yield await self.queue.get()

    async def _produce(self) -> None:
        put = self.queue.put_nowait
        put({"type": "status", "state": "connected", "attempt": 1, "url": self.url})
        put({"type": "hello", "server": "floorwatch", "protocol": 1, "t": T0})
        calls = [{k: v for k, v in c.items() if k != "type"} for c in self.base]
        put({"type": "snapshot", "calls": calls, "flags": []})
        if not self.busy:
            return
        rng, t, n = self.rng, T0, 0
        period = 1.0 / self.hz
        slices = 5  # spread each round over 5 frames, as a real hub sends them
        per_slice = (self.calls + slices - 1) // slices
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            t += period
            for s in range(slices):
                for base in self.base[s * per_slice:(s + 1) * per_slice]:
                    # as the hub sends them: the last sample's levels (one party silent)
                    # and the last complete second's means (docs/protocol.md)
                    put({**base, "t": t, "cust_db": -28.0 + rng.gauss(0, 3),
                         "agent_db": None, "cust_pitch": None, "agent_pitch": None,
                         "t_1s": float(int(t) - 1), "cust_db_1s": -28.0 + rng.gauss(0, 3),
                         "agent_db_1s": -26.0 + rng.gauss(0, 3),
                         "cust_pitch_1s": 200.0 + rng.gauss(0, 10),
                         "agent_pitch_1s": 120.0 + rng.gauss(0, 5)})
                self.updates += per_slice
                due += period / slices  # a schedule, not a sleep: no drift under load
                await asyncio.sleep(max(0.0, due - loop.time()))
            for _ in range(2):
                call = rng.randrange(self.calls)
                rule, kind, severity = RULES[rng.randrange(len(RULES))]
                n += 1
                put({"type": "flag", "id": f"c{call:05d}:{rule}:{n}", "call": f"c{call:05d}",
                     "t": t, "kind": kind, "rule": rule, "severity": severity,
                     "state": "raised", "evidence": "synthetic"})

    async def send(self, msg: dict[str, Any]) -> None:
        self.sent.append(msg)

    async def set_focus(self, calls: Iterable[str]) -> None:
        return None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(calls: int, hz: float, busy: bool, presses: int, seconds: float
                  ) -> dict[str, float]:
    feed = SyntheticFeed(calls, hz, busy)
    app = FloorwatchApp(feed)
    async with app.run_test(size=(160, 48)):
        board = app.screen.query_one(Board)
        for _ in range(400):  # wait (bounded) until the whole floor is on the board
            if len(board.order) >= calls:
                break
            await asyncio.sleep(0.05)
        assert len(board.order) >= calls, "the floor never reached the board"
        # Repaint rate and CPU over a quiet stretch (no key presses).
        repaints, cpu0, wall0 = board.repaints, cpu_seconds(), time.perf_counter()
        updates0 = feed.updates
        await asyncio.sleep(seconds)
        wall = time.perf_counter() - wall0
        rate = (board.repaints - repaints) / wall
        cpu = (cpu_seconds() - cpu0) / wall
        delivered = (feed.updates - updates0) / wall
        # Key press -> the board repainted with the cursor moved.
        latencies = []
        # The key goes in as the terminal driver would send it (Pilot.press waits for
        # the process to go idle, which a busy feed never lets happen).
        for _ in range(presses):
            target = board.moves + 1
            start = time.perf_counter()
            app.post_message(events.Key("j", "j"))
            for _ in range(4000):
                if board.painted_moves >= target:
                    break
                await asyncio.sleep(0.0005)
            latencies.append((time.perf_counter() - start) * 1000)
        latencies.sort()
    return {
        "repaints_per_s": rate,
        "updates_per_s": delivered,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "cpu_cores": cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--hz", type=float, default=4.0)
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    idle = asyncio.run(measure(args.calls, args.hz, False, args.presses, args.seconds))
    busy = asyncio.run(measure(args.calls, args.hz, True, args.presses, args.seconds))
    print(f"floorwatch TUI benchmark: {args.calls} calls, {args.hz:g} updates/s each, "
          f"160x48 headless, {args.presses} presses of j")
    print(f"{'':22}{'idle feed':>12}{'busy feed':>12}{'ratio':>8}")
    rows = (("repaints/s", "repaints_per_s", "{:.1f}"),
            ("call updates/s in", "updates_per_s", "{:.0f}"),
            ("key->repaint p50 ms", "p50_ms", "{:.1f}"),
            ("key->repaint p99 ms", "p99_ms", "{:.1f}"),
            ("CPU (cores)", "cpu_cores", "{:.2f}"),
            ("peak RSS MB", "peak_rss_mb", "{:.0f}"))
    for label, key, fmt in rows:
        ratio = busy[key] / idle[key] if idle[key] else float("nan")
        print(f"{label:22}{fmt.format(idle[key]):>12}{fmt.format(busy[key]):>12}"
              f"{ratio:>8.2f}")
    ok = busy["p99_ms"] < 50 and busy["peak_rss_mb"] < 300
    print(f"targets p99 < 50 ms, RSS < 300 MB: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
