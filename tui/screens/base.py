"""What every floor screen shares: counts on top, the feed's status at the bottom."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable

from feeds.floor.view import Frame
from tui.widgets import CountsBar, StatusLine

if TYPE_CHECKING:
    from tui.app import FloorwatchApp


def clock_text(t: float) -> str:
    """Event time as UTC wall-clock time, the way the hub and the store write it."""
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")


class FloorScreen(Screen):
    """A screen that shows part of the floor; the app hands it every frame while it is on top."""

    @property
    def floor_app(self) -> FloorwatchApp:
        return self.app  # type: ignore[return-value]

    def show_frame(self, frame: Frame, wall: float, full: bool) -> None:
        """Apply one frame; `full` means the screen missed frames and must redraw from scratch."""
        for bar in self.query(CountsBar):
            bar.counts = frame.counts
        for line in self.query(StatusLine):
            line.show(frame.status, wall, expecting=frame.counts.live > 0)


class HistoryScreen(FloorScreen):
    """A table over the hub's history of ended calls: asked for again whenever it is shown."""

    BINDINGS: ClassVar = [Binding("r", "reload", "Reload")]

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.floor_app.request_history()
