"""The 1-second voice trace: binning by event time, gaps, the ring bound, the wire form."""

from __future__ import annotations

import sys

import pytest

from feeds.core.trace import CAPACITY, Trace, TraceError

T0 = 1_790_000_000.0


def test_a_second_holds_the_mean_of_voiced_samples_and_silence_is_not_zero():
    trace = Trace()
    trace.add(T0 + 0.25, {"cust_db": -30.0, "cust_pitch": 200.0})
    trace.add(T0 + 0.50, {"cust_db": None, "agent_db": -20.0})  # customer silent here
    trace.add(T0 + 0.75, {"cust_db": -20.0, "cust_pitch": 220.0}, cust_spike=True)
    assert trace.last()["t_1s"] is None  # nothing complete yet
    closed = trace.add(T0 + 1.25, {"agent_db": -22.0})
    assert closed
    last = trace.last()
    assert last == {"t_1s": T0, "cust_db_1s": -25.0, "cust_pitch_1s": 210.0,
                    "agent_db_1s": -20.0, "agent_pitch_1s": None}
    t0, levels, spikes = trace.bins()
    assert (t0, levels, spikes) == (T0, [(-25.0, 210.0, -20.0, None)], [(True, False)])


def test_seconds_without_samples_are_empty_bins_and_the_open_second_can_be_shown():
    trace = Trace()
    trace.add(T0 + 0.5, {"agent_db": -25.0})
    trace.add(T0 + 3.5, {"agent_db": -15.0}, agent_spike=True)
    t0, levels, spikes = trace.bins()
    assert t0 == T0
    assert [lv[2] for lv in levels] == [-25.0, None, None]
    t0, levels, spikes = trace.bins(open_bin=True)
    assert [lv[2] for lv in levels] == [-25.0, None, None, -15.0]
    assert spikes[-1] == (False, True)


def test_a_late_sample_counts_in_the_open_second():
    trace = Trace()
    trace.add(T0 + 0.5, {"cust_db": -30.0})
    trace.add(T0 + 1.5, {"cust_db": -20.0})
    trace.add(T0 + 0.9, {"cust_db": -10.0})
    trace.add(T0 + 2.1, {})
    assert [lv[0] for lv in trace.bins()[1]] == [-30.0, -15.0]


def test_only_the_last_capacity_seconds_are_kept_and_a_long_gap_costs_no_more():
    trace = Trace(capacity=10)
    for s in range(25):
        trace.add(T0 + s + 0.5, {"cust_db": float(-40 + s)})
    t0, levels, _ = trace.bins()
    assert t0 == T0 + 14 and len(levels) == 10
    assert [lv[0] for lv in levels] == [float(-40 + s) for s in range(14, 24)]
    trace.add(T0 + 10_000.5, {"cust_db": -1.0})  # a day-long jump clears every bin once
    t0, levels, _ = trace.bins()
    assert t0 == T0 + 9_990 and all(lv == (None,) * 4 for lv in levels)


def test_a_full_trace_is_a_few_kilobytes():
    trace = Trace()
    for s in range(CAPACITY * 2):
        trace.add(T0 + s, {"cust_db": -30.0, "cust_pitch": 200.0, "agent_db": -25.0,
                           "agent_pitch": 120.0})
    size = sys.getsizeof(trace) + sum(sys.getsizeof(v) for v in trace.values) + \
        sys.getsizeof(trace.spikes) + sys.getsizeof(trace._acc)
    assert size < 4096


def test_the_trace_message_round_trips():
    trace = Trace()
    for s in range(5):
        trace.add(T0 + s + 0.5, {"cust_db": -30.0 + s, "agent_pitch": None if s % 2 else 120.0},
                  cust_spike=s == 3)
    msg = trace.message("c1", {"cust_db_base": -30.1234, "agent_pitch_base": None})
    assert msg["type"] == "trace" and msg["call"] == "c1"
    assert (msg["t0"], msg["step"]) == (T0, 1.0)
    assert msg["cust_db"] == [-30.0, -29.0, -28.0, -27.0]
    assert msg["agent_pitch"] == [120.0, None, 120.0, None]
    assert msg["cust_spike"] == [False, False, False, True]
    assert (msg["cust_db_base"], msg["agent_pitch_base"]) == (-30.12, None)
    again = Trace.from_message(msg)
    assert again.bins() == trace.bins()
    again.add(T0 + 4.5, {"cust_db": -26.0})  # live samples go on where the trace ended
    again.add(T0 + 5.5, {})
    assert again.bins()[1][-1][0] == -26.0


@pytest.mark.parametrize(("change", "error"), [
    ({"t0": "soon"}, "trace.t0: expected a finite number"),
    ({"step": 0.5}, "trace.step: expected 1.0"),
    ({"cust_pitch": None}, "trace.cust_pitch: expected a list"),
    ({"agent_db": [1.0]}, "trace.agent_db: expected 2 items like cust_db, got 1"),
    ({"cust_db": ["loud", 1.0]}, "trace.cust_db: expected numbers or null, got 'loud'"),
])
def test_a_bad_trace_message_names_the_field(change, error):
    trace = Trace()
    for s in range(3):
        trace.add(T0 + s, {"cust_db": -30.0})
    msg = {**trace.message("c1"), **change}
    with pytest.raises(TraceError, match=error):
        Trace.from_message(msg)
