"""The UI-free floor model: hub messages in, immutable rows and frames out."""

from __future__ import annotations

import random

from feeds.floor.model import Floor
from feeds.floor.shift import EndedCall

T0 = 1_700_000_000.0


def start(call: str, agent: str, team: str = "red", t: float = T0, **extra) -> dict:
    return {"type": "call_start", "call": call, "t": t, "agent": agent, "team": team, **extra}


def flag(call: str, rule: str, kind: str, state: str = "raised", severity: int = 2,
         t: float = T0 + 10, **extra) -> dict:
    return {"type": "flag", "id": f"{call}:{rule}:1", "call": call, "t": t, "kind": kind,
            "rule": rule, "severity": severity, "state": state,
            "evidence": f"{rule} evidence", **extra}


def feed(floor: Floor, msgs: list[dict], wall: float) -> None:
    for msg in msgs:
        floor.apply(msg, wall)


def connected(floor: Floor, wall: float = 0.0) -> None:
    floor.apply({"type": "status", "state": "connected", "url": "ws://127.0.0.1:1",
                 "attempt": 0}, wall)


def test_intervene_call_sorts_first_and_acked_after_raised():
    floor = Floor()
    feed(floor, [
        start("c1", "ann", t=T0),
        start("c2", "bob", t=T0 + 1),
        start("c3", "cid", t=T0 + 2),
        start("c4", "dee", t=T0 + 3),
        flag("c3", "hold_long", "intervene", severity=2),
        flag("c2", "talk_over", "coach", severity=1),
        flag("c4", "customer_distress", "intervene", severity=3),
    ], wall=0.0)
    frame = floor.take(0.0)
    assert floor.order() == ["c4", "c3", "c2", "c1"]
    floor.apply(flag("c4", "customer_distress", "intervene", state="acked", severity=3,
                     by="sam"), 0.0)
    frame = floor.take(0.0)
    assert frame.changed == frame.reranked == {"c4"}
    assert floor.order() == ["c3", "c4", "c2", "c1"]
    assert frame.rows["c4"].flags[0].by == "sam"
    assert floor.order(by_agent=True) == ["c1", "c2", "c3", "c4"]


def test_cleared_and_snoozed_flags_leave_the_need_order():
    floor = Floor()
    feed(floor, [start("c1", "ann"), start("c2", "bob", t=T0 + 5),
                     flag("c2", "hold_long", "intervene")], 0.0)
    assert floor.order() == ["c2", "c1"]
    floor.apply(flag("c2", "hold_long", "intervene", state="snoozed", until=T0 + 400), 0.0)
    frame = floor.take(0.0)
    assert floor.order() == ["c1", "c2"]
    assert frame.rows["c2"].flags[0].until == T0 + 400
    floor.apply(flag("c2", "hold_long", "intervene", state="cleared"), 0.0)
    assert floor.take(0.0).rows["c2"].flags == ()


def test_updates_between_frames_coalesce_into_one_row():
    floor = Floor()
    floor.apply(start("c1", "ann"), 0.0)
    floor.take(0.0)
    for i in range(20):
        floor.apply({"type": "call_update", "call": "c1", "t": T0 + i, "agent": "ann",
                     "team": "red", "started": T0, "state": "talking", "hold_total": 0.0,
                     "transfers": i // 10, "talk_overs": 0, "cust_db": -30.0 + i,
                     "agent_db": -25.0}, 1.0)
    frame = floor.take(1.0)
    assert frame.changed == {"c1"}
    assert frame.reranked == frozenset()  # level updates never move a row
    row = frame.rows["c1"]
    assert row.transfers == 1
    assert row.levels[0] == -11.0  # cust_db
    assert row.trend("cust_db")[-1] == -11.0
    assert floor.take(1.0).changed == frozenset()


