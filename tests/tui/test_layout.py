"""Board columns sized to the terminal, and the WHY column's short evidence."""

from __future__ import annotations

import pytest

from feeds.floor.call import TREND_LEN
from feeds.floor.model import Floor
from tests.hubkit import T0
from tui.board import WHY_FROM, layout
from tui.format import why

SPARKS = {"cust", "agentlvl", "pitch", "agentpitch"}


@pytest.mark.parametrize("width", [60, 80, 100, 119, 120, 160, 200, 250])
def test_columns_fill_the_width_without_overflow(width: int):
    cols = layout(width, team=11)
    keys = [c.key for c in cols]
    assert {"flags", "agent", "state", "cust"} <= set(keys)
    used = sum(c.width + 1 for c in cols)
    assert used <= width
    if width >= 80:
        assert width - used <= 1  # no half-empty board
        assert {"team", "time", "hold", "xfer", "talk", "agentlvl"} <= set(keys)
        team = next(c for c in cols if c.key == "team")
        assert team.width >= 11  # "escalations" is not cut
    assert ("why" in keys) == (width >= WHY_FROM)
    for col in cols:
        assert len(col.title) <= col.width, col  # every column has its whole header
        if col.key in SPARKS:
            assert col.width <= TREND_LEN


def test_wide_boards_give_the_room_to_sparklines_and_why():
    cols = {c.key: c for c in layout(160, team=11)}
    assert set(cols) >= SPARKS | {"why", "queue"}
    assert all(cols[k].width >= 10 for k in SPARKS)
    assert cols["why"].width >= 26
    wide = {c.key: c for c in layout(250, team=11)}
    assert wide["cust"].width > cols["cust"].width and wide["why"].width >= 48


def _floor(*msgs: dict) -> Floor:
    floor = Floor()
    for msg in msgs:
        floor.apply(msg, 0.0)
    return floor


def _row(rule: str, kind: str, evidence: str, *events: dict, values: dict | None = None):
    """The call's row after a flag raised at T0 + 130, the call's event time at T0 + 311."""
    floor = _floor(
        {"type": "call_start", "call": "c1", "t": T0, "agent": "ann", "team": "red"},
        *events,
        {"type": "flag", "id": f"c1:{rule}:1", "call": "c1", "t": T0 + 130, "kind": kind,
         "rule": rule, "severity": 2, "state": "raised", "evidence": evidence,
         "values": values or {}},
        {"type": "sample", "call": "c1", "t": T0 + 311, "dt": 0.25},
    )
    return floor.take(0.0).rows["c1"]


def test_why_says_the_most_urgent_flags_numbers_in_a_few_words():
    row = _row("customer_distress", "intervene",
               "customer loudness +10.1 dB over their baseline (-24.8 dBFS) and customer pitch "
               "+4.1 semitones over their baseline (144 Hz) for 3.0 s of their speech "
               "(thresholds +8 dB / +4 st)",
               values={"db": 10.1, "base_db": -24.8, "st": 4.1, "base_hz": 144.0,
                       "sustain_s": 3.0, "threshold_db": 8.0, "threshold_st": 4.0})
    # the numbers from the raise, and how long the episode has lasted (not the rule's 3 s)
    assert why(row) == "cust +10.1 dB, +4.1 st for 3m"
    row = _row("agent_raised_voice", "coach",
               "agent loudness +9.1 dB over their baseline (-26.0 dBFS) for 2.0 s of their "
               "speech (threshold +8 dB)",
               values={"db": 9.1, "base_db": -26.0, "sustain_s": 2.0, "threshold_db": 8.0})
    assert why(row) == "agent +9.1 dB for 3m"
    held = _row("hold_long", "intervene", "customer on hold for 120 s with no check-in",
                {"type": "event", "call": "c1", "t": T0 + 10, "event": "hold_start"})
    assert why(held) == "hold 5:01"  # the call's own event time: T0 + 311 - (T0 + 10)
    row = _row("transfers", "intervene", "customer transferred 2 times (to a, then b)",
               *({"type": "event", "call": "c1", "t": T0 + i, "event": "transfer", "to": "x"}
                 for i in (1, 2)))
    assert why(row) == "2 transfers"
    row = _row("talk_over", "coach", "agent talked over the customer 3 times in 95 s "
               "(overlaps 1.5 s, 1.5 s, 1.5 s; threshold 3 within 120 s)",
               values={"count": 3, "window_s": 95.0, "threshold": 3, "within_s": 120.0})
    assert why(row) == "3 talk-overs in 95 s"
    row = _row("deescalated", "kudos", "customer calmed 12.5 s after distress was flagged",
               values={"calmed_s": 12.5, "peak_db": 11.0})
    assert why(row) == "calmed in 12.5 s"
    # a flag without its numbers (another producer of flags) shows its sentence
    assert why(_row("talk_over", "coach", "odd")) == "odd"
    # the words of the sentence do not matter: only its values are read
    row = _row("customer_distress", "intervene", "anything", values={"db": 9.0, "sustain_s": 3})
    assert why(row) == "cust +9.0 dB for 3m"


