"""The floor board (home screen): who needs me now."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Input, Static

from feeds.core.flags import KINDS
from feeds.floor.reader import FloorReader
from feeds.floor.view import CallRow, FlagView, Frame
from tui.board import Board
from tui.format import clock_text
from tui.screens.base import FloorScreen
from tui.widgets import AlertLine, CountsBar, StatusLine

#: Seconds a change that may move rows waits for the next sort, unless it is an ack or a
#: snooze: the board reorders at most this often otherwise.
RESORT_S = 5.0


class BoardScreen(FloorScreen):
    """Live calls sorted by need; filters by team, flag kind and text."""

    BINDINGS: ClassVar = [
        Binding("enter", "open", "Detail", show=False),
        Binding("a", "ack", "Ack"),
        Binding("s", "snooze", "Snooze"),
        Binding("slash", "filter_text", "Filter"),
        Binding("f", "cycle_kind", "Kind"),
        Binding("t", "cycle_team", "Team", show=False),
        Binding("o", "toggle_sort", "Sort", show=False),
        Binding("escape", "clear_filters", "Clear filters", show=False),
    ]

    def __init__(self, floor: FloorReader) -> None:
        super().__init__(floor)
        self.by_agent = False
        self.kind: str | None = None
        self.team: str | None = None
        self.text = ""
        self.teams: list[str] = []  # teams on the floor, for the team filter
        self.order: list[str] = []
        self._resort_due = False  # calls changed in ways that may move them
        self._sorted_at = float("-inf")  # wall time of the last sort

    def compose(self) -> ComposeResult:
        yield CountsBar()
        yield Static("", id="down")
        yield Board(id="board")
        yield Input(placeholder="filter: agent, name, team, queue or call id", id="filter")
        yield AlertLine()
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(Board).focus()

    @property
    def board(self) -> Board:
        return self.query_one(Board)

    # --- frames ------------------------------------------------------------

    def show_frame(self, frame: Frame, wall: float, full: bool) -> None:
        super().show_frame(frame, wall, full)
        order = None
        # Sort only when the order can have changed: flags, agent, team or queue of some
        # call changed, or calls came or went (level updates never move a row). A call
        # that ends leaves at once, an ack or a snooze moves its row at once, anything
        # else at most every RESORT_S (a new intervene flag is on the alert line at once).
        # Calm calls keep their lines (`keep_places`): rows that move rewrite their lines,
        # which over SSH is the board's bandwidth.
        self._resort_due |= bool(frame.reranked or frame.removed)
        urgent = bool(frame.removed) or any(f.state in ("acked", "snoozed")
                                            for f in frame.alerts)
        if full or frame.resync:
            order = self.floor.order(self._team_set, self._kind_set, self.text,
                                     self.by_agent)
        elif self._resort_due and (urgent or wall - self._sorted_at >= RESORT_S):
            order = self.floor.order(self._team_set, self._kind_set, self.text,
                                     self.by_agent, keep=self.order)
        if order is not None:
            self.order = order
            self._resort_due, self._sorted_at = False, wall
        self.teams = sorted(frame.teams)
        live = frame.status.live(wall, expecting=frame.counts.live > 0)
        down = self.query_one("#down", Static)
        down.display = not live
        if not live:
            if frame.status.state == "connected":
                why = f"NO UPDATES for {frame.status.stale_for(wall):.0f} s"
            else:
                why = f"FEED DOWN ({frame.status.state})"
            down.update(Text(f" {why} — timers paused at {clock_text(frame.now)} UTC; "
                             "the board shows the last known state "))
        self.board.show(frame.rows, order, self._empty_text(frame, live), frame.changed,
                        frame.teams)
        self.query_one(CountsBar).view = self._view_text()

    @property
    def _team_set(self) -> frozenset[str]:
        return frozenset({self.team}) if self.team else frozenset()

    @property
    def _kind_set(self) -> frozenset[str]:
        return frozenset({self.kind}) if self.kind else frozenset()

    def _empty_text(self, frame: Frame, live: bool) -> str:
        if not live and not frame.rows:
            return f"no feed yet: {frame.status.state} {frame.status.url}"
        if frame.rows:
            return "no call matches the filters (Esc clears them)"
        return "no live calls"

    def _view_text(self) -> str:
        parts = ["by agent" if self.by_agent else "by need"]
        if self.team:
            parts.append(f"team {self.team}")
        if self.kind:
            parts.append(f"{self.kind} only")
        if self.text:
            parts.append(f"“{self.text}”")
        return " · ".join(parts)

    def _refilter(self) -> None:
        self.post_message(self.Redraw())

    # --- actions -----------------------------------------------------------

    def action_open(self) -> None:
        self.board.action_open()

    @on(Board.Opened)
    def _opened(self, event: Board.Opened) -> None:
        self.post_message(self.OpenCall(event.call))

    def _cursor_row(self) -> CallRow | None:
        call = self.board.cursor_call
        return None if call is None else self.board.rows.get(call)

    def _most_urgent(self) -> tuple[FlagView, ...] | None:
        """The highlighted call's most urgent raised flag (none if it has none); None
        when no call is highlighted."""
        row = self._cursor_row()
        if row is None:
            return None
        return tuple(f for f in row.flags if f.state == "raised")[:1]

    def action_ack(self) -> None:
        flags = self._most_urgent()
        if flags is not None:
            self.board.stay_put()
            self.post_message(self.AckFlags(flags))

    def action_snooze(self) -> None:
        flags = self._most_urgent()
        if flags is not None:
            self.board.stay_put()
            self.post_message(self.SnoozeFlags(flags))

    def action_filter_text(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.text = event.value
        self._refilter()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = bool(self.text)
        self.board.focus()

    def action_cycle_kind(self) -> None:
        kinds: list[str | None] = [None, *KINDS]
        self.kind = kinds[(kinds.index(self.kind) + 1) % len(kinds)]
        self._refilter()

    def set_kind(self, kind: str | None) -> None:
        self.kind = kind
        self._refilter()

    def action_cycle_team(self) -> None:
        teams: list[str | None] = [None, *self.teams]
        index = teams.index(self.team) if self.team in teams else 0
        self.team = teams[(index + 1) % len(teams)]
        self._refilter()

    def set_team(self, team: str | None) -> None:
        self.team = team
        self._refilter()

    def action_toggle_sort(self) -> None:
        self.by_agent = not self.by_agent
        self._refilter()

    def action_clear_filters(self) -> None:
        self.kind = self.team = None
        self.text = ""
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self.board.focus()
        self._refilter()
