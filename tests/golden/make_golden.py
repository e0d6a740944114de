"""Writes tests/golden/generated_flags.jsonl: the flag transitions of three generated floors.

The file pins what the engine gives (the protocol's eight `flag` fields of every
transition) so that moving or reshaping code can be checked to change no flag
(tests/test_golden.py). Regenerate only for a deliberate change to the generator or
the rules:  .venv/bin/python tests/golden/make_golden.py
"""

from __future__ import annotations

import json
from pathlib import Path

from feeds.core.engine import Engine
from feeds.core.protocol import validate
from feeds.sim.generator import floor_messages, plan_floor

HERE = Path(__file__).resolve().parent
SEEDS = (11, 12, 13)
AGENTS = 20
DURATION_S = 600.0
FIELDS = ("id", "call", "t", "kind", "rule", "severity", "state", "evidence")


def flag_rows() -> list[dict]:
    rows = []
    for seed in SEEDS:
        engine = Engine()
        for msg in floor_messages(plan_floor(seed, agents=AGENTS, duration_s=DURATION_S)):
            for flag in engine.process(validate(msg)):
                message = flag.to_message()
                rows.append({"seed": seed, **{name: message[name] for name in FIELDS}})
    return rows


if __name__ == "__main__":
    with open(HERE / "generated_flags.jsonl", "w", encoding="utf-8") as out:
        for row in flag_rows():
            out.write(json.dumps(row) + "\n")
