"""Alerts: every flag transition as it happens, newest first, acted on from the keyboard."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from feeds.floor.reader import FloorReader
from feeds.floor.view import FlagView, Frame
from tui.format import as_text, clock_text, cut
from tui.screens.base import FloorScreen
from tui.widgets import AlertLine, CountsBar, StatusLine

#: Widths from which the table has room for the rule's name (the badge names it too).
WIDE = 120


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
        self._widths: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        yield CountsBar()
        table: DataTable = DataTable(id="alerts", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="alert-evidence")
        yield AlertLine()
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()

    def on_resize(self) -> None:
        self._layout()
        self.post_message(self.Redraw())

    def _layout(self) -> None:
        """Columns sized to the width: the evidence gets what the others leave, and the
        highlighted alert's evidence is shown whole under the table."""
        width = self.size.width or 80
        table = self.query_one(DataTable)
        table.clear(columns=True)
        fixed = [("time", 8), ("flag", 4), ("state", 16), ("agent", 16)]
        if width >= WIDE:
            fixed.insert(3, ("rule", 18))
        self._widths = dict(fixed)
        for label, w in fixed:
            table.add_column(label, width=w, key=label)
        rest = width - sum(w + 2 for _, w in fixed) - 3  # cell padding, scrollbar
        self._widths["evidence"] = max(10, rest)
        table.add_column("evidence", width=self._widths["evidence"], key="evidence")
        self._shown = ()

    def show_frame(self, frame: Frame, wall: float, full: bool) -> None:
        super().show_frame(frame, wall, full)
        self.query_one(CountsBar).view = "alerts, newest first"
        alerts = self.floor.alerts
        if alerts == self._shown:
            return
        if not self._widths:  # a frame before the first resize
            self._layout()
        table = self.query_one(DataTable)
        keep = table.cursor_row
        self._shown = alerts
        table.clear()
        w = self._widths
        for i, flag in enumerate(alerts):
            style = f"bold {'reverse' if flag.state == 'raised' else ''}".strip()
            badge = Text(flag.badge, style=style if flag.kind == "intervene" else "bold")
            who = f" by {flag.by}" if flag.by else ""
            cells = [clock_text(flag.t), badge, cut(flag.state + who, w["state"])]
            if "rule" in w:
                cells.append(cut(flag.rule, w["rule"]))
            cells += [cut(flag.who, w["agent"]), cut(flag.evidence, w["evidence"])]
            table.add_row(*map(as_text, cells), key=str(i))
        if alerts:
            table.move_cursor(row=min(keep, len(alerts) - 1))
        self._show_evidence()

    @on(DataTable.RowHighlighted, "#alerts")
    def _show_evidence(self) -> None:
        flag = self._selected()
        box = self.query_one("#alert-evidence", Static)
        if flag is None:
            box.update("")
            return
        box.update(Text.assemble((f"{flag.badge} {flag.rule}", "bold"),
                                 f" · {flag.who} · {flag.evidence}"))

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
