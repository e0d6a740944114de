"""The hub's SQLite store: where it lives, what survives reopening, history queries."""

from __future__ import annotations

import sqlite3

from feeds.hub.store import Store, default_path


def test_default_path_follows_xdg_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_path() == tmp_path / "floorwatch" / "floorwatch.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / ".local/share/floorwatch/floorwatch.db"


def _flag(call: str, rule: str, state: str, **extra) -> dict:
    return {"type": "flag", "id": f"{call}:{rule}:1", "call": call, "t": 100.0,
            "kind": "intervene", "rule": rule, "severity": 2, "state": state,
            "evidence": "e", "team": "red", **extra}


def _summary(call: str, team: str, ended: float) -> dict:
    return {"call": call, "agent": "a", "agent_name": None, "team": team, "queue": None,
            "started": ended - 60, "ended": ended, "duration": 60.0, "hold_total": 0.0,
            "holds": 0, "transfers": 0, "talk_overs": 0, "cust_peak_db": 0.0,
            "cust_peak_st": 0.0, "agent_peak_db": 0.0, "flags": []}


async def test_everything_survives_reopening_and_history_filters(tmp_path):
    db = tmp_path / "sub" / "hub.db"
    store = Store(db)
    store.put_flag(_flag("c1", "hold_long", "raised"))
    await store.supervisor_flag(_flag("c1", "hold_long", "acked", by="ann", note="mine"), 5.0)
    store.put_flag(_flag("c2", "transfers", "raised"))
    store.put_flag(_flag("c2", "transfers", "cleared"))
    await store.add_note({"call": "c1", "t": 7.0, "by": "ann", "text": "coach on holds"}, "red",
                         140.0)
    store.put_summary(_summary("c1", "red", 200.0))
    store.put_summary(_summary("c2", "red", 300.0))
    store.put_summary(_summary("c3", "blue", 400.0))
    store.close()

    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("SELECT by, at, note FROM flag_actions").fetchall() == [
            ("ann", 5.0, "mine")]

    store = Store(db)
    try:
        reopened = store.open_flags()
        assert list(reopened) == ["c1:hold_long:1"]
        assert (reopened["c1:hold_long:1"]["state"], reopened["c1:hold_long:1"]["by"]) == (
            "acked", "ann")
        calls = await store.history(None, None, None, [])
        assert [c["call"] for c in calls] == ["c3", "c2", "c1"]
        c1 = calls[2]
        assert c1["notes"] == [{"t": 7.0, "by": "ann", "text": "coach on holds"}]
        assert [f["state"] for f in c1["flags"]] == ["acked"]
        assert [c["call"] for c in await store.history(250.0, None, None, [])] == ["c3", "c2"]
        assert [c["call"] for c in await store.history(None, ["red"], 1, [])] == ["c2"]
        live = await store.history(None, ["blue"], None, [_summary("c9", "blue", 500.0)])
        assert [(c["call"], c.get("live")) for c in live] == [("c3", None), ("c9", True)]
        assert (await store.ended_call("c2"))["team"] == "red"
        assert await store.ended_call("nope") is None
    finally:
        store.close()
