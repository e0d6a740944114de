"""Accuracy of the engine on generated floors of many seeds: precision and recall per rule.

The truth comes from the plans (feeds.sim.truth), never from the engine.
`pytest -s tests/test_accuracy.py` prints the table (also in docs/rules.md).
"""

from __future__ import annotations

from dataclasses import replace

from feeds.core.config import DEFAULT, Config
from feeds.core.engine import Engine
from feeds.core.flags import RULE_KINDS, Flag
from feeds.core.protocol import validate
from feeds.sim.generator import expected_episodes, floor_messages, plan_floor
from feeds.sim.truth import Expected, Score, score

SEEDS = range(100, 120)
AGENTS = 20
DURATION_S = 900.0


def run_floors(seeds: range, config: Config = DEFAULT) -> Score:
    expected: list[Expected] = []
    flags: list[Flag] = []
    for seed in seeds:
        plans = plan_floor(seed, agents=AGENTS, duration_s=DURATION_S)
        expected.extend(expected_episodes(plans))
        engine = Engine(config)
        for msg in floor_messages(plans):
            flags.extend(engine.process(validate(msg)))
    return score(expected, flags)


def test_precision_and_recall_per_rule() -> None:
    result = run_floors(SEEDS)
    print(f"\n{len(SEEDS)} floors of {AGENTS} agents x {DURATION_S / 60:.0f} min\n{result.table()}")
    for e in result.misses[:10]:
        print("missed:", e)
    for f in result.extras[:10]:
        print("extra:", f.id, f.t, f.evidence)
    assert set(result.rules) == set(RULE_KINDS)
    for rule, s in result.rules.items():
        assert s.tp + s.fn >= 50, f"{rule}: too few episodes to measure"
        assert s.precision >= 0.98, f"{rule}: precision {s.precision:.3f}"
        assert s.recall >= 0.98, f"{rule}: recall {s.recall:.3f}"


def test_the_floors_hold_real_traps() -> None:
    """Judging single samples instead of sustained speech over-fires on these floors."""
    rules = DEFAULT.rules
    jumpy = replace(DEFAULT, rules=replace(
        rules,
        customer_distress=replace(rules.customer_distress, sustain_s=0.25),
        agent_raised_voice=replace(rules.agent_raised_voice, sustain_s=0.25),
    ))
    result = run_floors(range(3), jumpy)
    assert result.rules["customer_distress"].precision < 0.9
    assert result.rules["agent_raised_voice"].precision < 0.9
