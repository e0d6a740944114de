"""What every floor screen shares: counts on top, the feed's status at the bottom, the
floor to read, and the requests a screen sends up to the app.

Messages up, attributes down: the app hands each screen a read-only view of the floor
(`FloorReader`) when it makes it and a `Frame` at every tick (`show_frame`); a screen
never changes the floor or calls the app, it posts one of the Messages below, which
the app handles (tui/app.py) by talking to the hub or switching screens.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable

from feeds.floor.reader import FloorReader
from feeds.floor.view import FeedStatus, FlagView, Frame
from tui.widgets import AlertLine, CountsBar, StatusLine

#: The counts bar changes with every flag on a busy floor: it is redrawn once a second.
COUNTS_EVERY_S = 1.0
#: The hub request each screen action sends: offered only to a role that may send it.
ACTION_REQUESTS = {"ack": "ack", "snooze": "snooze", "note": "note", "control": "action"}


class FloorScreen(Screen):
    """A screen that shows part of the floor; the app hands it every frame while it is on top."""

    class AckFlags(Message):
        """Acknowledge these flags ("I am on it"); none: there was no open flag to ack."""

        def __init__(self, flags: tuple[FlagView, ...]) -> None:
            super().__init__()
            self.flags = flags

    class SnoozeFlags(Message):
        """Hide these flags for a while."""

        def __init__(self, flags: tuple[FlagView, ...]) -> None:
            super().__init__()
            self.flags = flags

    class WriteNote(Message):
        """Ask the supervisor for a coaching note on this call, and save it."""

        def __init__(self, call: str) -> None:
            super().__init__()
            self.call = call

    class RequestAction(Message):
        """Ask the telephony side to listen, whisper or barge on this call."""

        def __init__(self, call: str, action: str) -> None:
            super().__init__()
            self.call = call
            self.action = action

    class OpenCall(Message):
        """Show this call in detail."""

        def __init__(self, call: str) -> None:
            super().__init__()
            self.call = call

    class CloseCall(Message):
        """Leave the call's detail for the screen below it."""

    class LoadHistory(Message):
        """Ask the hub for this shift's ended calls (coaching queue, agent summary)."""

    class Redraw(Message):
        """What this screen shows changed (a filter, the sort): redraw it from the floor."""

    def __init__(self, floor: FloorReader) -> None:
        super().__init__()
        self.floor = floor
        self.status = FeedStatus()
        self._counted_at = float("-inf")  # wall time the counts bar was last updated

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A read-only role is offered nothing it may not do: the keys are off and gone
        from the footer (the hub would refuse the request anyway)."""
        request = ACTION_REQUESTS.get(action)
        return request is None or self.status.may(request)

    def show_frame(self, frame: Frame, wall: float, full: bool) -> None:
        """Apply one frame; `full` means the screen missed frames and must redraw from scratch."""
        changed = (frame.status.user, frame.status.role) != (self.status.user, self.status.role)
        self.status = frame.status
        if changed:
            self.refresh_bindings()  # the hub said who this is: offer what they may do
        if changed or full:
            for bar in self.query(CountsBar):
                bar.who = frame.status
        if full or wall - self._counted_at >= COUNTS_EVERY_S:
            self._counted_at = wall
            for bar in self.query(CountsBar):
                bar.counts = frame.counts
        for line in self.query(StatusLine):
            line.show(frame.status, wall, expecting=frame.counts.live > 0,
                      live_teams=frame.teams)

    def show_alert(self, text: str | None) -> None:
        """The app's alert line for new intervene flags (None: nothing new to say)."""
        for line in self.query(AlertLine):
            line.show(text)


class HistoryScreen(FloorScreen):
    """A table over the hub's history of ended calls: asked for again whenever it is shown."""

    BINDINGS: ClassVar = [Binding("r", "reload", "Reload")]

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.post_message(self.LoadHistory())
