"""The flags are the product: reshaping the code must not change one of them.

Pinned transitions (tests/golden/) of the demo floor and of three generated floors,
compared field by field on the protocol's eight `flag` fields (extensions such as
`values` may be added to a flag; nothing the protocol names may change).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.golden.make_golden import FIELDS, HERE, flag_rows

DEMO = HERE.parent.parent / "demo_data"


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def _pinned(rows: list[dict]) -> list[dict]:
    return [{k: row[k] for k in ("seed", *FIELDS) if k in row} for row in rows]


def test_generated_floors_raise_exactly_the_pinned_flags() -> None:
    got = _pinned(flag_rows())
    want = _rows(HERE / "generated_flags.jsonl")
    assert len(got) == len(want)
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        assert a == b, f"transition {i} differs"


def test_demo_sidecar_holds_exactly_the_pinned_flags() -> None:
    """demo_data's sidecar is what the replay prints (tests/test_generator.py checks that)."""
    assert _pinned(_rows(DEMO / "floor40.expected.jsonl")) == _rows(HERE / "demo_flags.jsonl")