def test_timers_are_the_calls_own_event_time_and_stop_with_the_feed():
    floor = Floor()
    connected(floor)
    feed(floor, [
        start("c1", "ann", t=T0),
        {"type": "event", "call": "c1", "t": T0 + 10, "event": "hold_start"},
        {"type": "sample", "call": "c1", "t": T0 + 12, "dt": 0.25},
    ], wall=100.0)
    # the hub's hello carries its wall clock: it moves no call's timers
    floor.apply({"type": "hello", "server": "h", "protocol": 1, "t": T0 + 9_000_000}, 100.0)
    frame = floor.take(102.0)
    row = frame.rows["c1"]
    assert (row.call_time(), row.hold_time()) == (12.0, 2.0)
    assert frame.status.live(102.0)
    # Silence with live calls is stale; a floor with no calls may be silent.
    assert not frame.status.live(110.0)
    assert frame.status.live(110.0, expecting=False)
    floor.apply({"type": "status", "state": "reconnecting", "attempt": 3,
                 "url": "ws://127.0.0.1:1"}, 103.0)
    frame = floor.take(200.0)
    assert frame.rows["c1"].hold_time() == 2.0  # nothing came: nothing moved
    assert frame.status.state == "reconnecting" and frame.status.attempt == 3
    assert not frame.status.live(200.0)


def test_a_silent_call_not_on_hold_shows_no_feed_until_it_is_heard_again():
    floor = Floor()
    connected(floor)
    feed(floor, [start("talk", "ann"), start("held", "bob"),
                 {"type": "event", "call": "held", "t": T0 + 1, "event": "hold_start"}],
         wall=100.0)
    frame = floor.take(104.0)
    assert not frame.rows["talk"].no_feed and frame.counts.no_feed == 0
    frame = floor.take(105.5)
    assert frame.rows["talk"].no_feed and "talk" in frame.changed
    assert not frame.rows["held"].no_feed  # the hub moves a quiet hold on by itself
    assert frame.counts.no_feed == 1
    floor.apply({"type": "sample", "call": "talk", "t": T0 + 6, "dt": 0.25}, 106.0)
    frame = floor.take(106.0)
    assert not frame.rows["talk"].no_feed and frame.counts.no_feed == 0


def test_hold_end_adds_to_the_ended_holds_and_hub_totals_are_not_counted_twice():
    floor = Floor()
    feed(floor, [
        start("c1", "ann"),
        {"type": "event", "call": "c1", "t": T0 + 10, "event": "hold_start"},
        {"type": "event", "call": "c1", "t": T0 + 40, "event": "hold_end"},
    ], 0.0)
    row = floor.take(0.0).rows["c1"]
    assert row.hold_sum() == 30.0
    # The hub's hold_total includes the running hold (60 s done + 20 s running).
    floor.apply({"type": "call_update", "call": "c1", "t": T0 + 120, "agent": "ann",
                 "team": "red", "started": T0, "state": "hold", "hold_started": T0 + 100,
                 "hold_total": 80.0}, 0.0)
    row = floor.take(0.0).rows["c1"]
    assert row.hold_done == 60.0
    assert row.hold_sum() == 80.0  # 60 s done + 20 s running at the call's t


def test_snapshot_replaces_the_floor_and_keeps_open_flags():
    floor = Floor()
    feed(floor, [start("old", "zed")], 0.0)
    floor.take(0.0)
    floor.apply({"type": "snapshot",
                 "calls": [{"call": "c9", "agent": "ann", "team": "red", "started": T0,
                            "t": T0 + 30, "state": "talking", "hold_total": 0.0}],
                 "flags": [flag("c9", "transfers", "intervene")]}, 0.0)
    frame = floor.take(0.0)
    assert frame.resync
    assert set(frame.rows) == {"c9"}
    assert "old" in frame.removed
    assert frame.rows["c9"].flags[0].badge == "!T"
    # Open at connect: listed under alerts, but not a new transition (no bell).
    assert frame.alerts == ()
    assert [f.id for f in floor.alerts] == ["c9:transfers:1"]


