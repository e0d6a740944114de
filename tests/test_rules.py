"""Each rule, positive and negative, at realistic noise (seeded), plus the traps of real calls."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from feeds.core.config import DEFAULT
from feeds.core.engine import Engine
from feeds.core.flags import RULE_KINDS
from feeds.core.protocol import ProtocolError, decode_frame, encode_like, iter_messages, validate
from feeds.sim.generator import floor_messages, plan_floor
from tests.conftest import CallScript, raised, run

SEEDS = range(5)


def warm(seed: int = 0, **kwargs) -> CallScript:
    """A call 40 s into normal talk: both parties have a baseline."""
    return CallScript(seed=seed, **kwargs).turns(40.0)


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"[-+]?\d+(?:\.\d+)?", text)]


# --- customer_distress -----------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_loud_customer_raises_distress_with_the_real_numbers(seed: int) -> None:
    s = warm(seed).turns(20.0, turn=5.0, cust_db=12.0).turns(20.0)
    flags = raised(run(s.messages), "customer_distress")
    assert len(flags) == 1
    flag = flags[0]
    assert (flag.kind, flag.severity) == ("intervene", 3)
    assert 1_040.0 < flag.t < 1_045.0  # within a few seconds of the customer's loud speech
    excess, base = numbers(flag.evidence)[:2]
    assert 8.0 <= excess <= 16.0  # planned +12 dB, jitter of a 3 s median
    assert abs(base - -26.0) < 1.0  # the customer's real baseline
    assert "for 3.0 s of their speech" in flag.evidence


@pytest.mark.parametrize("seed", SEEDS)
def test_pitch_only_distress(seed: int) -> None:
    s = warm(seed).turns(20.0, turn=5.0, cust_st=6.0).turns(20.0)
    flags = raised(run(s.messages), "customer_distress")
    assert len(flags) == 1
    assert "customer pitch +" in flags[0].evidence
    assert "loudness" not in flags[0].evidence
    st, hz = numbers(flags[0].evidence)[:2]
    assert st >= 4.0 and abs(hz - 180.0) < 10.0


@pytest.mark.parametrize("seed", SEEDS)
def test_sub_threshold_excitement_is_not_distress(seed: int) -> None:
    s = warm(seed).turns(120.0, cust_db=4.0, cust_st=2.0).end()
    assert raised(run(s.messages)) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_coughs_and_single_loud_words_are_not_distress(seed: int) -> None:
    s = warm(seed)
    for _ in range(8):
        s.speak("customer", 3.0).sample(cust_db=-4.0)  # a cough: one very loud, unpitched sample
        s.speak("customer", 2.0).speak("customer", 1.0, db=14.0, st=3.0)  # one loud word
        s.speak("customer", 3.0).speak("agent", 3.0)
    assert raised(run(s.end().messages)) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_customer_loud_for_three_minutes_stays_one_episode(seed: int) -> None:
    s = warm(seed).turns(180.0, turn=4.0, cust_db=11.0)
    engine = Engine()
    flags = run(s.messages, engine)
    call = engine.calls["c1"]
    frozen = call.cust.db.base
    assert [f.state for f in flags if f.rule == "customer_distress"] == ["raised"]
    assert [f.id for f in engine.open_flags()] == ["c1:customer_distress:1"]
    # Three minutes of loud speech did not become the new normal.
    assert frozen is not None and abs(frozen - -26.0) < 1.0
    done = len(s.messages)
    flags = run(s.turns(20.0, first="agent").messages[done:], engine)
    assert [f.state for f in flags if f.rule == "customer_distress"] == ["cleared"]
    assert "after 1" in flags[0].evidence  # lasted about 180 s
    assert raised(flags, "deescalated") == []


@pytest.mark.parametrize("seed", SEEDS)
def test_distress_raised_once_per_episode_and_again_after_it_clears(seed: int) -> None:
    s = warm(seed).turns(15.0, turn=5.0, cust_db=12.0).turns(40.0)
    s.turns(15.0, turn=5.0, cust_db=12.0).turns(40.0).end()
    distress = [f for f in run(s.messages) if f.rule == "customer_distress"]
    assert [(f.id, f.state) for f in distress] == [
        ("c1:customer_distress:1", "raised"), ("c1:customer_distress:1", "cleared"),
        ("c1:customer_distress:2", "raised"), ("c1:customer_distress:2", "cleared"),
    ]


def test_no_spike_is_judged_before_ten_seconds_of_speech() -> None:
    s = CallScript().speak("customer", 2.0).speak("customer", 6.0, db=15.0)
    assert raised(run(s.messages)) == []


# --- deescalated -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_distress_calmed_within_a_minute_earns_kudos(seed: int) -> None:
    s = warm(seed).turns(25.0, turn=5.0, cust_db=12.0).turns(30.0).end()
    flags = run(s.messages)
    kudos = raised(flags, "deescalated")
    assert len(kudos) == 1 and kudos[0].kind == "kudos"
    lasted = numbers(kudos[0].evidence)[0]
    assert 15.0 < lasted < 30.0
    assert "with no raised agent voice" in kudos[0].evidence


@pytest.mark.parametrize("seed", SEEDS)
def test_distress_lasting_over_a_minute_earns_no_kudos(seed: int) -> None:
    s = warm(seed).turns(85.0, turn=5.0, cust_db=12.0).turns(30.0).end()
    flags = run(s.messages)
    assert len(raised(flags, "customer_distress")) == 1
    assert raised(flags, "deescalated") == []


@pytest.mark.parametrize("seed", SEEDS)
def test_distress_calmed_while_the_agent_shouted_earns_no_kudos(seed: int) -> None:
    s = warm(seed).turns(10.0, turn=5.0, cust_db=12.0)
    s.speak("agent", 6.0, db=13.0).turns(10.0, turn=5.0, cust_db=12.0).turns(30.0).end()
    flags = run(s.messages)
    assert len(raised(flags, "customer_distress")) == 1
    assert len(raised(flags, "agent_raised_voice")) == 1
    assert [f.state for f in flags if f.rule == "customer_distress"] == ["raised", "cleared"]
    assert raised(flags, "deescalated") == []


def test_two_calmed_episodes_never_leave_a_kudos_open() -> None:
    s = warm(1).turns(20.0, turn=5.0, cust_db=12.0).turns(40.0)
    s.turns(20.0, turn=5.0, cust_db=12.0).turns(40.0).end()
    flags = run(s.messages)
    assert len(raised(flags, "customer_distress")) == 2
    states: dict[str, str] = {}
    for flag in flags:
        states[flag.id] = flag.state
    assert set(states.values()) == {"cleared"}  # every flag raised is cleared by call_end
    assert len(raised(flags, "deescalated")) == 1  # not raised again while still open


# --- agent_raised_voice ----------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_agent_raised_voice(seed: int) -> None:
    s = warm(seed).speak("agent", 6.0, db=12.0).turns(20.0).end()
    flags = run(s.messages)
    shout = raised(flags, "agent_raised_voice")
    assert len(shout) == 1 and (shout[0].kind, shout[0].severity) == ("coach", 2)
    excess, base = numbers(shout[0].evidence)[:2]
    assert excess >= 8.0 and abs(base - -24.0) < 1.0
    assert [f.state for f in flags if f.rule == "agent_raised_voice"] == ["raised", "cleared"]
    assert raised(flags, "customer_distress") == []


@pytest.mark.parametrize("seed", SEEDS)
def test_agent_sub_threshold_and_single_loud_words_are_not_raised_voice(seed: int) -> None:
    s = warm(seed).turns(60.0, agent_db=4.0)
    for _ in range(6):
        s.speak("agent", 3.0).speak("agent", 0.5, db=14.0).speak("agent", 3.0)
        s.speak("customer", 4.0)
    assert raised(run(s.end().messages)) == []


@pytest.mark.parametrize("mode", ["warm", "blind"])
def test_any_transfer_resets_the_agent_baseline(mode: str) -> None:
    s = warm(2)
    extra = {"agent": "s007", "team": "tier2"} if mode == "warm" else {}
    s.event("transfer", to="s007" if mode == "warm" else "tech.main", mode=mode, **extra)
    s.voices["agent"] = (-14.0, 200.0)  # the new agent speaks 10 dB louder than the old one
    flags = run(s.turns(60.0).end().messages)
    # Warm (a named agent) or blind (whoever answers the queue): a new voice, a new
    # baseline, so the new agent's normal speech raises nothing.
    assert raised(flags, "agent_raised_voice") == []


def test_transfer_clears_the_previous_agents_raised_voice() -> None:
    s = warm(3).speak("agent", 6.0, db=12.0)
    s.event("transfer", to="s007", mode="warm", agent="s007", team="tier2")
    flags = run(s.turns(20.0).messages)
    assert [f.state for f in flags if f.rule == "agent_raised_voice"] == ["raised", "cleared"]


# --- talk_over -------------------------------------------------------------------------


def talk_overs(s: CallScript, gaps: list[float], by: str = "agent", dur: float = 1.5) -> None:
    for gap in gaps:
        s.turns(gap).event("talk_over", by=by, dur=dur)


def test_three_agent_talk_overs_within_two_minutes_raise_once_per_call() -> None:
    s = warm()
    talk_overs(s, [20.0, 30.0, 30.0, 10.0, 10.0, 150.0, 10.0, 10.0])
    flags = run(s.messages)
    flag = raised(flags, "talk_over")
    assert len(flag) == 1 and flag[0].t == pytest.approx(1_120.0)
    assert "3 times in 60 s" in flag[0].evidence and "1.5 s" in flag[0].evidence


@pytest.mark.parametrize(
    ("gaps", "by", "dur"),
    [
        ([10.0] * 10, "agent", 0.6),  # backchannels ("mm-hm") never count
        ([10.0] * 10, "customer", 2.0),  # customer-initiated overlaps do not count
        ([30.0, 60.0], "agent", 2.0),  # only two
        ([70.0, 70.0, 70.0], "agent", 2.0),  # three, but never three within 120 s
    ],
)
def test_talk_overs_that_do_not_count(gaps: list[float], by: str, dur: float) -> None:
    s = warm()
    talk_overs(s, gaps, by, dur)
    assert raised(run(s.end().messages)) == []


# --- holds -----------------------------------------------------------------------------


@pytest.mark.parametrize("dt", [0.25, 0.7, 5.0])
def test_hold_long_raises_at_exactly_the_threshold_time(dt: float) -> None:
    s = CallScript(dt=dt).turns(20.0)
    start = s.t
    s.hold(150.0)
    back = s.t
    flags = run(s.turns(10.0).messages)
    assert [(f.rule, f.state) for f in flags] == [("hold_long", "raised"), ("hold_long", "cleared")]
    assert flags[0].t == pytest.approx(start + 120.0)
    assert flags[1].t == back
    assert "120 s" in flags[0].evidence


def test_hold_long_raises_on_advance_when_the_producer_goes_quiet() -> None:
    engine = Engine()
    s = CallScript().turns(20.0).event("hold_start")
    run(s.messages, engine)
    assert engine.advance("c1", s.t + 119.9) == []
    flags = engine.advance("c1", s.t + 200.0)
    assert [(f.rule, f.t) for f in flags] == [
        ("hold_long", s.t + 120.0), ("hold_total", s.t + 180.0)]
    assert engine.advance("c1", s.t + 300.0) == []


def test_short_holds_raise_nothing() -> None:
    s = CallScript().turns(20.0).hold(100.0).turns(20.0).hold(60.0).turns(10.0).end()
    assert raised(run(s.messages)) == []


def test_hold_total_raises_when_holds_add_up() -> None:
    s = CallScript().turns(20.0).hold(100.0).turns(20.0)
    second = s.t
    s.hold(90.0).turns(10.0).end()
    flags = run(s.messages)
    total = raised(flags, "hold_total")
    assert len(total) == 1 and total[0].t == pytest.approx(second + 80.0)
    assert "2 hold(s)" in total[0].evidence
    assert raised(flags, "hold_long") == []


# --- transfers -------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3])
def test_transfers(count: int) -> None:
    s = warm()
    times = []
    for i in range(count):
        s.turns(20.0).event("transfer", to=f"q{i}", mode="blind")
        times.append(s.t)
    flags = raised(run(s.end().messages), "transfers")
    if count < 2:
        assert flags == []
    else:
        assert len(flags) == 1 and flags[0].t == times[1]
        assert "transferred 2 times (to q0, then q1)" in flags[0].evidence


# --- bookkeeping -----------------------------------------------------------------------


def test_call_end_clears_every_open_flag() -> None:
    s = warm().turns(10.0, turn=5.0, cust_db=12.0)
    s.event("transfer", to="a", mode="blind").event("transfer", to="b", mode="blind")
    s.event("hold_start").silence(130.0).end()  # the customer hangs up while still on hold
    flags = run(s.messages)
    opened = {f.id for f in flags if f.state == "raised"}
    assert {f.rule for f in flags if f.state == "raised"} == {
        "customer_distress", "hold_long", "transfers"}
    ended = [f for f in flags if f.t == s.t and f.state == "cleared"]
    assert {f.id for f in ended} == opened
    assert all(f.evidence.startswith("call ended") for f in ended)


def test_unknown_and_duplicate_calls_are_errors_that_change_nothing() -> None:
    engine = Engine()
    s = warm()
    run(s.messages, engine)
    before = engine.calls["c1"].snapshot()
    with pytest.raises(ProtocolError) as unknown:
        engine.process(validate({"type": "sample", "call": "nope", "t": 2_000.0, "dt": 0.25}))
    assert unknown.value.code == "unknown_call" and "'nope'" in unknown.value.detail
    with pytest.raises(ProtocolError) as duplicate:
        engine.process(validate(dict(s.messages[0])))
    assert duplicate.value.code == "duplicate_call" and "'c1'" in duplicate.value.detail
    assert engine.calls["c1"].snapshot() == before
    with pytest.raises(ProtocolError) as ended:
        engine.process(validate({"type": "call_end", "call": "gone", "t": 2_000.0}))
    assert ended.value.code == "unknown_call"


def test_flags_carry_the_configured_severity() -> None:
    rules = DEFAULT.rules
    config = replace(DEFAULT, rules=replace(
        rules, customer_distress=replace(rules.customer_distress, severity=1)))
    s = warm().turns(10.0, turn=5.0, cust_db=12.0).turns(20.0).end()
    flags = run(s.messages, Engine(config))
    assert [(f.rule, f.kind, f.severity) for f in raised(flags)] == [
        ("customer_distress", RULE_KINDS["customer_distress"], 1),
        ("deescalated", RULE_KINDS["deescalated"], rules.deescalated.severity),
    ]


# --- determinism -----------------------------------------------------------------------


def floor_flags(batch: int) -> list:
    """Flags of a small generated floor, fed through `batch` messages at a time."""
    engine = Engine()
    out = []
    messages = list(floor_messages(plan_floor(11, agents=6, duration_s=400.0)))
    for i in range(0, len(messages), batch):
        frame = validate({"type": "batch", "items": [dict(m) for m in messages[i:i + batch]]})
        for msg in iter_messages(frame):
            out.extend(engine.process(msg))
    return out


def test_same_messages_give_the_same_flags_whatever_the_batching() -> None:
    one = floor_flags(1)
    assert len(raised(one)) >= 5
    assert floor_flags(1) == one
    assert floor_flags(7) == one
    assert floor_flags(500) == one


def test_json_and_msgpack_frames_give_the_same_flags() -> None:
    messages = list(floor_messages(plan_floor(12, agents=4, duration_s=400.0)))
    direct = run(messages)
    assert len(raised(direct)) >= 3
    assert run(decode_frame(encode_like(m, binary=False)) for m in messages) == direct
    assert run(decode_frame(encode_like(m, binary=True)) for m in messages) == direct


def test_absent_sample_fields_mean_silence_like_nulls() -> None:
    s = warm(4).turns(20.0, turn=5.0, cust_db=12.0).hold(130.0).turns(20.0).end()
    sparse = [{k: v for k, v in m.items() if v is not None} for m in s.messages]
    assert run(sparse) == run(s.messages)
    assert {f.rule for f in raised(run(sparse))} == {"customer_distress", "hold_long"}
