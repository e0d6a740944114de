"""Small widgets every screen shares: the counts bar and the feed status line."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from feeds.floor import STALE_AFTER, Counts, FeedStatus


class CountsBar(Static):
    """Calls live, on hold and open flags by kind, plus what the view is showing."""

    counts: reactive[Counts] = reactive(Counts, layout=False)
    view: reactive[str] = reactive("")

    def render(self) -> Text:
        c = self.counts
        text = Text()
        text.append(" floorwatch ", style="bold reverse")
        text.append(f" {c.live} live  {c.on_hold} on hold  ")
        text.append(f"!I {c.flags.get('intervene', 0)}", style="bold")
        text.append(f"  ?C {c.flags.get('coach', 0)}  +K {c.flags.get('kudos', 0)}")
        if self.view:
            text.append(f"  │ {self.view}", style="italic")
        return text


class StatusLine(Static):
    """The truth about the feed: connected, reconnecting (attempt n) or stale, and where."""

    status: reactive[FeedStatus] = reactive(FeedStatus, layout=False)
    wall: reactive[float] = reactive(0.0, layout=False)
    note: reactive[str] = reactive("")

    def watch_status(self, status: FeedStatus) -> None:
        self.set_class(not status.live(self.wall), "-down")

    def watch_wall(self, wall: float) -> None:
        self.set_class(not self.status.live(wall), "-down")

    def render(self) -> Text:
        s = self.status
        stale = s.stale_for(self.wall)
        if s.state == "connected" and stale >= STALE_AFTER:
            head = f"◑ stale for {stale:.0f} s"
        elif s.state == "connected":
            head = "● connected"
        elif s.state == "reconnecting":
            head = f"○ reconnecting (attempt {s.attempt})"
        else:
            head = f"○ {s.state}"
        text = Text(f" {head}  {s.url}")
        detail = self.note or (s.detail if s.state != "connected" else "")
        if detail:
            text.append(f"  │ {detail}", style="italic")
        return text