def test_bad_messages_are_reported_by_field_and_nothing_else_is_lost():
    floor = Floor()
    feed(floor, [
        start("c1", "ann"),
        {"type": "call_start", "call": "c2", "t": "soon", "agent": "bob", "team": "red"},
        {"type": "flag", "id": "x", "call": "c1", "t": T0, "kind": "panic", "rule": "r",
         "severity": 1, "state": "raised", "evidence": ""},
        {"type": "sample", "call": "nope", "t": T0, "dt": 1.0},
        {"type": "wat"},
        {"type": "call_update", "call": "c1", "t": T0 + 1, "transfers": "two"},
        flag("c1", "hold_long", "intervene"),
    ], 0.0)
    frame = floor.take(0.0)
    assert set(frame.rows) == {"c1"}
    assert len(frame.rows["c1"].flags) == 1
    assert frame.errors == (
        "call_start.t: expected int/float, got 'soon'",
        "flag.kind: expected one of intervene, coach, kudos, got 'panic'",
        "sample.call: unknown call 'nope'",
        "message.type: unknown type 'wat'",
        "call_update.transfers: expected int, got 'two'",
    )
    assert frame.rows["c1"].transfers == 0


def test_flag_before_its_call_is_kept_and_batches_are_unpacked():
    floor = Floor()
    floor.apply({"type": "batch", "items": [flag("c1", "hold_long", "intervene"),
                                            start("c1", "ann")]}, 0.0)
    frame = floor.take(0.0)
    assert [f.rule for f in frame.rows["c1"].flags] == ["hold_long"]
    assert [a.rule for a in frame.alerts] == ["hold_long"]


def test_filters_by_team_kind_and_text():
    floor = Floor()
    feed(floor, [
        start("c1", "ann", team="red", queue="billing", agent_name="Ann Lee"),
        start("c2", "bob", team="blue", queue="sales"),
        start("c3", "cid", team="blue", queue="billing"),
        flag("c3", "talk_over", "coach"),
    ], 0.0)
    assert floor.take(0.0).teams == {"red", "blue"}
    assert set(floor.order(teams=frozenset({"blue"}))) == {"c2", "c3"}
    assert floor.order(kinds=frozenset({"coach"})) == ["c3"]
    assert set(floor.order(text="BILL")) == {"c1", "c3"}
    assert floor.order(text="lee") == ["c1"]
    assert floor.order(teams=frozenset({"red"}), kinds=frozenset({"coach"})) == []


def test_detail_keeps_samples_timeline_and_flag_evidence():
    floor = Floor()
    feed(floor, [start("c1", "ann"), start("c2", "bob")], 0.0)
    floor.focus("c1")  # only the call on the detail screen keeps detail points
    feed(floor, [
        {"type": "sample", "call": "c2", "t": T0 + 1, "dt": 1.0, "cust_db": -20.0},
        {"type": "sample", "call": "c1", "t": T0 + 1, "dt": 1.0, "cust_db": -30.0,
         "cust_pitch": 180.0, "agent_db": None},
        {"type": "event", "call": "c1", "t": T0 + 2, "event": "transfer", "to": "tier2",
         "mode": "warm", "agent": "bob"},
        flag("c1", "transfers", "intervene", t=T0 + 3),
        {"type": "note", "call": "c1", "text": "good recovery", "by": "sam", "t": T0 + 4},
    ], 0.0)
    detail = floor.detail("c1")
    assert detail is not None
    assert [p.cust_db for p in detail.points] == [-30.0]
    assert detail.row.agent == "bob"
    assert [e.text for e in detail.timeline] == [
        "call started with ann",
        "transferred to tier2 (warm)",
        "!T transfers raised",
        "note sam: good recovery",
    ]
    assert detail.flags[0].evidence == "transfers evidence"
    # A resubscribe's snapshot repeats the open flag: the timeline does not.
    floor.apply({"type": "snapshot", "calls": [{"type": "call_update", "call": "c1",
                                                "agent": "bob", "team": "red",
                                                "started": T0, "t": T0 + 5}],
                 "flags": [flag("c1", "transfers", "intervene", t=T0 + 3)]}, 0.0)
    assert len(floor.detail("c1").timeline) == 4
    assert [p.cust_db for p in floor.detail("c1").points] == [-30.0]
    assert floor.detail("c2").points == ()
    floor.focus("c2")  # seeded from the board's short trend
    assert [p.cust_db for p in floor.detail("c2").points] == [-20.0]
    assert floor.detail("c1").points == ()
    assert floor.flag("c1:transfers:1") == detail.flags[0]


