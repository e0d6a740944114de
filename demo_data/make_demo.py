"""Regenerate the demo floor recording and its sidecar of expected flags.

    .venv/bin/python demo_data/make_demo.py

Writes demo_data/floor40.jsonl.gz (seed SEED, 40 agents, 15 minutes) and
demo_data/floor40.expected.jsonl: one line per flag transition the engine
gives on it, in the form of `floorwatch replay --fast --headless --json`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from feeds.core.engine import Engine
from feeds.core.recording import read_recording, write_recording
from feeds.core.replay import flag_json
from feeds.sim.generator import floor_messages, plan_floor

SEED = 1
AGENTS = 40
DURATION_S = 900.0
HERE = Path(__file__).resolve().parent
RECORDING = HERE / "floor40.jsonl.gz"
SIDECAR = HERE / "floor40.expected.jsonl"


def main() -> None:
    plans = plan_floor(SEED, agents=AGENTS, duration_s=DURATION_S)
    count = write_recording(RECORDING, floor_messages(plans))
    engine = Engine()
    raised: Counter[str] = Counter()
    with SIDECAR.open("w") as out:
        for record in read_recording(RECORDING):
            if record.message is None:
                raise SystemExit(f"{RECORDING}: {record.describe()}")
            for flag in engine.process(record.message):
                out.write(flag_json(flag) + "\n")
                raised[flag.rule] += flag.state == "raised"
    print(f"{RECORDING.name}: {count} messages, {len(plans)} calls, "
          f"{RECORDING.stat().st_size / 1e6:.1f} MB")
    print(f"{SIDECAR.name}: raised " + ", ".join(f"{r} {n}" for r, n in sorted(raised.items())))


if __name__ == "__main__":
    main()
