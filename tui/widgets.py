"""Small widgets every screen shares: the counts bar, the alert line and the status line.

Each is one line whose text changes often; each repaints only itself (a reactive with
no layout), since a `Static.update` reflows the whole screen and so rewrites every line
of the terminal: over SSH, that was most of the board's bandwidth."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from feeds.floor.view import STALE_AFTER, Counts, FeedStatus


class CountsBar(Static):
    """Calls live, on hold and open flags by kind, plus what the view is showing."""

    counts: reactive[Counts] = reactive(Counts, layout=False)
    view: reactive[str] = reactive("")
    #: Whose board this is (the user the hub admitted), and whether it is read-only.
    who: reactive[FeedStatus] = reactive(FeedStatus, layout=False)

    def render(self) -> Text:
        c = self.counts
        text = Text()
        text.append(" floorwatch ", style="bold reverse")
        if self.who.who:  # first, so it is never cut: a shared screen says whose it is
            mode = " · read-only" if self.who.read_only else ""
            text.append(f" {self.who.user} · {self.who.role}{mode} ", style="reverse")
        text.append(f" {c.live} live  {c.on_hold} on hold  ")
        text.append(f"!I {c.flags.get('intervene', 0)}", style="bold")
        text.append(f"  ?C {c.flags.get('coach', 0)}  +K {c.flags.get('kudos', 0)}")
        if c.no_feed:
            text.append(f"  {c.no_feed} no feed", style="bold reverse")
        if self.view:
            text.append(f"  │ {self.view}", style="italic")
        return text


class Line(Widget):
    """One line of text, cut with an ellipsis where it does not fit."""

    text: reactive[str] = reactive("", layout=False)

    def render(self) -> Text:
        return Text(self.text, no_wrap=True, overflow="ellipsis")


class AlertLine(Line):
    """One line above the status line for new intervene flags: who, team, rule, numbers,
    and how many more came with it. It never covers the board; Alerts (2) has them all."""

    def show(self, text: str | None) -> None:
        self.display = text is not None  # a reflow only when it comes or goes
        self.text = text or ""


class StatusLine(Line):
    """The truth about the feed: connected, reconnecting (attempt n) or stale, and where."""

    def show(self, status: FeedStatus, wall: float, expecting: bool,
             live_teams: frozenset[str] = frozenset()) -> None:
        self.text = self.describe(status, wall, expecting, live_teams)
        self.set_class(not status.live(wall, expecting) or (
            expecting and status.producers == 0), "-down")

    @staticmethod
    def describe(status: FeedStatus, wall: float, expecting: bool,
                 live_teams: frozenset[str] = frozenset()) -> str:
        """One line: the feed's state, the producers, the teams in view (and those with no
        calls, which may be misspelt), the hub's address, what went wrong."""
        stale = status.stale_for(wall)
        if status.state == "connected" and expecting and stale >= STALE_AFTER:
            head = f"◑ stale for {stale:.0f} s"
        elif status.state == "connected" and expecting and status.producers == 0:
            head = "● connected · NO PRODUCER: calls not live"
        elif status.state == "connected":
            head = "● connected"
            if status.producers is not None:
                head += f" · {status.producers} producer{'s' if status.producers != 1 else ''}"
        elif status.state == "reconnecting":
            head = f"○ reconnecting (attempt {status.attempt})"
        elif status.state == "refused":  # the reason first: it is the whole story
            return f" ○ REFUSED: {status.detail}"
        else:
            head = f"○ {status.state}"
        if status.teams is None:
            head += " · all teams"
        else:
            head += f" · teams {', '.join(status.teams)}"
            quiet = [t for t in status.teams if t not in live_teams]
            if quiet and status.state == "connected":
                head += f" (no calls on {', '.join(quiet)})"
        text = f" {head}  {status.url}"
        detail = status.detail if status.state != "connected" else ""
        return f"{text}  │ {detail}" if detail else text
