"""Alerts: every flag transition as it happens, newest first, acted on from the keyboard."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer

from feeds.floor.reader import FloorReader
from feeds.floor.view import FlagView, Frame
from tui.screens.base import FloorScreen, clock_text
from tui.widgets import AlertLine, CountsBar, StatusLine


class AlertsScreen(FloorScreen):
    """Flag transitions, newest first."""

    BINDINGS: ClassVar = [
        Binding("a", "ack", "Ack"),
        Binding("s", "snooze", "Snooze"),
        Binding("enter", "open", "Detail", show=False),
    ]

    def __init__(self, floor: FloorReader) -> None:
        super().__init__(floor)
        self._shown: tuple[FlagView, ...] = ()

    def compose(self) -> ComposeResult:
        yield CountsBar()
        table: DataTable = DataTable(id="alerts", cursor_type="row", zebra_stripes=True)
        table.add_columns("time", "flag", "state", "rule", "agent", "evidence")
        yield table
        yield AlertLine()
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()

    def show_frame(self, frame: Frame, wall: float, full: bool) -> None:
        super().show_frame(frame, wall, full)
        self.query_one(CountsBar).view = "alerts, newest first"
        alerts = self.floor.alerts
        if alerts == self._shown:
            return
        table = self.query_one(DataTable)
        keep = table.cursor_row
        self._shown = alerts
        table.clear()
        name = self.floor.agent_name
        for i, flag in enumerate(alerts):
            style = f"bold {'reverse' if flag.state == 'raised' else ''}".strip()
            badge = Text(flag.badge, style=style if flag.kind == "intervene" else "bold")
            who = f" by {flag.by}" if flag.by else ""
            table.add_row(clock_text(flag.t), badge, flag.state + who, flag.rule,
                          name(flag.call), flag.evidence, key=str(i))
        if alerts:
            table.move_cursor(row=min(keep, len(alerts) - 1))

    def _selected(self) -> FlagView | None:
        table = self.query_one(DataTable)
        if not self._shown or table.cursor_row >= len(self._shown):
            return None
        return self._shown[table.cursor_row]

    def action_ack(self) -> None:
        flag = self._selected()
        if flag is not None:
            self.post_message(self.AckFlags((flag,)))

    def action_snooze(self) -> None:
        flag = self._selected()
        if flag is not None:
            self.post_message(self.SnoozeFlags((flag,)))

    def action_open(self) -> None:
        flag = self._selected()
        if flag is not None:
            self.post_message(self.OpenCall(flag.call))

    def on_data_table_row_selected(self) -> None:
        self.action_open()