def test_why_reads_what_the_engine_writes():
    """The engine's values for each rule give the WHY column its numbers."""
    from feeds.core.engine import Engine

    engine = Engine()
    msgs = [{"type": "call_start", "call": "c1", "t": T0, "agent": "ann", "team": "red"}]
    msgs += [{"type": "event", "call": "c1", "t": T0 + i, "event": "transfer", "to": f"q{i}"}
             for i in (1, 2)]
    msgs += [{"type": "event", "call": "c1", "t": T0 + 3 + 5 * i, "event": "talk_over",
              "by": "agent", "dur": 1.5} for i in range(3)]
    raised = []
    for msg in msgs:
        raised.extend(f.to_message() for f in engine.process(msg))
    floor = _floor(msgs[0], *msgs[1:], *({**f, "type": "flag"} for f in raised))
    rows = floor.take(0.0).rows["c1"]
    by_rule = {f["rule"]: f for f in raised}
    assert by_rule["talk_over"]["values"] == {"count": 3, "window_s": 10.0, "threshold": 3,
                                              "within_s": 120.0}
    assert by_rule["transfers"]["values"] == {"count": 2, "threshold": 2}
    assert why(rows) == "2 transfers"


def test_why_skips_a_snoozed_flag_for_an_open_one():
    floor = _floor(
        {"type": "call_start", "call": "c1", "t": T0, "agent": "ann", "team": "red"},
        {"type": "flag", "id": "c1:hold_total:1", "call": "c1", "t": T0 + 1, "kind": "coach",
         "rule": "hold_total", "severity": 1, "state": "raised", "evidence": "holds"},
        {"type": "flag", "id": "c1:transfers:1", "call": "c1", "t": T0 + 1,
         "kind": "intervene", "rule": "transfers", "severity": 2, "state": "snoozed",
         "evidence": "customer transferred 2 times", "until": T0 + 100},
    )
    row = floor.take(0.0).rows["c1"]
    assert why(row) == "holds Σ 0:00"
    assert why(floor.take(0.0).rows["c1"]._replace(flags=())) == ""


def test_status_line_names_the_teams_in_view_and_those_with_no_calls():
    from feeds.floor.view import FeedStatus
    from tui.widgets import StatusLine

    status = FeedStatus(state="connected", url="ws://h:1/subscribe", producers=2,
                        teams=("red", "nosuchteam"), last_message=0.0)
    text = StatusLine.describe(status, 1.0, True, frozenset({"red", "blue"}))
    assert "2 producers · teams red, nosuchteam (no calls on nosuchteam)" in text
    everyone = StatusLine.describe(FeedStatus(state="connected", producers=0), 1.0, True)
    assert "NO PRODUCER: calls not live · all teams" in everyone


def test_a_refused_feed_says_why_first():
    from feeds.floor.view import FeedStatus
    from tui.widgets import StatusLine

    text = StatusLine.describe(FeedStatus(state="refused", url="ws://h:1/subscribe",
                                          detail="HTTP 401 from ws://h:1/subscribe: a valid "
                                          "token is required"), 0.0, False)
    assert text.startswith(" ○ REFUSED: HTTP 401") and "token" in text
