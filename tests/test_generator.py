"""The floor generator: valid, ordered, lazy, realistic, seeded; and the checked-in demo floor."""

from __future__ import annotations

import gzip
import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from feeds.core.engine import Engine
from feeds.core.flags import RULE_KINDS, Flag
from feeds.core.protocol import validate
from feeds.core.replay import flag_json
from feeds.sim.generator import (
    DEMO_EPOCH,
    CallPlan,
    expected_episodes,
    floor_messages,
    iter_plans,
    plan_floor,
)
from feeds.sim.plan import MIX
from feeds.sim.truth import score

DEMO = Path(__file__).resolve().parent.parent / "demo_data"


@pytest.fixture(scope="module")
def floor() -> tuple[list[CallPlan], list[dict]]:
    plans = plan_floor(4, agents=12, duration_s=900.0)
    return plans, list(floor_messages(plans))


def test_messages_are_valid_and_in_event_time_order(floor) -> None:
    _, messages = floor
    last = -1.0
    for msg in messages:
        assert validate(dict(msg)) == msg
        assert msg["t"] >= last
        last = msg["t"]
    assert last <= DEMO_EPOCH + 900.0


def test_each_call_starts_first_and_ends_last_unless_cut_by_the_floor_end(floor) -> None:
    plans, messages = floor
    by_call: dict[str, list[dict]] = defaultdict(list)
    for msg in messages:
        by_call[msg["call"]].append(msg)
    assert set(by_call) == {p.call for p in plans}
    for plan in plans:
        mine = by_call[plan.call]
        assert mine[0] == {**mine[0], "type": "call_start", "t": plan.start, "agent": plan.agent}
        assert all(m["type"] != "call_start" for m in mine[1:])
        if plan.ended:
            assert mine[-1]["type"] == "call_end" and mine[-1]["t"] == plan.end
        else:
            assert all(m["type"] != "call_end" for m in mine)
            assert mine[-1]["t"] <= plan.stop == DEMO_EPOCH + 900.0
        samples = [m for m in mine if m["type"] == "sample"]
        assert len(samples) == int((plan.stop - plan.start) / 0.25 + 1e-9)


def test_agents_take_calls_back_to_back(floor) -> None:
    plans, _ = floor
    by_agent: dict[str, list[CallPlan]] = defaultdict(list)
    for plan in plans:
        by_agent[plan.agent].append(plan)
    assert len(by_agent) == 12
    for calls in by_agent.values():
        assert calls[0].start - DEMO_EPOCH < 8.0  # everyone is on a call from the start
        for before, after in pairwise(calls):
            free = before.transfers[0].t if before.transfers else before.end
            assert 5.0 <= after.start - free <= 30.0
        assert len({c.agent_name for c in calls}) == 1 and len({c.team for c in calls}) == 1
    assert {p.team for p in plans} == {"billing", "tech", "sales", "retention"}
    assert all(p.agent.startswith("a0") and len(p.agent) == 4 for p in plans)


def test_turn_taking_levels_and_jitter_look_like_speech(floor) -> None:
    plans, messages = floor
    samples = [m for m in messages if m["type"] == "sample"]
    cust = [m for m in samples if m["cust_db"] is not None]
    agent = [m for m in samples if m["agent_db"] is not None]
    both = [m for m in cust if m["agent_db"] is not None]
    silent = [m for m in samples if m["cust_db"] is None and m["agent_db"] is None]
    assert 0.25 < len(cust) / len(samples) < 0.5
    assert 0.25 < len(agent) / len(samples) < 0.5
    assert len(both) / len(samples) < 0.1  # overlaps are short
    assert len(silent) / len(samples) > 0.15  # gaps, pauses and holds
    pitches = [m["cust_pitch"] for m in cust if m["cust_pitch"] is not None]
    assert 0.85 < len(pitches) / len(cust) < 0.99  # some voiced sounds carry no pitch
    assert 80.0 < statistics.median(pitches) < 250.0
    # Within one calm call each speaker wobbles by about 2 dB around their own level.
    calm = next(p for p in plans if not p.effects and p.ended and p.end - p.start > 200)
    levels = [m["cust_db"] for m in cust if m["call"] == calm.call]
    assert abs(statistics.median(levels) - calm.customer_voice.db) < 1.0
    assert 1.6 < statistics.stdev(levels) < 3.5


def test_events_backchannels_overlaps_holds_and_transfers(floor) -> None:
    plans, messages = floor
    events = [m for m in messages if m["type"] == "event"]
    overs = Counter((m["by"], m["dur"] >= 1.0) for m in events if m["event"] == "talk_over")
    assert overs["agent", False] > 50 and overs["customer", False] > 50  # "mm-hm"
    assert overs["customer", True] > 10  # customers cutting in
    planned = sum(1 for p in plans for o in p.talk_overs if o.t <= p.stop)
    assert overs["agent", True] == planned  # agents talk over only where the plan says
    transfers = [m for m in events if m["event"] == "transfer"]
    warm = [m for m in transfers if m["mode"] == "warm"]
    assert warm and all(m["agent"] and m["team"] for m in warm)
    assert all("agent" not in m for m in transfers if m["mode"] == "blind")
    holds = Counter(m["event"] for m in events if m["event"].startswith("hold"))
    assert holds["hold_start"] == sum(len(p.holds) for p in plans if p.ended) + sum(
        1 for p in plans if not p.ended for h in p.holds if h.t0 <= p.stop)


