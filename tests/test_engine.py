"""Engine.take_sample: a reader's unvalidated sample, read and checked once, same flags."""

from __future__ import annotations

import pytest

from feeds.core.engine import Engine
from feeds.core.protocol import ProtocolError, validate
from tests.conftest import CallScript


def _distressed_call() -> list[dict]:
    return CallScript(seed=3).turns(60).turns(30, cust_db=12.0, cust_st=5.0).turns(40).end(
    ).messages


def test_taking_samples_unvalidated_gives_what_processing_them_gives() -> None:
    checked, taken = Engine(), Engine()
    by_process, by_take = [], []
    for msg in _distressed_call():
        by_process += checked.process(validate(dict(msg)))
        if msg["type"] == "sample":
            flags = taken.take_sample(dict(msg))
            assert flags is not None
            by_take += flags
        else:
            by_take += taken.process(validate(dict(msg)))
    assert {f.rule for f in by_take} >= {"customer_distress", "deescalated"}
    assert by_take == by_process


@pytest.mark.parametrize("change", [
    {"t": 1001},  # an integer: valid, but not the usual shape
    {"cust_db": 3},
    {"cust_db": "loud"},
    {"dt": 0.0},
    {"dt": float("nan")},
    {"agent_pitch": float("inf")},
    {"call": ""},
    {"call": 7},
])
def test_a_sample_not_in_the_usual_shape_is_declined_untouched(change: dict) -> None:
    engine = Engine()
    start, *samples = CallScript().turns(20).messages
    engine.process(validate(start))
    for msg in samples[:-1]:
        engine.take_sample(msg)
    before = engine.calls["c1"].snapshot()
    assert engine.take_sample({**samples[-1], **change}) is None
    assert engine.calls["c1"].snapshot() == before


def test_a_sample_of_an_unknown_call_is_an_error_naming_it() -> None:
    sample = CallScript(call="ghost").turns(1).messages[1]
    with pytest.raises(ProtocolError, match="unknown call 'ghost'") as caught:
        Engine().take_sample(sample)
    assert caught.value.code == "unknown_call"



def test_a_transfer_that_names_an_agent_hands_them_the_call_by_name():
    engine = Engine()
    engine.process({"type": "call_start", "call": "c1", "t": 0.0, "agent": "a1",
                    "agent_name": "Ann Lee", "team": "red", "queue": "red.main"})
    engine.process({"type": "event", "call": "c1", "t": 10.0, "event": "transfer",
                    "to": "s007", "mode": "warm", "agent": "s007", "agent_name": "Sam Ito",
                    "team": "tier2"})
    state = engine.calls["c1"].snapshot()
    assert (state["agent"], state["agent_name"], state["team"]) == ("s007", "Sam Ito", "tier2")


def test_a_transfer_that_names_nobody_leaves_the_call_to_nobody():
    """Blind to a queue: no agent has the call until a transfer names one; what happens
    in between (a talk-over by whoever answered) is not the first agent's."""
    engine = Engine()
    engine.process({"type": "call_start", "call": "c1", "t": 0.0, "agent": "a1",
                    "agent_name": "Ann Lee", "team": "red", "queue": "red.main"})
    engine.process({"type": "event", "call": "c1", "t": 10.0, "event": "transfer",
                    "to": "retention.main", "mode": "blind"})
    call = engine.calls["c1"]
    state = call.snapshot()
    assert (state["agent"], state["agent_name"], state["queue"]) == (None, None,
                                                                      "retention.main")
    for t in (20.0, 30.0, 40.0):
        engine.process({"type": "event", "call": "c1", "t": t, "event": "talk_over",
                        "by": "agent", "dur": 1.5})
    assert engine.calls["c1"].agent is None  # the talk_over flag's agent, as the hub takes it
    engine.process({"type": "event", "call": "c1", "t": 50.0, "event": "transfer",
                    "to": "s9", "agent": "s9", "agent_name": "Sam Ito"})
    summary = engine.calls["c1"].summary()
    assert (summary["agent"], summary["agents"]) == ("s9", ["a1", "s9"])
