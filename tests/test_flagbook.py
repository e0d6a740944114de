"""A flag's life at the hub (feeds.hub.flagbook), without a network: every transition,
what it broadcasts and what the store keeps."""

from __future__ import annotations

import sqlite3

from feeds.core.flags import Flag
from feeds.hub.flagbook import FlagBook
from feeds.hub.store import Store


def _flag(state: str, t: float = 100.0, n: int = 1) -> Flag:
    return Flag(f"c1:hold_long:{n}", "c1", t, "intervene", "hold_long", 3, state, "held")


async def test_ack_survives_the_engine_raising_again_and_clear_leaves_the_book():
    book = FlagBook()
    raised = book.transition(_flag("raised"), "red", "a1", wall=1000.0, started=0.0)
    assert (raised["state"], raised["team"], raised["agent"]) == ("raised", "red", "a1")
    assert [f["id"] for f in book] == ["c1:hold_long:1"]
    acked = await book.ack(book.get("c1:hold_long:1"), "ann", "on it", t=130.0, wall=1001.0)
    assert acked is not None
    assert {k: acked[k] for k in ("state", "by", "note", "t", "at")} == {
        "state": "acked", "by": "ann", "note": "on it", "t": 130.0, "at": 1001.0}
    again = book.transition(_flag("raised", 140.0), "red", "a1", wall=1002.0, started=0.0)
    assert (again["state"], again["by"], again["note"]) == ("acked", "ann", "on it")
    cleared = book.transition(_flag("cleared", 150.0), "red", "a1", wall=1003.0, started=0.0)
    assert cleared["state"] == "cleared" and "by" not in cleared  # nobody cleared it
    assert book.get("c1:hold_long:1") is None and len(book) == 0


async def test_snooze_expires_back_to_raised_and_an_expired_snooze_is_not_restored():
    book = FlagBook()
    book.transition(_flag("raised"), "red", "a1", wall=1000.0, started=0.0)
    snoozed = await book.snooze(book.get("c1:hold_long:1"), "ann", 60.0, t=120.0, wall=1000.0)
    assert snoozed is not None and (snoozed["state"], snoozed["until"]) == ("snoozed", 1060.0)
    assert book.expire_snoozes(1059.0) == []
    [woken] = book.expire_snoozes(1060.0)
    assert woken["state"] == "raised" and "until" not in woken
    await book.snooze(book.get("c1:hold_long:1"), "ann", 10.0, t=120.0, wall=2000.0)
    late = book.transition(_flag("raised", 130.0), "red", "a1", wall=2011.0, started=0.0)
    assert late["state"] == "raised"  # the snooze ran out before the engine spoke again


async def test_an_ack_on_a_flag_that_cleared_meanwhile_is_not_broadcast():
    book = FlagBook()
    book.transition(_flag("raised"), "red", "a1", wall=1000.0, started=0.0)
    flag = book.get("c1:hold_long:1")
    book.transition(_flag("cleared", 110.0), "red", "a1", wall=1000.5, started=0.0)
    assert await book.ack(flag, "ann", None, t=110.0, wall=1001.0) is None


async def test_the_store_keeps_every_transition_and_a_restart_keeps_the_ack(tmp_path):
    store = Store(tmp_path / "hub.db")
    book = FlagBook(store)
    book.transition(_flag("raised"), "red", "a1", wall=1000.0, started=0.0)
    await book.ack(book.get("c1:hold_long:1"), "ann", "mine", t=120.0, wall=1001.0)
    store.close()
    with sqlite3.connect(tmp_path / "hub.db") as raw:
        assert raw.execute("SELECT state FROM flags").fetchall() == [("acked",)]
        assert raw.execute("SELECT flag, state, by, note FROM flag_actions").fetchall() == [
            ("c1:hold_long:1", "acked", "ann", "mine")]
    store = Store(tmp_path / "hub.db")
    try:
        restarted = FlagBook(store)
        assert len(restarted) == 0  # open again only when the engine raises it again
        again = restarted.transition(_flag("raised", 200.0), "red", "a1", wall=1100.0, started=0.0)
        assert (again["state"], again["by"], again["note"]) == ("acked", "ann", "mine")
    finally:
        store.close()