def test_the_same_seed_gives_the_same_floor_and_another_seed_another() -> None:
    def head(seed: int, n: int = 20_000) -> list[dict]:
        stream = floor_messages(seed=seed, agents=8, duration_s=600.0)
        return [msg for _, msg in zip(range(n), stream, strict=False)]

    assert head(3) == head(3)
    assert head(3) != head(4)


def test_the_mix_covers_every_scenario_and_every_rule() -> None:
    plans = [p for seed in range(3) for p in plan_floor(seed)]
    scenarios = Counter(s for p in plans for s in p.scenarios)
    for group in MIX.values():
        for name in group:
            assert name == "none" or scenarios[name] > 0, name
    rules = {e.rule for e in expected_episodes(plans) if e.must}
    assert rules == set(RULE_KINDS)


def test_expected_episodes_follow_the_plan() -> None:
    plans = plan_floor(5)
    expected = defaultdict(list)
    for e in expected_episodes(plans):
        expected[e.call].append(e)
    for plan in (p for p in plans if p.ended):
        rules = Counter(e.rule for e in expected[plan.call])
        names = set(plan.scenarios)
        assert rules["hold_long"] == (names & {"hold_long", "hold_very_long"} != set())
        assert rules["hold_total"] == (names & {"hold_very_long", "hold_many"} != set())
        assert rules["transfers"] == (names & {"transfer_2", "transfer_3"} != set())
        assert rules["talk_over"] == ("talk_over" in names)
        distress = {n for n in names if n.startswith("distress")}
        assert rules["customer_distress"] == len(distress)
        assert rules["deescalated"] == ("distress_calmed" in names)
        assert rules["agent_raised_voice"] == len(names & {"agent_shout", "distress_shout"})
        for e in expected[plan.call]:
            assert plan.start < e.t_from < e.t_to <= plan.end + 20.0
            assert e.must


def test_episodes_past_the_floor_end_are_optional() -> None:
    plans = plan_floor(6, duration_s=300.0)
    cut = [e for e in expected_episodes(plans) if not e.must]
    assert cut
    stop = {p.call: p.stop for p in plans}
    assert all(e.t_from <= stop[e.call] < e.t_to for e in cut)


def test_plans_are_drawn_lazily_as_floor_time_reaches_them() -> None:
    pulled: list[CallPlan] = []

    def plans() -> Iterator[CallPlan]:
        for plan in iter_plans(9, agents=400, duration_s=3_600.0):
            pulled.append(plan)
            yield plan

    stream = floor_messages(plans())
    for msg in stream:
        if msg["t"] > DEMO_EPOCH + 60.0:
            break
    # Only the calls that started by then (plus the one looked at next) are in memory.
    assert len(pulled) <= 1 + sum(1 for p in pulled if p.start <= msg["t"])
    assert len(pulled) < 800


def test_other_sample_rates_keep_the_plan() -> None:
    plans = plan_floor(2, agents=3, duration_s=400.0)
    slow = list(floor_messages(plans, dt=1.0))
    fast = list(floor_messages(plans, dt=0.25))
    assert [m for m in slow if m["type"] != "sample"] == [
        m for m in fast if m["type"] != "sample"]
    assert {m["dt"] for m in slow if m["type"] == "sample"} == {1.0}


@pytest.mark.parametrize(
    ("kwargs", "detail"),
    [
        ({"agents": 0}, "agents: expected a whole number >= 1, got 0"),
        ({"teams": 9}, "teams: expected 1 to 8, got 9"),
        ({"duration_s": -5.0}, "duration_s: expected a number > 0, got -5.0"),
        ({"dt": 0.0}, "dt: expected a number > 0, got 0.0"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs: dict, detail: str) -> None:
    with pytest.raises(ValueError) as error:
        next(floor_messages(**kwargs))
    assert str(error.value) == detail


def test_plans_out_of_start_order_are_refused() -> None:
    plans = plan_floor(2, agents=3, duration_s=300.0)
    with pytest.raises(ValueError, match="starts before the call given before it"):
        list(floor_messages([plans[1], plans[0]]))


# --- the checked-in demo floor ----------------------------------------------------------


def test_demo_recording_is_what_the_generator_makes_for_seed_1() -> None:
    with gzip.open(DEMO / "floor40.jsonl.gz", "rt") as recording:
        for n, (line, msg) in enumerate(
            zip(recording, floor_messages(plan_floor(1)), strict=True)
        ):
            assert json.loads(line) == msg, f"line {n + 1}"


def test_demo_replay_reproduces_its_sidecar_and_every_planned_episode() -> None:
    engine = Engine()
    flags: list[Flag] = []
    with gzip.open(DEMO / "floor40.jsonl.gz", "rt") as recording:
        for line in recording:
            flags.extend(engine.process(validate(json.loads(line))))
    sidecar = (DEMO / "floor40.expected.jsonl").read_text().splitlines()
    assert [flag_json(f) for f in flags] == sidecar
    result = score(expected_episodes(plan_floor(1)), flags)
    assert result.misses == [] and result.extras == []
    assert all(s.tp > 0 for s in result.rules.values())  # every rule is exercised
    early = [f for f in flags if f.kind == "intervene" and f.t < DEMO_EPOCH + 120.0]
    assert len(early) >= 5  # something to see in the first two minutes
