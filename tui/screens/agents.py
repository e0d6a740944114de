"""Agent summary: this shift per agent, to spot patterns (alphabetical, never a ranking)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import DataTable, Footer

from feeds.floor.reader import FloorReader
from feeds.floor.view import Frame
from tui.format import as_text, duration
from tui.screens.base import HistoryScreen
from tui.widgets import AlertLine, CountsBar, StatusLine

#: Frames between refreshes of the table while it is on screen (live calls move it).
REFRESH_EVERY = 20


class AgentsScreen(HistoryScreen):
    """Calls, average hold, transfers, talk-over rate and flags by kind, per agent."""

    def __init__(self, floor: FloorReader) -> None:
        super().__init__(floor)
        self._frames = 0

    def compose(self) -> ComposeResult:
        yield CountsBar()
        table: DataTable = DataTable(id="agents", cursor_type="row", zebra_stripes=True)
        table.add_columns("agent", "team", "calls", "live", "avg hold", "transfers",
                          "talk-overs/call", "!I", "?C", "+K")
        yield table
        yield AlertLine()
        yield StatusLine()
        yield Footer(compact=True)

    def show_frame(self, frame: Frame, wall: float, full: bool) -> None:
        super().show_frame(frame, wall, full)
        self.query_one(CountsBar).view = "agents this shift (A–Z, not a ranking)"
        self._frames += 1
        if not (full or frame.history_changed or self._frames % REFRESH_EVERY == 0):
            return
        stats = self.floor.agent_stats()
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for s in stats:
            table.add_row(as_text(s.name), as_text(s.team), s.calls, s.live,
                          duration(s.avg_hold), s.transfers,
                          f"{s.talk_over_rate:.2f}", s.flags["intervene"], s.flags["coach"],
                          s.flags["kudos"], key=s.agent)
        if stats:
            table.move_cursor(row=min(keep, len(stats) - 1))
