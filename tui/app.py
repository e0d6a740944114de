"""The floorwatch supervisor app: a hub client that shows who needs a supervisor now.

A worker reads the feed and folds every message into `feeds.floor.model.Floor`;
a timer takes an immutable frame from it at a fixed rate and hands it, inside
one `batch_update`, to the screen on top. So a flood of messages costs one
repaint per tick, and a quiet feed costs almost nothing. Each screen reads the
floor through a `FloorReader` given when it is made, and asks for everything
else with a Message (`FloorScreen.AckFlags`, `.OpenCall`, ...) handled here: the
app sends the request to the hub and shows the result when the hub broadcasts
it back.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.filter import LineFilter
from textual.screen import Screen

from feeds.core.config import DEFAULT, Config
from feeds.core.paths import data_dir
from feeds.core.roles import needs
from feeds.floor.model import Floor
from feeds.floor.reader import FloorReader
from feeds.floor.view import FeedStatus, FlagView, Frame
from tui.feed import Feed
from tui.format import flag_numbers
from tui.legible import Legible
from tui.screens.agents import AgentsScreen
from tui.screens.alerts import AlertsScreen
from tui.screens.base import FloorScreen
from tui.screens.board import BoardScreen
from tui.screens.coaching import CoachingScreen
from tui.screens.detail import DetailScreen
from tui.screens.modals import ConfirmScreen, HelpScreen, NoteScreen

#: Repaints per second; the frame rate of the board whatever the message rate.
REFRESH_HZ = 4.0
#: Default snooze from the keyboard.
SNOOZE_SECONDS = 300.0
#: Messages folded in before the reader lets the UI run (about 1 ms of work). Every
#: step of a key press (app queue, screen, idle, update timer) waits one loop turn,
#: and each turn runs one slice while a burst is queued: 256 a slice (3.5 ms) put a
#: busy floor's key -> repaint p99 at 50-64 ms; 64 a slice brings it to 35 ms.
PUMP_SLICE = 64
#: Seconds the alert line keeps saying a new intervene flag was raised.
ALERT_SHOWN_S = 30.0
#: How far back "this shift" reaches for the coaching queue and agent summary.
SHIFT_SECONDS = 12 * 3600.0


class FloorwatchApp(App[None]):
    """Floor board, call detail, alerts, coaching queue and agent summary over one feed."""

    CSS_PATH = Path(__file__).parent / "styles" / "app.tcss"
    TITLE = "floorwatch"
    DEFAULT_MODE = "board"
    BINDINGS: ClassVar = [
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
        Binding("1", "mode('board')", "Screens", key_display="1-4"),  # 2-4: the legend
        Binding("2", "mode('alerts')", "Alerts", show=False),
        Binding("3", "mode('coaching')", "Coaching", show=False),
        Binding("4", "mode('agents')", "Agents", show=False),
        Binding("L", "toggle_light", "Light/dark", show=False),
    ]

    def __init__(
        self,
        feed: Feed,
        *,
        config: Config = DEFAULT,
        clock: Callable[[], float] = time.time,
        refresh_hz: float = REFRESH_HZ,
        export_dir: Path | None = None,
        theme: str | None = None,
    ) -> None:
        self.floor = Floor(config.rules.talk_over.min_dur_s)
        reader = FloorReader(self.floor)
        self.export_dir = export_dir or data_dir() / "exports"
        # Each mode's screen is made with the floor it reads (attributes down).
        self.MODES = {
            "board": partial(BoardScreen, reader),
            "alerts": partial(AlertsScreen, reader),
            "coaching": partial(CoachingScreen, reader, self.export_dir),
            "agents": partial(AgentsScreen, reader),
        }
        self._legible = Legible()
        super().__init__()
        self.reader = reader
        self.feed = feed
        self.config = config
        self.clock = clock
        self.refresh_hz = refresh_hz
        self.frame: Frame | None = None
        self._rung: set[str] = set()
        self._alert: tuple[str, float] | None = None  # the alert line's text, until when
        self._focus: str | None = None
        self._redraw = True
        self._last_screen: Screen | None = None
        if theme:
            self.theme = theme

    # --- feed in, frames out -------------------------------------------------------

    def on_mount(self) -> None:
        # A Textual worker: cancelled with the app, and an error in it is not silent.
        self.run_worker(self._pump(), name="feed", group="feed")
        self.set_interval(1.0 / self.refresh_hz, self.tick)

    async def _pump(self) -> None:
        """Fold every feed message into the floor; yield to the UI every few hundred."""
        floor, clock = self.floor, self.clock
        count = 0
        async for msg in self.feed.messages():
            floor.apply(msg, clock())
            count += 1
            if count % PUMP_SLICE == 0:
                await asyncio.sleep(0)

    async def on_unmount(self) -> None:
        await self.feed.close()

    def tick(self) -> None:
        """Take a frame and give it to the screen on top, all in one repaint."""
        if not self.is_running or not self.screen_stack:  # starting or shutting down
            return
        wall = self.clock()
        frame = self.floor.take(wall)
        self.frame = frame
        self._announce(frame.alerts, wall)
        for error in frame.errors[-3:]:
            self.notify(error, title="feed problem", severity="warning", timeout=6, markup=False)
        screen = self.screen
        # A screen that was not on top missed the deltas: it redraws from the whole floor.
        full = self._redraw or screen is not self._last_screen
        if frame.resync:
            # The floor just loaded: move it out of the collector's sight. A full
            # collection over 5,000 calls costs 30 ms, a visible stutter every few seconds.
            gc.freeze()
        self._redraw = False
        self._last_screen = screen
        if not isinstance(screen, FloorScreen):
            return
        alert = self._alert[0] if self._alert and wall < self._alert[1] else None
        try:
            with self.batch_update():
                screen.show_frame(frame, wall, full or frame.resync)
                screen.show_alert(alert)
        except NoMatches:
            self._redraw = True  # the screen is still composing: the whole floor next tick

    @on(FloorScreen.Redraw)
    def redraw(self) -> None:
        """Redraw the top screen from the whole floor now (filters or screen changed)."""
        self._redraw = True
        if self.is_running:
            self.tick()

    def _announce(self, alerts: Iterable[FlagView], wall: float) -> None:
        """Newly raised intervene flags ring the bell once and go on the alert line: the
        most urgent one (who, team, rule, its numbers) and how many more came with it.
        A line, never a pop-up: the board under it stays readable at any size."""
        new = [f for f in alerts
               if f.kind == "intervene" and f.state == "raised" and f.id not in self._rung]
        if not new:
            return
        self._rung.update(f.id for f in new)
        if self.config.alerts.bell:
            self.bell()
        if not self.config.alerts.notify:
            return
        flag = max(new, key=lambda f: (f.severity, f.t))
        detail = self.reader.detail(flag.call)
        team = f" · {detail.row.team}" if detail is not None else ""
        more = f" · +{len(new) - 1} more (2: Alerts)" if len(new) > 1 else ""
        text = (f" {flag.badge} {flag.who or self.reader.agent_name(flag.call)}{team} · "
                f"{flag.rule} · "
                f"{flag_numbers(flag)}{more}")
        self._alert = (text, wall + ALERT_SHOWN_S)

    # --- screens -----------------------------------------------------------

    async def action_mode(self, mode: str) -> None:
        if isinstance(self.screen, DetailScreen):
            self.close_call()
        if self.current_mode != mode:
            await self.switch_mode(mode)

    @on(FloorScreen.OpenCall)
    def open_call(self, event: FloorScreen.OpenCall) -> None:
        """Show a call in detail, and ask the hub for its raw samples (the live plots)."""
        self._set_focus(event.call)
        if isinstance(self.screen, DetailScreen):
            self.pop_screen()
        self.push_screen(DetailScreen(self.reader, event.call))

    @on(FloorScreen.CloseCall)
    def close_call(self) -> None:
        if isinstance(self.screen, DetailScreen):
            self.pop_screen()
        self._set_focus(None)

    def _set_focus(self, call: str | None) -> None:
        if call == self._focus:
            return
        self._focus = call
        self.floor.focus(call)
        self.run_worker(self.feed.set_focus([] if call is None else [call]), group="focus")

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.binding_groups()))

    def binding_groups(self) -> list[tuple[str, list[Binding]]]:
        from tui.board import Board

        groups: list[tuple[str, list[Binding]]] = [("Everywhere", self._bindings_of(self))]
        for title, holder in (("Floor board", BoardScreen), ("Board rows", Board),
                              ("Call detail", DetailScreen), ("Alerts", AlertsScreen),
                              ("Coaching queue", CoachingScreen), ("Agent summary", AgentsScreen)):
            groups.append((title, self._bindings_of(holder)))
        groups[0][1].append(Binding("ctrl+p", "command_palette", "Command palette"))
        return groups

    @staticmethod
    def _bindings_of(holder: Any) -> list[Binding]:
        """The bindings a class declares, its own first, then those it inherits from
        floorwatch's screens (Textual merges them the same way)."""
        cls = holder if isinstance(holder, type) else type(holder)
        found: dict[str, Binding] = {}
        for klass in cls.__mro__:
            if klass.__module__.startswith("tui.") and "BINDINGS" in vars(klass):
                for b in vars(klass)["BINDINGS"]:
                    if isinstance(b, Binding):
                        found.setdefault(b.key, b)
        return list(found.values())

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, then ours: every cell reads at 4.5:1 (tui/legible.py)."""
        return [*super().get_line_filters(), self._legible]

    def action_toggle_light(self) -> None:
        light = {"textual-dark": "textual-light", "textual-light": "textual-dark",
                 "ansi-dark": "ansi-light", "ansi-light": "ansi-dark"}
        self.theme = light.get(self.theme, "textual-light")

    def get_system_commands(self, screen: Screen) -> Iterator[SystemCommand]:
        yield SystemCommand("Floor board", "Live calls by need", lambda: self._go("board"))
        yield SystemCommand("Alerts", "Flag transitions, newest first",
                            lambda: self._go("alerts"))
        yield SystemCommand("Coaching queue", "Ended calls with coach/kudos flags and notes",
                            lambda: self._go("coaching"))
        yield SystemCommand("Agent summary", "This shift per agent", lambda: self._go("agents"))
        yield SystemCommand("Help", "Every key binding", self.action_help)
        yield SystemCommand("Light or dark theme", "Switch between light and dark",
                            self.action_toggle_light)
        if isinstance(screen, BoardScreen):
            yield SystemCommand("Sort by need or agent", "Toggle the board's order",
                                screen.action_toggle_sort)
            for kind in ("intervene", "coach", "kudos"):
                yield SystemCommand(f"Show only {kind} flags", f"Filter the board to {kind}",
                                    lambda k=kind: screen.set_kind(k))
            for team in screen.teams:  # a name from the wire: shown as text, not markup
                shown = escape(team)
                yield SystemCommand(f"Show only team {shown}", f"Filter the board to {shown}",
                                    lambda t=team: screen.set_team(t))
            yield SystemCommand("Clear filters", "Show every call", screen.action_clear_filters)
        if isinstance(screen, CoachingScreen):
            yield SystemCommand("Export coaching queue", "Write CSV and JSON",
                                screen.action_export)
        if isinstance(screen, DetailScreen) and self.status.may("action"):
            for action in ("listen", "whisper", "barge"):
                yield SystemCommand(f"Request {action}", f"Ask telephony to {action}",
                                    lambda a=action: screen.action_control(a))
        yield from super().get_system_commands(screen)

    def _go(self, mode: str) -> None:
        self.run_worker(self.action_mode(mode))

    # --- requests to the hub -------------------------------------------------------

    def send(self, msg: dict[str, Any], done: str) -> None:
        """Send a request; tell the supervisor whether it went (the hub's echo shows it)."""

        async def go() -> None:
            try:
                await self.feed.send(msg)
            except (ConnectionError, ValueError) as exc:
                self.notify(f"not sent: {exc}", severity="error", markup=False)
                return
            self.notify(done, timeout=3, markup=False)

        self.run_worker(go(), group="send")

    @property
    def status(self) -> FeedStatus:
        """The feed's status as of the last frame: who this is, and their role."""
        return self.frame.status if self.frame is not None else FeedStatus()

    def permits(self, request: str) -> bool:
        """Whether this user's role may send `request`; if not, say so (the keys are
        off already, but the command palette and a race with the hub's hello are not)."""
        status = self.status
        if status.may(request):
            return True
        self.notify(f"{status.who} is read-only here: {request} needs {needs(request)}",
                    severity="warning", timeout=4, markup=False)
        return False

    @on(FloorScreen.AckFlags)
    def _ack(self, event: FloorScreen.AckFlags) -> None:
        self.act_on_flags(event.flags, "ack")

    @on(FloorScreen.SnoozeFlags)
    def _snooze(self, event: FloorScreen.SnoozeFlags) -> None:
        self.act_on_flags(event.flags, "snooze")

    def act_on_flags(self, flags: Iterable[FlagView], what: str) -> None:
        """Ack or snooze each of these flags that is still open."""
        if not self.permits(what):
            return
        targets = [f for f in flags if f.is_open]
        if not targets:
            self.notify("no open flag to " + what, severity="warning", timeout=3, markup=False)
            return
        for flag in targets:
            who = flag.who or self.reader.agent_name(flag.call)
            if what == "ack":
                self.send({"type": "ack", "flag": flag.id}, f"acked {flag.badge} {who}")
            else:
                self.send({"type": "snooze", "flag": flag.id, "seconds": SNOOZE_SECONDS},
                          f"snoozed {flag.badge} {who} for {SNOOZE_SECONDS / 60:.0f} min")

    @on(FloorScreen.WriteNote)
    def ask_note(self, event: FloorScreen.WriteNote) -> None:
        call = event.call
        if not self.permits("note"):
            return

        def save(text: str | None) -> None:
            if text:
                self.send({"type": "note", "call": call, "text": text}, f"note saved on {call}")

        self.push_screen(NoteScreen(call), callback=save)

    @on(FloorScreen.RequestAction)
    def request_action(self, event: FloorScreen.RequestAction) -> None:
        """listen / whisper at once; barge (the customer hears the supervisor) only after
        a yes."""
        call, action = event.call, event.action
        if not self.permits("action"):
            return
        who = self.reader.agent_name(call)

        def go(yes: bool | None = True) -> None:
            if yes:
                self.send({"type": "action", "call": call, "action": action},
                          f"{action} requested on {who}'s call")

        if action == "barge":
            self.push_screen(ConfirmScreen(
                f"Barge into {who}'s call {call}? The customer will hear you."), callback=go)
        else:
            go()

    @on(FloorScreen.LoadHistory)
    def request_history(self) -> None:
        if not self.status.may("history"):
            return  # a viewer: the screens show the calls that ended while watching
        since = self.floor.t - SHIFT_SECONDS if self.floor.t else None
        msg: dict[str, Any] = {"type": "history"}
        if since is not None:
            msg["since"] = since
        self.run_worker(self._quiet_send(msg), group="history")

    async def _quiet_send(self, msg: dict[str, Any]) -> None:
        try:
            await self.feed.send(msg)
        except (ConnectionError, ValueError) as exc:
            self.notify(f"history not available: {exc}", severity="warning", timeout=4,
                        markup=False)