def test_ended_calls_feed_the_coaching_queue_and_agent_summary():
    floor = Floor()
    feed(floor, [
        start("c1", "ann"),
        flag("c1", "talk_over", "coach"),
        {"type": "call_end", "call": "c1", "t": T0 + 60},
        start("c2", "ann", t=T0 + 70),
        {"type": "call_update", "call": "c2", "t": T0 + 90, "agent": "ann", "team": "red",
         "started": T0 + 70, "state": "talking", "hold_total": 20.0, "transfers": 1,
         "talk_overs": 3},
        {"type": "history", "calls": [
            {"call": "h1", "agent": "bob", "team": "blue", "started": T0 - 600,
             "ended": T0 - 300, "hold_total": 40.0, "transfers": 0, "talk_overs": 0,
             "flags": ["deescalated"], "notes": [{"t": T0 - 200, "by": "sam",
                                                  "text": "well calmed"}]},
            {"call": "h2", "team": "blue"},
            {"call": "c2", "agent": "ann", "team": "red", "started": T0 + 70, "live": True},
        ]},
    ], 0.0)
    frame = floor.take(0.0)
    assert frame.history_changed
    assert frame.errors == ("history.calls[].agent: expected str, missing",)
    ended = floor.ended_calls()
    assert [(c.call, c.coaching) for c in ended] == [("c1", True), ("h1", True)]
    assert ended[1].flags == (("kudos", "deescalated", "", "bob"),)
    assert ended[1].to_dict()["notes"] == [{"t": T0 - 200, "by": "sam", "text": "well calmed"}]
    stats = {s.agent: s for s in floor.agent_stats()}
    assert stats["ann"].calls == 2 and stats["ann"].live == 1
    assert stats["ann"].avg_hold == 10.0
    assert stats["ann"].talk_over_rate == 1.5
    assert stats["ann"].flags["coach"] == 1
    assert stats["bob"].flags["kudos"] == 1
    assert EndedCall.from_summary(ended[1].to_dict()) == ended[1]
    # the shift's flags, cleared ones too; a hold still running counts
    feed(floor, [
        flag("c2", "customer_distress", "intervene", t=T0 + 95),
        flag("c2", "customer_distress", "intervene", state="cleared", t=T0 + 99),
        {"type": "event", "call": "c2", "t": T0 + 100, "event": "hold_start"},
        {"type": "sample", "call": "c2", "t": T0 + 130, "dt": 0.25},
    ], 0.0)
    floor.take(0.0)
    stats = {s.agent: s for s in floor.agent_stats()}
    assert stats["ann"].flags["intervene"] == 1
    assert stats["ann"].avg_hold == (20.0 + 30.0) / 2


def test_incremental_need_order_matches_a_full_sort():
    rng = random.Random(3)
    floor = Floor()
    teams = frozenset({"red", "blue"})
    feed(floor, [start(f"c{i}", f"a{i}", team=("red", "blue")[i % 2], t=T0 + i)
                     for i in range(60)], 0.0)
    rules = [("hold_long", "intervene"), ("transfers", "intervene"), ("talk_over", "coach"),
             ("deescalated", "kudos")]
    for step in range(300):
        call = f"c{rng.randrange(60)}"
        rule, kind = rules[rng.randrange(len(rules))]
        if step % 50 == 49:
            floor.apply({"type": "call_end", "call": call, "t": T0 + 100}, 0.0)
            floor.apply(start(call, "z", t=T0 + 100 + step), 0.0)
        floor.apply(flag(call, rule, kind, state=rng.choice(["raised", "acked", "snoozed",
                                                             "cleared"]),
                         severity=rng.randint(1, 3)), 0.0)
        if step % 7 == 0:
            floor.take(0.0)
            # The filtered path sorts everything; with every team it must agree.
            assert floor.order() == floor.order(teams=teams)
    assert len(floor.order()) == 60


def _update(t: float, sec: float | None, **levels: float | None) -> dict:
    """A call_update for c1 from a hub with 1-second means (`sec` null: none complete yet)."""
    msg = {"type": "call_update", "call": "c1", "t": t, "agent": "ann", "team": "red",
           "started": T0, "state": "talking", "hold_total": 0.0, "transfers": 0,
           "talk_overs": 0, "cust_db": None, "agent_db": None, "t_1s": sec}
    for name in ("cust_db", "cust_pitch", "agent_db", "agent_pitch"):
        msg[f"{name}_1s"] = levels.get(name)
    return msg


