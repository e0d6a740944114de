"""A telephony platform may reuse a call id: each call under it is a call of its own.

Its flags get ids no earlier call had (numbering goes on from the last call under the
id, across hub restarts), an ack on one is not an ack on the other, and notes, flags
and summaries stay with the call they were made on."""

from __future__ import annotations

import sqlite3

from feeds.core.engine import Engine
from feeds.core.protocol import encode_like, validate
from feeds.hub.store import Store
from tests.hubkit import T0, hub_running, publish, read_until, small_floor, subscribe_to


def _call(shift: float) -> list[dict]:
    """red-0 of the small floor (a 130 s hold: hold_long at +150 s), `shift` s later."""
    msgs = [m for m in small_floor(seed=4, teams=("red",)) if m["call"] == "red-0"]
    return [dict(m, t=round(m["t"] + shift, 3)) for m in msgs]


def _split(msgs: list[dict], at: float) -> tuple[list[dict], list[dict]]:
    cut = next(i for i, m in enumerate(msgs) if m["t"] > msgs[0]["t"] + at)
    return msgs[:cut], msgs[cut:]


def test_the_engine_numbers_the_flags_of_a_reused_id_on():
    engine = Engine()
    ids = []
    for shift in (0.0, 1000.0, 2000.0):  # three calls under one id
        for msg in _call(shift):
            ids += [f.id for f in engine.process(validate(dict(msg))) if f.state == "raised"]
    assert ids == ["red-0:hold_long:1", "red-0:hold_long:2", "red-0:hold_long:3"]


async def _flag_raised(ws, not_id: str | None = None) -> dict:
    msgs = await read_until(ws, lambda m: m["type"] == "flag" and m["rule"] == "hold_long"
                            and m["state"] == "raised" and m["id"] != not_id)
    return msgs[-1]


async def _say(ws, msg: dict, reply_type: str) -> dict:
    await ws.send(encode_like(msg, True))
    return (await read_until(ws, lambda m: m["type"] == reply_type))[-1]


async def test_a_second_call_under_an_id_keeps_its_own_ack_notes_and_history(tmp_path):
    db = tmp_path / "hub.db"
    first, second = _call(0.0), _call(1000.0)
    async with hub_running(db) as (_, url), subscribe_to(url) as ws:
        await _say(ws, {"type": "subscribe", "teams": None, "user": "ann"}, "snapshot")
        head, tail = _split(first, 155)
        await publish(url, head, binary=True)
        one = await _flag_raised(ws)
        await _say(ws, {"type": "ack", "flag": one["id"]}, "flag")
        await _say(ws, {"type": "note", "call": "red-0", "text": "first call"}, "note")
        await publish(url, tail, binary=True)
        await read_until(ws, lambda m: m["type"] == "call_end")

        head, tail = _split(second, 155)
        await publish(url, head, binary=True)
        two = await _flag_raised(ws, not_id=one["id"])
        assert two["id"] != one["id"] and "by" not in two  # raised, nobody's ack
        await _say(ws, {"type": "note", "call": "red-0", "text": "second call"}, "note")
        await publish(url, tail, binary=True)
        await read_until(ws, lambda m: m["type"] == "call_end")
        history = (await _say(ws, {"type": "history"}, "history"))["calls"]

    calls = sorted((c for c in history if c["call"] == "red-0"), key=lambda c: c["started"])
    assert [c["started"] for c in calls] == [first[0]["t"], second[0]["t"]]
    assert [[n["text"] for n in c["notes"]] for c in calls] == [["first call"], ["second call"]]
    assert [[f["id"] for f in c["flags"]] for c in calls] == [[one["id"]], [two["id"]]]
    assert [c["flags"][0]["state"] for c in calls] == ["cleared", "cleared"]  # at each end

    async with hub_running(db) as (_, url), subscribe_to(url) as ws:  # restarted
        await _say(ws, {"type": "subscribe", "teams": None, "user": "ann"}, "snapshot")
        await publish(url, _split(_call(2000.0), 155)[0], binary=True)
        three = await _flag_raised(ws)
    assert three["id"] not in (one["id"], two["id"]) and three["state"] == "raised"


async def test_a_database_from_before_keeps_its_calls_flags_and_notes(tmp_path):
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as raw:  # the tables as floorwatch wrote them before
        raw.executescript("""
            CREATE TABLE calls (call TEXT PRIMARY KEY, team TEXT, agent TEXT, started REAL,
                                ended REAL, summary TEXT);
            CREATE INDEX calls_ended ON calls (ended);
            CREATE TABLE flags (id TEXT PRIMARY KEY, call TEXT NOT NULL, state TEXT NOT NULL,
                                message TEXT NOT NULL);
            CREATE TABLE notes (id INTEGER PRIMARY KEY, call TEXT NOT NULL, team TEXT,
                                t REAL NOT NULL, by TEXT, text TEXT NOT NULL);
        """)
        raw.execute("INSERT INTO calls VALUES ('r1', 'red', 'a', ?, ?, ?)",
                    (T0, T0 + 60, '{"call": "r1", "team": "red", "agent": "a", '
                     f'"started": {T0}, "ended": {T0 + 60}, "flags": ["hold_long"]}}'))
        raw.execute("INSERT INTO flags VALUES ('r1:hold_long:2', 'r1', 'cleared', ?)",
                    ('{"id": "r1:hold_long:2", "call": "r1", "state": "cleared"}',))
        raw.execute("INSERT INTO notes (call, team, t, by, text) VALUES "
                    "('r1', 'red', 1.0, 'ann', 'kept')")
    store = Store(db)
    try:
        calls = await store.history(None, None, None, [])
        assert [(c["call"], c["started"]) for c in calls] == [("r1", T0)]
        assert [n["text"] for n in calls[0]["notes"]] == ["kept"]
        assert [f["id"] for f in calls[0]["flags"]] == ["r1:hold_long:2"]
        assert store.past_calls(10) == [("r1", {"hold_long": 2})]
    finally:
        store.close()


def test_the_board_keeps_each_call_under_a_reused_id_for_coaching():
    from feeds.floor.model import Floor
    from tests.test_floor import connected, flag, start

    floor = Floor()
    connected(floor)
    floor.apply(start("r1", "ann", t=T0), 0.0)
    floor.apply(flag("r1", "talk_over", "coach", t=T0 + 5), 0.0)
    floor.apply({"type": "call_end", "call": "r1", "t": T0 + 60}, 0.0)
    floor.apply(start("r1", "bob", t=T0 + 100), 0.0)  # the id again: another call
    floor.apply({"type": "note", "call": "r1", "text": "greet by name", "by": "lee",
                 "t": T0 + 120}, 0.0)
    floor.apply({"type": "call_end", "call": "r1", "t": T0 + 160}, 0.0)
    calls = sorted(floor.ended_calls(), key=lambda c: c.started)
    assert [(c.agent, c.started, c.ended) for c in calls] == [
        ("ann", T0, T0 + 60), ("bob", T0 + 100, T0 + 160)]
    assert [[f.rule for f in c.flags] for c in calls] == [["talk_over"], []]
    assert [[text for _, _, text in c.notes] for c in calls] == [[], ["lee: greet by name"]]
