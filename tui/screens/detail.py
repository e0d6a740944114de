"""Call detail: why a call is flagged, in numbers, and what the supervisor can do."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from feeds.floor.reader import FloorReader
from feeds.floor.view import CallDetail, CallRow, FlagView, Frame
from tui.format import clock_text, duration, flag_line
from tui.plot import LevelPlot
from tui.screens.base import FloorScreen
from tui.widgets import AlertLine, CountsBar, StatusLine

#: From this many columns the timeline gets a full-height column beside the plots.
WIDE = 120


class DetailScreen(FloorScreen):
    """One call: live level plots, flags with evidence, timeline, actions."""

    BINDINGS: ClassVar = [
        Binding("escape", "back", "Back"),
        Binding("a", "ack", "Ack"),
        Binding("s", "snooze", "Snooze"),
        Binding("n", "note", "Note"),
        Binding("l", "control('listen')", "Listen"),
        Binding("w", "control('whisper')", "Whisper"),
        Binding("b", "control('barge')", "Barge"),
        # the app's "1-4 Screens" does not fit beside these at 80 columns; Esc is back
        Binding("1", "app.mode('board')", "Board", show=False),
    ]

    def __init__(self, floor: FloorReader, call: str) -> None:
        super().__init__(floor)
        self.call = call
        self.detail: CallDetail | None = None
        self._flags: tuple[FlagView, ...] = ()
        self._flags_second = -1  # the call's whole second the list's ages were drawn at
        self._timeline_len = -1

    def compose(self) -> ComposeResult:
        yield CountsBar()
        yield Static("", id="call-title")
        # Plots take the height; the flags list is as tall as its flags. From WIDE columns
        # on the timeline is a full-height column on the right, below that a strip.
        with Horizontal(id="body"):
            with Vertical(id="main"):
                with Grid(id="plots"):
                    yield LevelPlot("Customer loudness", "Cust dBFS", "cust_db",
                                    "cust_spike", -50, -5, "dBFS", id="cust_db")
                    yield LevelPlot("Agent loudness", "Agent dBFS", "agent_db",
                                    "agent_spike", -50, -5, "dBFS", id="agent_db")
                    yield LevelPlot("Customer pitch", "Cust Hz", "cust_pitch",
                                    "cust_spike", 60, 400, "Hz", id="cust_pitch")
                    yield LevelPlot("Agent pitch", "Agent Hz", "agent_pitch",
                                    "agent_spike", 60, 400, "Hz", id="agent_pitch")
                yield OptionList(id="flags")
            with VerticalScroll(id="timeline-box"):
                yield Static("", id="timeline")
        yield AlertLine()
        yield StatusLine()
        # The palette hint gives way to the actions at 80 columns (Ctrl+P still works).
        yield Footer(compact=True, show_command_palette=False)

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width >= WIDE, "-wide")

    def on_mount(self) -> None:
        self.query_one("#flags", OptionList).focus()
        self.post_message(self.Redraw())  # show the call now, not at the next tick

    def show_frame(self, frame: Frame, wall: float, full: bool) -> None:
        super().show_frame(frame, wall, full)
        detail = self.floor.detail(self.call)
        if detail is None:
            return
        self.detail = detail
        row = detail.row
        state = "ENDED" if detail.ended else "NO FEED" if row.no_feed else (
            f"ON HOLD {duration(row.hold_time())}" if row.on_hold else "talking")
        title = Text()
        title.append(f" {row.name}", style="bold")
        title.append(f" ({row.agent}) · team {row.team} · queue {row.queue or '—'} · "
                     f"call {row.call}\n")
        title.append(f" {state} · call time {duration(row.call_time())} · "
                     f"hold Σ {duration(row.hold_sum())} · transfers {row.transfers} · "
                     f"talk-overs {row.talk_overs}")
        self.query_one("#call-title", Static).update(title)
        for plot in self.query(LevelPlot):
            plot.points = detail.points
            plot.baseline = row.baseline(plot.metric)
            plot.spiking = bool(getattr(row, plot.spike))
        if detail.flags != self._flags or int(row.t) != self._flags_second:
            self._show_flags(detail.flags, row, wall)
        if len(detail.timeline) != self._timeline_len:
            self._timeline_len = len(detail.timeline)
            text = Text()
            for entry in reversed(detail.timeline):
                text.append(f"{clock_text(entry.t)} ", style="italic")
                text.append(f"{entry.text}\n")
            self.query_one("#timeline", Static).update(text)

    def _show_flags(self, flags: tuple[FlagView, ...], row: CallRow, wall: float) -> None:
        """Open flags first, most urgent first; the highlight stays on the same flag (by
        id) as the list changes, and starts on the most urgent raised one."""
        options = self.query_one("#flags", OptionList)
        keep = self._highlighted_id()
        self._flags = flags
        self._flags_second = int(row.t)
        options.clear_options()
        if not flags:
            options.add_option(Option("no flags on this call", disabled=True))
            return
        ordered = sorted(flags, key=lambda f: (
            not f.is_open, f.state != "raised", f.kind != "intervene", -f.severity, -f.t))
        for flag in ordered:
            options.add_option(Option(flag_line(flag, row.flag_age(flag), wall), id=flag.id))
        ids = [flag.id for flag in ordered]
        options.highlighted = ids.index(keep) if keep in ids else 0

    def _highlighted_id(self) -> str | None:
        options = self.query_one("#flags", OptionList)
        index = options.highlighted
        if index is None or not self._flags or index >= options.option_count:
            return None
        return options.get_option_at_index(index).id

    def _chosen(self) -> tuple[FlagView, ...]:
        """The highlighted flag, or every open one when none is highlighted."""
        chosen = self._highlighted_id()
        for flag in self._flags:
            if flag.id == chosen:
                return (flag,)
        return tuple(f for f in self._flags if f.is_open)

    def action_ack(self) -> None:
        self.post_message(self.AckFlags(self._chosen()))

    def action_snooze(self) -> None:
        self.post_message(self.SnoozeFlags(self._chosen()))

    def action_note(self) -> None:
        self.post_message(self.WriteNote(self.call))

    def action_control(self, action: str) -> None:
        self.post_message(self.RequestAction(self.call, action))

    def action_back(self) -> None:
        self.post_message(self.CloseCall())