def test_sparklines_follow_the_hubs_one_second_means_not_the_last_sample():
    floor = Floor()
    floor.apply(start("c1", "ann"), 0.0)
    floor.apply(_update(T0 + 0.9, None), 0.0)  # no complete second: nothing to plot yet
    assert floor.take(0.0).rows["c1"].trend("cust_db") == ()
    feed(floor, [
        _update(T0 + 1.1, T0, cust_db=-30.0, agent_db=-25.0),
        _update(T0 + 1.6, T0, cust_db=-30.0, agent_db=-25.0),  # same second: not twice
        _update(T0 + 2.1, T0 + 1, cust_db=-20.0),
        _update(T0 + 5.1, T0 + 4, cust_db=-22.0),  # 2 and 3 never came: blank, not joined
    ], 0.0)
    row = floor.take(0.0).rows["c1"]
    assert row.levels[0] is None  # the v1 field: the last sample, silent at that instant
    assert row.trend("cust_db") == (-30.0, -20.0, None, None, -22.0)
    assert row.trend("agent_db") == (-25.0, None, None, None, None)
    # a hub without the extension still moves the sparklines with what it sends
    floor.apply({"type": "call_update", "call": "c2", "t": T0, "agent": "bob", "team": "red",
                 "started": T0, "cust_db": -31.0}, 0.0)
    assert floor.take(0.0).rows["c2"].trend("cust_db") == (-31.0,)
    floor.apply({**_update(T0 + 6.1, T0 + 5), "cust_db_1s": "loud"}, 0.0)
    assert floor.take(0.0).errors == ("call_update.cust_db_1s: expected int/float/NoneType, "
                                      "got 'loud'",)


def test_an_opened_call_plots_the_hubs_trace_then_its_live_samples():
    floor = Floor()
    feed(floor, [start("c1", "ann"), _update(T0 + 3.1, T0 + 2, cust_db=-28.0)], 0.0)
    floor.focus("c1")
    # until the trace arrives the plots show what the board had
    assert [(p.t, p.cust_db) for p in floor.detail("c1").points] == [(T0 + 2, -28.0), (
        T0 + 3, None)]
    trace = {"type": "trace", "call": "c1", "t0": T0, "step": 1.0,
             "cust_db": [-30.0, None, -28.0], "cust_pitch": [200.0, None, 210.0],
             "agent_db": [None, -25.0, None], "agent_pitch": [None, 120.0, None],
             "cust_spike": [False, False, True], "agent_spike": [False, False, False],
             "cust_db_base": -30.0}
    floor.apply(trace, 0.0)
    feed(floor, [
        {"type": "sample", "call": "c1", "t": T0 + 3.25, "dt": 0.25, "cust_db": -10.0},
        {"type": "sample", "call": "c1", "t": T0 + 3.5, "dt": 0.25, "cust_db": -14.0},
        {"type": "sample", "call": "c1", "t": T0 + 3.75, "dt": 0.25, "cust_db": None},
    ], 0.0)
    points = floor.detail("c1").points
    assert [p.t for p in points] == [T0, T0 + 1, T0 + 2, T0 + 3]
    assert [p.cust_db for p in points] == [-30.0, None, -28.0, -12.0]
    assert [p.cust_spike for p in points] == [False, False, True, False]
    floor.apply({"type": "sample", "call": "c1", "t": T0 + 4.25, "dt": 0.25,
                 "cust_db": -11.0}, 0.0)
    assert floor.take(0.0).rows["c1"].trend("cust_db")[-1] == -12.0  # the board moves too
    # a trace for a call nobody has open is not kept; a broken one names its field
    feed(floor, [start("c2", "bob"), {**trace, "call": "c2"}], 0.0)
    assert floor.detail("c2").points == ()
    floor.apply({**trace, "cust_pitch": [1.0]}, 0.0)
    assert floor.take(0.0).errors == ("trace.cust_pitch: expected 3 items like cust_db, "
                                      "got 1",)
    # closing the detail: the call's sparklines go back to the hub's call_updates
    floor.focus(None)
    assert floor.detail("c1").points == ()
    floor.apply(_update(T0 + 6.1, T0 + 5, cust_db=-33.0), 0.0)
    assert floor.take(0.0).rows["c1"].trend("cust_db")[-2:] == (None, -33.0)


