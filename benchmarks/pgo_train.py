"""The training run of the profile-guided build of the compiled core (Makefile `build`).

Between an instrumented build and the final one (setup.py, FLOORWATCH_PGO), this
runs the core the way floorwatch does, so that gcc lays out the final build by
what actually runs: a generated floor as a .msgpack recording replayed fast (the
reader hands each sample to the engine) and record by record (validation, then
the engine, as paced replays and the hub do), and the demo floor's .jsonl.gz.
Code it never reaches is compiled as without a profile (-fprofile-partial-training).
A few seconds; no output unless something fails.

    python benchmarks/pgo_train.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench_detect import generate

from feeds.core.engine import Engine
from feeds.core.protocol import PRODUCER_TYPES
from feeds.core.recording import read_recording
from feeds.core.replay import replay

DEMO = Path(__file__).resolve().parent.parent / "demo_data" / "floor40.jsonl.gz"


def _replay(records) -> None:
    stats = replay(records, Engine(), lambda flag: None, lambda error: None)
    if stats.messages == 0 or stats.errors:
        raise SystemExit(f"pgo_train: unexpected replay: {stats.summary()}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        floor = Path(tmp) / "floor.msgpack"
        generate(floor, samples=150_000, agents=300, seed=3)
        _replay(read_recording(floor, PRODUCER_TYPES))  # fast: samples straight to the engine
        _replay(iter(read_recording(floor, PRODUCER_TYPES)))  # record by record
    _replay(read_recording(DEMO, PRODUCER_TYPES))


if __name__ == "__main__":
    main()
