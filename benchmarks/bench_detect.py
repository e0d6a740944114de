"""Decode + detection throughput against bare MessagePack decoding of the same bytes.

Generates a large floor (>= 2 million samples by default) as a `.msgpack`
recording of dict-form messages, exactly as on the wire, then times, each in a
fresh single-threaded process pinned to one core, alternating, best of N:

- baseline: `msgpack.Unpacker` over the file, nothing else;
- reading: the recording reader with validation yielding every record, as a paced
  replay reads (a fast replay hands samples straight to the engine instead), no engine;
- floorwatch: the headless replay path (recording reader, validation, engine).

Prints samples/s of each, the ratios to the baseline, and the peak RSS of the detection run
over a quarter of the recording and over all of it (memory must stay flat in
the recording's length). The machine is shared and noisy: read the ratio.

    python benchmarks/bench_detect.py [--samples 2000000] [--agents 1000] [--runs 2]

`--against DIR` also times the detection phase of another floorwatch tree (say
`git worktree add /tmp/before REV` and a build there), interleaved with this one
over the same recording, and prints this tree's speed relative to it: an A/B of
two versions in the same minutes.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

import msgpack


def _pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[-1]})


def _peak_rss_mb() -> float:
    """This process's peak RSS.

    Linux carries ru_maxrss over fork and exec, so a phase started after the floor was
    generated would report the generator's peak; VmHWM belongs to this process alone.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(path: Path, samples: int, agents: int, seed: int) -> int:
    """Write a floor with at least `samples` samples; return how many it has."""
    from feeds.core.recording import write_recording
    from feeds.sim.generator import floor_messages, plan_floor

    dt = 0.25
    # Agents are on calls most of the time; ask for enough floor time, then stop early.
    duration = samples * dt / agents * 1.3 + 120
    plans = plan_floor(seed, agents=agents, duration_s=duration)
    count = 0

    def until_enough():
        nonlocal count
        for msg in floor_messages(plans, dt=dt):
            if msg["type"] == "sample":
                count += 1
                if count > samples:
                    return
            yield msg

    write_recording(path, until_enough())
    return count


def phase_bare(path: Path, limit: int | None) -> dict:
    samples = 0
    start = time.perf_counter()
    with path.open("rb") as handle:
        for msg in islice(msgpack.Unpacker(handle, raw=False), limit):
            if msg["type"] == "sample":
                samples += 1
    return {"samples": samples, "seconds": time.perf_counter() - start}


def phase_read(path: Path, limit: int | None) -> dict:
    from feeds.core.protocol import PRODUCER_TYPES
    from feeds.core.recording import read_recording

    samples = errors = 0
    start = time.perf_counter()
    for record in islice(read_recording(path, PRODUCER_TYPES), limit):
        msg = record.message
        if msg is None:
            errors += 1
        elif msg["type"] == "sample":
            samples += 1
    return {"seconds": time.perf_counter() - start, "errors": errors, "samples": samples}


def phase_detect(path: Path, limit: int | None) -> dict:
    """`floorwatch replay --fast`'s own loop (feeds.core.replay.replay), output counted."""
    from feeds.core.compiled import core
    from feeds.core.engine import GC_THRESHOLDS, Engine
    from feeds.core.protocol import PRODUCER_TYPES
    from feeds.core.recording import read_recording
    from feeds.core.replay import replay

    gc.set_threshold(*GC_THRESHOLDS)  # as `floorwatch replay` does
    flags = []
    start = time.perf_counter()
    records = read_recording(path, PRODUCER_TYPES)
    # Handed the Recording itself, as `floorwatch replay --fast` does, replay takes the fast
    # path (samples straight from the reader to the engine); the 1/4 run, for memory only, not.
    stats = replay(records if limit is None else islice(records, limit), Engine(),
                   flags.append, lambda line: None)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "flags": len(flags), "errors": stats.errors,
            "messages": stats.messages, "core": core()}


def run_phase(phase: str, path: Path, limit: int | None = None, tree: Path | None = None
              ) -> dict:
    """One phase in a fresh process, over the first `limit` messages (None: all of them);
    with `tree`, that tree's own benchmark script and code."""
    extra = [] if limit is None else ["--limit", str(limit)]
    script = Path(__file__) if tree is None else tree / "benchmarks" / "bench_detect.py"
    env = dict(os.environ) if tree is None else {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, str(script), "--phase", phase, "--file", str(path), *extra],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2_000_000)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--file", type=Path, help="reuse (or keep) this .msgpack recording")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="also time the detection of the floorwatch tree in DIR (built)")
    parser.add_argument("--phase", choices=("bare", "read", "detect"), help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:
        _pin_one_core()
        phase = {"bare": phase_bare, "read": phase_read, "detect": phase_detect}[args.phase]
        result = phase(args.file, args.limit)
        result["peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory() as tmp:
        path = args.file or Path(tmp) / "floor.msgpack"
        if not path.exists():
            started = time.perf_counter()
            count = generate(path, args.samples, args.agents, args.seed)
            print(f"generated {count:,} samples, {args.agents} agents, "
                  f"{path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - started:.0f} s")
        bare, read, detect, other = [], [], [], []
        for i in range(args.runs):
            bare.append(run_phase("bare", path))
            read.append(run_phase("read", path))
            # Whichever runs second is faster by several percent (an A/A run shows it):
            # the two trees take turns going first.
            if args.against and i % 2:
                other.append(run_phase("detect", path, tree=args.against.resolve()))
            detect.append(run_phase("detect", path))
            if args.against and not i % 2:
                other.append(run_phase("detect", path, tree=args.against.resolve()))
        quarter = run_phase("detect", path, detect[0]["messages"] // 4)

    samples = bare[0]["samples"]  # every phase reads the same messages
    best_bare = max(samples / r["seconds"] for r in bare)
    best_read = max(samples / r["seconds"] for r in read)
    best_detect = max(samples / r["seconds"] for r in detect)
    print(f"detection core      {detect[0]['core']:>12}")
    print(f"samples             {samples:>12,}")
    print(f"flags raised/cleared {detect[0]['flags']:>11,}   errors {detect[0]['errors']}")
    print(f"bare msgpack decode {best_bare:>12,.0f} samples/s")
    print(f"decode + validation {best_read:>12,.0f} samples/s   "
          f"(ratio {best_read / best_bare:.2f}: reader yielding records, no engine)")
    print(f"decode + detection  {best_detect:>12,.0f} samples/s   (target >= 250,000)")
    print(f"ratio               {best_detect / best_bare:>12.2f}   (target >= 0.5)")
    print(f"peak RSS, 1/4 of the recording {quarter['peak_rss_mb']:>7.1f} MB")
    print(f"peak RSS, all of it            {detect[0]['peak_rss_mb']:>7.1f} MB")
    if other:
        best_other = max(samples / r["seconds"] for r in other)
        print(f"{args.against} ({other[0]['core']}) {best_other:>12,.0f} samples/s   "
              f"flags {other[0]['flags']:,}")
        print(f"this tree / that one {best_detect / best_other:>11.3f}")


if __name__ == "__main__":
    main()