def test_the_incremental_need_order_is_always_the_full_sort():
    """Flags raised, acked, snoozed and cleared on random calls that come and go: the
    order kept by moving single entries (feeds.floor.needindex) equals sorting every call."""
    from feeds.floor.view import need_key

    rng = random.Random(5)
    floor = Floor()
    connected(floor)
    live: dict[str, float] = {}
    rules = [("hold_long", "intervene"), ("talk_over", "coach"), ("deescalated", "kudos")]
    for step in range(600):
        roll = rng.random()
        if roll < 0.15 or not live:
            call = f"c{step}"
            live[call] = T0 + rng.choice([0, 5, 10])  # equal start times: ties by id
            floor.apply(start(call, f"a{step}", t=live[call]), 0.0)
        elif roll < 0.25:
            call = rng.choice(sorted(live))
            del live[call]
            floor.apply({"type": "call_end", "call": call, "t": T0 + 100}, 0.0)
        else:
            call = rng.choice(sorted(live))
            rule, kind = rng.choice(rules)
            state = rng.choice(["raised", "acked", "snoozed", "cleared"])
            floor.apply(flag(call, rule, kind, state, severity=rng.choice([1, 2, 3])), 0.0)
        if step % 7 == 0:
            expected = sorted(live, key=lambda c: need_key(
                [f for f in floor.detail(c).flags if f.is_open], live[c], c))
            assert floor.order() == expected



def test_a_transfer_that_names_an_agent_shows_them_by_name():
    floor = Floor()
    feed(floor, [
        start("c1", "ann", agent_name="Ann Lee"),
        {"type": "event", "call": "c1", "t": T0 + 5, "event": "transfer", "to": "s007",
         "agent": "s007", "agent_name": "Sam Ito", "team": "tier2"},
    ], 0.0)
    row = floor.take(0.0).rows["c1"]
    assert (row.agent, row.name, row.team) == ("s007", "Sam Ito", "tier2")


def test_a_transfer_that_names_nobody_shows_the_queue_and_credits_nobody():
    floor = Floor()
    feed(floor, [
        start("c1", "ann", agent_name="Ann Lee", queue="billing.main"),
        flag("c1", "transfers", "intervene", t=T0 + 5, agent="ann"),  # ann had it
        {"type": "event", "call": "c1", "t": T0 + 10, "event": "transfer",
         "to": "retention.main", "mode": "blind"},
        {"type": "flag", "id": "c1:talk_over:1", "call": "c1", "t": T0 + 40,
         "kind": "coach", "rule": "talk_over", "severity": 1, "state": "raised",
         "evidence": "agent talked over the customer 3 times", "agent": None},
    ], 0.0)
    row = floor.take(0.0).rows["c1"]
    assert (row.agent, row.name) == (None, "→ retention.main")
    assert [(f.rule, f.who) for f in floor.detail("c1").flags] == [
        ("transfers", "Ann Lee"), ("talk_over", "awaiting agent")]
    stats = {s.agent: s for s in floor.agent_stats()}
    assert (stats["ann"].calls, stats["ann"].live) == (1, 0)  # hers, no longer with her
    assert stats["ann"].flags["intervene"] == 1 and stats["ann"].flags["coach"] == 0
    assert set(stats) == {"ann"}
    # someone is named: they have it now, and the talk-over before them is not theirs
    floor.apply({"type": "event", "call": "c1", "t": T0 + 50, "event": "transfer",
                 "to": "s9", "agent": "s9", "agent_name": "Sam Ito"}, 0.0)
    floor.apply({"type": "call_end", "call": "c1", "t": T0 + 60}, 0.0)
    floor.take(0.0)
    (ended,) = floor.ended_calls()
    assert (ended.agent, ended.agents) == ("s9", ("ann", "s9"))
    stats = {s.agent: s for s in floor.agent_stats()}
    assert stats["s9"].calls == 1 and stats["s9"].flags["coach"] == 0
    assert stats["ann"].calls == 1


