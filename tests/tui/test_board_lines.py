"""What the board writes to its terminal: only what changed, and sparklines in steps.

Over SSH every cell written is on the team lead's link (docs/performance.md), so the
board refreshes only the part of a line that its new drawing changes, and a sparkline
moves SPARK_STEP cells at once."""

from __future__ import annotations

import itertools

from textual.app import App, ComposeResult
from textual.geometry import Region

from feeds.floor.model import Floor
from tests.hubkit import T0
from tests.test_floor import _update
from tui.board import SPARK_STEP, Board, layout, shown_trend, thumb


class RecordingBoard(Board):
    """The real board; remembers the regions it asks Textual to repaint."""

    def __init__(self) -> None:
        super().__init__(id="board")
        self.asked: list[Region] = []

    def refresh(self, *regions, **kwargs):
        self.asked.extend(regions)
        return super().refresh(*regions, **kwargs)


class BoardApp(App):
    def compose(self) -> ComposeResult:
        yield RecordingBoard()


def _floor() -> Floor:
    floor = Floor()
    for i, agent in enumerate(("ann", "bob", "cid")):
        floor.apply({"type": "call_start", "call": f"c{i}", "t": T0, "agent": agent,
                     "team": "red"}, 0.0)
    floor.apply({"type": "event", "call": "c1", "t": T0 + 5, "event": "hold_start"}, 0.0)
    floor.take(0.0)
    return floor


async def test_a_running_hold_rewrites_its_clocks_not_the_line():
    floor = _floor()
    app = BoardApp()
    async with app.run_test(size=(160, 10)) as pilot:
        board = app.query_one(RecordingBoard)
        frame = floor.take(0.0)
        board.show(frame.rows, floor.order(), "none", frame.changed, frozenset({"red"}))
        await pilot.pause()
        board.asked.clear()
        floor.apply({"type": "sample", "call": "c1", "t": T0 + 65, "dt": 0.25}, 0.0)
        frame = floor.take(0.0)
        board.show(frame.rows, None, "none", frame.changed)
        await pilot.pause()
        line = 1 + floor.order().index("c1")
        columns = layout(160, 3)
        x = {}
        left = 0
        for col in columns:
            x[col.key] = (left, left + col.width + 1)
            left += col.width + 1
        # the call's age (CALL) went to 1m, its hold to 1:00: from CALL to ΣHOLD, no more
        assert board.asked == [Region(x["time"][0], line, x["hold"][1] - x["time"][0], 1)]
        assert "ON HOLD 1:00" in board.render_line(line).text


def test_a_sparkline_moves_a_step_at_a_time():
    """Forty seconds of levels, then one more each second: what the sparkline shows
    changes once in SPARK_STEP seconds, and then by SPARK_STEP seconds at once."""
    floor = Floor()
    floor.apply({"type": "call_start", "call": "c1", "t": T0, "agent": "ann",
                 "team": "red"}, 0.0)
    shown = []
    for second in range(1, 80):
        floor.apply(_update(T0 + second + 0.5, T0 + second, cust_db=-40.0 + second), 0.0)
        shown.append(shown_trend(floor.take(0.0).rows["c1"], "cust_db"))
    steps = [i for i in range(45, len(shown)) if shown[i] != shown[i - 1]]
    assert len(steps) >= 3
    assert all(b - a == SPARK_STEP for a, b in itertools.pairwise(steps))
    assert shown[steps[0]][-1] == shown[steps[0] - 1][-1] + SPARK_STEP


def test_the_scrollbar_thumb_spans_the_rows_in_view():
    assert thumb(20, 24, 0) == range(0)  # everything fits: no thumb
    assert thumb(231, 24, 0) == range(0, 2)  # 23 rows of 230 in view: a tenth
    assert thumb(231, 24, 207) == range(21, 23)  # scrolled to the end: at the bottom
    assert thumb(231, 24, 400) == range(21, 23)  # past it (the rounded height): still
    middle = thumb(231, 24, 103)
    assert 9 <= middle.start <= 11 and len(middle) == 2


async def test_a_cursor_step_repaints_two_lines_and_a_scroll_the_board():
    floor = Floor()
    for i in range(30):
        floor.apply({"type": "call_start", "call": f"c{i:02d}", "t": T0 + i,
                     "agent": f"a{i:02d}", "team": "red"}, 0.0)
    async with BoardApp().run_test(size=(80, 12)) as pilot:
        board = pilot.app.query_one(RecordingBoard)
        frame = floor.take(0.0)
        board.show(frame.rows, floor.order(), "none", frame.changed, frozenset({"red"}))
        await pilot.pause()
        board.asked.clear()
        board.action_cursor(1)
        assert board.asked == [Region(0, 1, 80, 1), Region(0, 2, 80, 1)]
        await pilot.pause()
        assert board.painted_moves == board.moves
        board.action_jump(-1)  # to the last call: the board scrolls, all of it repaints
        await pilot.pause()
        assert int(board.scroll_offset.y) > 0
        last = board.render_line(board.size.height - 1)
        assert "a29" in last.text
        bar = list(last)[-1]  # the last cell is the scrollbar's: on the thumb at the end
        assert bar.style == board._bars[True].style
