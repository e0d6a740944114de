"""The board's layout: flagged calls first in need order, calm calls keep their lines."""

from __future__ import annotations

import random

from feeds.floor.model import Floor
from feeds.floor.needindex import keep_places
from feeds.floor.view import CALM, need_key
from tests.test_floor import T0, connected, flag, start


def test_a_call_that_ends_leaves_its_line_to_the_last_calm_call():
    before = ["f1", "c1", "c2", "c3", "c4"]
    ranked = ["f1", "c1", "c3", "c4"]  # c2 ended
    assert keep_places(before, ranked, 1) == ["f1", "c1", "c4", "c3"]


def test_a_call_that_is_flagged_swaps_with_the_first_calm_line():
    before = ["f1", "c1", "c2", "c3", "c4"]
    ranked = ["c3", "f1", "c1", "c2", "c4"]  # c3 now needs the supervisor most
    assert keep_places(before, ranked, 2) == ["c3", "f1", "c2", "c1", "c4"]


def test_new_calls_take_free_lines_from_the_top_in_need_order():
    before = ["c1", "c2", "c3"]
    ranked = ["c1", "c3", "n1", "n2"]  # c2 ended, n1 and n2 began
    assert keep_places(before, ranked, 0) == ["c1", "n1", "c3", "n2"]


def test_with_nothing_before_it_is_the_need_order():
    ranked = ["f1", "c1", "c2"]
    assert keep_places([], ranked, 1) == ranked


def test_on_a_changing_floor_flagged_calls_lead_and_calm_calls_stay_put():
    """Random calls come, go, are flagged and cleared. After every step the board holds
    every live call once; the flagged ones first, in need order; and a calm call that was
    on screen and is still calm keeps its line unless that line is now a flagged call's
    or past the end of the board."""
    rng = random.Random(7)
    floor = Floor()
    connected(floor)
    live: dict[str, float] = {}
    board: list[str] = []
    for step in range(400):
        roll = rng.random()
        if roll < 0.2 or not live:
            call = f"c{step}"
            live[call] = T0 + step
            floor.apply(start(call, f"a{step}", t=live[call]), 0.0)
        elif roll < 0.35:
            call = rng.choice(sorted(live))
            del live[call]
            floor.apply({"type": "call_end", "call": call, "t": T0 + 1000}, 0.0)
        else:
            call = rng.choice(sorted(live))
            state = rng.choice(["raised", "acked", "cleared", "cleared"])
            floor.apply(flag(call, "hold_long", "intervene", state), 0.0)
        keys = {c: need_key([f for f in floor.detail(c).flags if f.is_open], live[c], c)
                for c in live}
        flagged = sorted((c for c in live if keys[c][0] < CALM), key=keys.__getitem__)
        new = floor.order(keep=board)
        assert sorted(new) == sorted(live)
        assert new[:len(flagged)] == flagged
        for line, call in enumerate(board):
            if call in live and keys[call][0] == CALM and len(flagged) <= line < len(new):
                assert new[line] == call
        board = new