def test_within_a_severity_whoever_has_waited_longest_comes_first():
    """A customer on hold since T0 + 10 (flagged at T0 + 130) waits longer than a call
    transferred twice by T0 + 100, though that call is older and its flag came first."""
    floor = Floor()
    feed(floor, [
        start("xfer", "ann", t=T0 - 60),
        start("held", "bob", t=T0),
        {"type": "event", "call": "held", "t": T0 + 10, "event": "hold_start"},
        {"type": "flag", "id": "xfer:transfers:1", "call": "xfer", "t": T0 + 100,
         "kind": "intervene", "rule": "transfers", "severity": 2, "state": "raised",
         "evidence": "customer transferred 2 times", "values": {"count": 2}},
        {"type": "flag", "id": "held:hold_long:1", "call": "held", "t": T0 + 130,
         "kind": "intervene", "rule": "hold_long", "severity": 2, "state": "raised",
         "evidence": "customer on hold for 120 s", "values": {"hold_s": 120.0}},
    ], 0.0)
    floor.take(0.0)
    assert floor.order() == ["held", "xfer"]
    # acked, the hold keeps the time it began: an ack's `t` is when it was acked
    floor.apply({"type": "flag", "id": "held:hold_long:1", "call": "held", "t": T0 + 200,
                 "kind": "intervene", "rule": "hold_long", "severity": 2, "state": "acked",
                 "evidence": "customer on hold for 120 s", "values": {"hold_s": 120.0},
                 "by": "sam"}, 0.0)
    floor.take(0.0)
    assert floor.detail("held").flags[0].since == T0 + 10
    assert floor.order() == ["xfer", "held"]  # raised before acked


def test_the_timeline_says_which_overlaps_the_talk_over_rule_does_not_count():
    floor = Floor(backchannel_s=1.0)
    feed(floor, [
        start("c1", "ann"),
        {"type": "event", "call": "c1", "t": T0 + 1, "event": "talk_over", "by": "agent",
         "dur": 0.6},
        {"type": "event", "call": "c1", "t": T0 + 2, "event": "talk_over", "by": "customer",
         "dur": 1.5},
        {"type": "event", "call": "c1", "t": T0 + 3, "event": "talk_over", "by": "agent",
         "dur": 1.5},
    ], 0.0)
    texts = [e.text for e in floor.detail("c1").timeline if e.kind == "event"]
    assert texts == ["agent talked over for 0.6 s (a backchannel: not counted)",
                     "customer talked over for 1.5 s (the customer: not counted)",
                     "agent talked over for 1.5 s"]


def test_an_authenticating_hub_says_who_we_are_and_which_teams_it_holds_us_to():
    floor = Floor()
    connected(floor)
    floor.apply({"type": "hello", "server": "floorwatch", "protocol": 1, "t": T0,
                 "user": "lee", "role": "lead", "teams": ["red"]}, 0.0)
    status = floor.take(0.0).status
    assert (status.who, status.teams) == ("lee (lead)", ("red",))


def test_a_producer_whose_clock_runs_ahead_does_not_age_the_floor():
    floor = Floor()
    connected(floor)
    floor.apply({"type": "hello", "server": "floorwatch", "protocol": 1, "t": T0}, 100.0)
    feed(floor, [start("ok", "ann", t=T0 - 30), start("skewed", "bob", t=T0 + 86_400)], 101.0)
    frame = floor.take(101.0)
    assert frame.now == T0 + 1.0  # the hub's clock, not a day ahead
    assert frame.rows["ok"].call_time() == 0.0 and frame.rows["skewed"].call_time() == 0.0


def test_names_that_change_in_a_call_update_are_made_printable():
    floor = Floor()
    feed(floor, [start("c1", "ann"), {**_update(T0 + 1, None), "agent_name": "Eve\x1b[2J",
                                      "team": "red\x07"}], 0.0)
    row = floor.take(0.0).rows["c1"]
    assert (row.agent_name, row.team) == ("Eve\ufffd[2J", "red\ufffd")
