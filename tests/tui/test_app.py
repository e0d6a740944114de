"""Pilot tests: the app driven from the keyboard over a replayed hub session."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from rich.console import Console
from textual.binding import Binding
from textual.widgets import DataTable, OptionList, Static

from feeds.core.config import Alerts, Config
from tests.hubkit import T0
from tests.tui.feedkit import WALL, ReplayFeed, hub_session, hub_stream
from tui.app import FloorwatchApp
from tui.board import Board
from tui.plot import LevelPlot
from tui.screens.alerts import AlertsScreen
from tui.screens.base import FloorScreen
from tui.screens.board import RESORT_S, BoardScreen
from tui.screens.detail import DetailScreen
from tui.screens.modals import ConfirmScreen, EndedCallScreen, HelpScreen, bindings_text
from tui.widgets import AlertLine, CountsBar, StatusLine


class CountingApp(FloorwatchApp):
    """The real app; counts bell rings instead of writing BEL to a test terminal."""

    rings = 0

    def bell(self) -> None:
        self.rings += 1


def make_app(feed: ReplayFeed, tmp_path: Path | None = None, **options) -> CountingApp:
    return CountingApp(feed, clock=lambda: WALL, export_dir=tmp_path, **options)


async def settle(pilot, feed: ReplayFeed) -> None:
    """Let the app read everything the feed holds, then take one frame."""
    for _ in range(100):
        if feed.queue.empty():
            break
        await pilot.pause()
    await pilot.pause()
    pilot.app.tick()
    await pilot.pause()


def board_of(app: FloorwatchApp) -> Board:
    assert isinstance(app.screen, BoardScreen)
    return app.screen.query_one(Board)


async def test_flags_appear_and_intervene_calls_sort_to_the_top():
    feed = ReplayFeed(hub_stream())
    app = make_app(feed)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, feed)
        board = board_of(app)
        rows = board.rows
        assert len(board.order) == 6
        kinds = [{f.kind for f in rows[c].flags if f.state == "raised"} for c in board.order]
        assert [("intervene" in k) for k in kinds] == [True] * 4 + [False] * 2
        # Within the intervene tier and a severity, whoever has waited longest comes first.
        def waiting(call: str) -> tuple[int, float]:
            top = [f for f in rows[call].flags if f.kind == "intervene" and f.is_open]
            severity = max(f.severity for f in top)
            return -severity, min(f.since for f in top if f.severity == severity)

        order = [waiting(c) for c in board.order[:4]]
        assert order == sorted(order)
        assert {f.badge for f in rows[board.order[-1]].flags} == {"+K"}
        counts = app.frame.counts
        assert (counts.live, counts.on_hold, counts.flags["intervene"]) == (6, 2, 4)
        # A new intervene flag rang the bell once per frame, however many arrived, and is
        # on the alert line by agent, team, rule and numbers; nothing pops up over the board.
        assert app.rings == 1
        line = app.screen.query_one(AlertLine)
        assert line.display
        text = str(line.render())
        assert " · red · " in text or " · blue · " in text
        assert " more (2: Alerts)" in text and " a-" in text and "c-" not in text
        assert not app._notifications
        await pilot.press("o")
        await pilot.pause()
        assert board.order == sorted(board.order, key=lambda c: rows[c].name.casefold())


async def test_cursor_stays_on_its_call_when_the_order_changes():
    feed = ReplayFeed(hub_stream(until=T0 + 149.0))
    app = make_app(feed)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, feed)
        board = board_of(app)
        await pilot.press("end")
        watched = board.cursor_call
        assert watched is not None
        before = list(board.order)
        feed.queue.put_nowait({"type": "flag", "id": "red-2:transfers:1", "call": "red-2",
                               "t": T0 + 150.0, "kind": "intervene", "rule": "transfers",
                               "severity": 3, "state": "raised", "evidence": "2 transfers"})
        await settle(pilot, feed)
        assert board.order == before  # rows keep their places until the next sort
        app.clock = lambda: WALL + RESORT_S
        await settle(pilot, feed)
        assert board.order != before
        assert board.order[0] == "red-2"
        assert board.cursor_call == watched


async def test_acking_the_top_row_keeps_the_cursor_where_the_supervisor_is():
    feed = ReplayFeed(hub_stream())
    app = make_app(feed)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, feed)
        board = board_of(app)
        top = board.order[0]
        flag = next(f for f in board.rows[top].flags if f.state == "raised")
        await pilot.press("a")
        await settle(pilot, feed)
        assert feed.sent[-1] == {"type": "ack", "flag": flag.id}
        # the hub's echo: the call is acked and sorts down; the cursor stays on top
        feed.queue.put_nowait({**flag.to_message(), "state": "acked", "by": "tester",
                               "values": dict(flag.values)})
        await settle(pilot, feed)
        assert board.order.index(top) > 0
        assert board.cursor == 0 and board.cursor_call == board.order[0]


async def test_ack_from_the_detail_screen_reaches_the_hub():
    feed = ReplayFeed(hub_stream())
    app = make_app(feed)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, feed)
        top = board_of(app).order[0]
        await pilot.press("enter")
        await settle(pilot, feed)
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.call == top
        assert feed.focus[-1] == [top]
        flag = app.screen.detail.flags[-1]
        assert app.screen.query_one(OptionList).option_count >= 1
        await pilot.press("a")
        await settle(pilot, feed)
        assert {"type": "ack", "flag": flag.id} in feed.sent
        assert app.floor.flag(flag.id).state == "acked"
        await pilot.press("l")
        await pilot.pause()
        assert {"type": "action", "call": top, "action": "listen"} in feed.sent
        await pilot.press("n")
        await pilot.press(*"calm tone", "enter")
        await pilot.pause()
        assert {"type": "note", "call": top, "text": "calm tone"} in feed.sent
        await pilot.press("escape")
        await settle(pilot, feed)
        assert isinstance(app.screen, BoardScreen)
        assert feed.focus[-1] == []
        # Acked, the call drops below the calls whose intervene flags nobody has taken.
        assert board_of(app).order.index(top) == 3


async def test_filters_by_kind_team_and_text():
    feed = ReplayFeed(hub_stream())
    app = make_app(feed)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, feed)
        board = board_of(app)
        await pilot.press("f")  # intervene only
        await pilot.pause()
        assert set(board.order) == {"red-0", "red-2", "blue-0", "blue-2"}
        await pilot.press("f", "f")  # kudos only
        await pilot.pause()
        assert set(board.order) == {"red-1", "blue-1"}
        await pilot.press("escape", "t")  # first team: blue
        await pilot.pause()
        assert set(board.order) == {"blue-0", "blue-1", "blue-2"}
        await pilot.press("escape", "slash", *"red-2", "enter")
        await pilot.pause()
        assert board.order == ["red-2"]
        await pilot.press("escape")
        await pilot.pause()
        assert len(board.order) == 6


async def test_mouse_selects_and_opens_a_call_and_palette_filters_by_team():
    feed = ReplayFeed(hub_stream())
    app = make_app(feed)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, feed)
        board = board_of(app)
        second = board.order[1]
        await pilot.click(Board, offset=(4, 2))  # line 0 is the header
        assert board.cursor_call == second
        await pilot.double_click(Board, offset=(4, 2))
        await settle(pilot, feed)
        assert isinstance(app.screen, DetailScreen) and app.screen.call == second
        await pilot.press("escape")
        await settle(pilot, feed)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Show only team red", "Show only team blue", "Coaching queue"} <= set(titles)
        red = next(c for c in app.get_system_commands(app.screen)
                   if c.title == "Show only team red")
        red.callback()
        await pilot.pause()
        assert {board.rows[c].team for c in board.order} == {"red"}


async def test_alerts_list_newest_first_and_ack_from_keyboard():
    stream = hub_stream()
    feed = ReplayFeed(stream)
    app = make_app(feed)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, feed)
        await pilot.press("2")
        await settle(pilot, feed)
        assert isinstance(app.screen, AlertsScreen)
        table = app.screen.query_one(DataTable)
        flags = [m for m in stream if m["type"] == "flag"]
        assert table.row_count == len(flags)
        newest = flags[-1]
        # who had the call when it was raised, not which call id (after a transfer that
        # named nobody: nobody)
        assert str(table.get_row_at(0)[4]) == (newest["agent"] or "awaiting agent")
        await pilot.press("a")
        await settle(pilot, feed)
        assert feed.sent[-1] == {"type": "ack", "flag": newest["id"]}
        assert table.row_count == len(flags) + 1
        assert str(table.get_row_at(0)[2]) == "acked by tester"


async def test_status_line_tells_when_the_feed_is_down_and_timers_stop():
    feed = ReplayFeed(hub_stream())
    app = make_app(feed)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, feed)
        line = app.screen.query_one(StatusLine)
        assert "● connected" in str(line.render())
        feed.queue.put_nowait({"type": "status", "state": "reconnecting", "attempt": 4,
                               "url": feed.url, "detail": "ConnectionRefusedError"})
        await settle(pilot, feed)
        text = str(line.render())
        assert "reconnecting (attempt 4)" in text and feed.url in text
        assert line.has_class("-down")
        banner = app.screen.query_one("#down")
        assert banner.display
        assert "FEED DOWN" in str(banner.render())
        assert app.frame.now == app.floor.t


async def test_coaching_queue_exports_and_agent_summary(tmp_path: Path):
    feed = ReplayFeed(hub_stream(until=T0 + 300.0))
    app = make_app(feed, tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, feed)
        await pilot.press("3")
        await settle(pilot, feed)
        assert {"type": "history", "since": app.floor.t - 12 * 3600} in feed.sent
        table = app.screen.query_one(DataTable)
        # Every ended call had a coach or kudos flag except the holds, whose
        # hold_total (coach) is raised at 180 s of hold: red-0/blue-0 held 130 s.
        coaching = {row.call for row in app.floor.ended_calls() if row.coaching}
        assert coaching == {"red-1", "blue-1", "red-2", "blue-2"}
        assert table.row_count == 4
        await pilot.press("enter")  # why is it here: the evidence, and the notes
        await pilot.pause()
        assert isinstance(app.screen, EndedCallScreen)
        shown = str(app.screen.query_one(Static).render())
        first = app.screen.call
        assert all(f.evidence and f.evidence in shown for f in first.flags)
        assert "Notes" in shown
        await pilot.press("escape")
        await pilot.press("e")
        await pilot.pause()
        exported = list(tmp_path.glob("floorwatch-coaching-*.csv"))
        assert len(exported) == 1
        with exported[0].open() as handle:
            rows = list(csv.DictReader(handle))
        assert {r["call"] for r in rows} == coaching
        kudos = next(r for r in rows if "kudos deescalated: " in r["flags"])
        assert "calmed" in kudos["flags"]  # the evidence, in words and numbers
        assert kudos["started"].endswith("+00:00") and "T" in kudos["ended"]  # ISO 8601
        data = json.loads(exported[0].with_suffix(".json").read_text())
        assert {c["call"] for c in data} == coaching
        assert all(c["flags"] and c["flags"][0]["evidence"] for c in data)
        await pilot.press("4")
        await settle(pilot, feed)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 6
        assert str(table.get_row_at(0)[0]) == "a-blue-0"


async def test_help_lists_every_binding_and_layout_fits_80x24():
    feed = ReplayFeed(hub_stream())
    app = make_app(feed, config=Config(alerts=Alerts(bell=False, notify=False)))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, feed)
        assert app.rings == 0
        for widget in app.screen.query("*"):
            region = widget.region
            assert region.right <= 80 and region.bottom <= 24, widget
        await pilot.press("enter")
        await settle(pilot, feed)
        assert isinstance(app.screen, DetailScreen)
        for widget in app.screen.query("*"):
            region = widget.region
            assert region.right <= 80 and region.bottom <= 24, widget
        await pilot.press("escape")
        await settle(pilot, feed)
        board = board_of(app)
        keys = [c.key for c in board._columns]
        assert {"flags", "agent", "time", "state", "hold"} <= set(keys)
        assert sum(c.width + 1 for c in board._columns) <= 80
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(bindings_text(app.screen.groups))
        text = console.export_text()
        for screen in (BoardScreen, DetailScreen, AlertsScreen):
            for binding in screen.BINDINGS:
                assert binding.description in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, BoardScreen)


async def test_a_silent_feed_with_live_calls_is_reported_stale():
    feed = ReplayFeed(hub_stream())
    clock = [WALL]
    app = CountingApp(feed, clock=lambda: clock[0])
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, feed)
        assert not app.screen.query_one("#down").display
        clock[0] += 12.0
        app.tick()
        await pilot.pause()
        line = str(app.screen.query_one(StatusLine).render())
        assert "stale for 12 s" in line
        assert "NO UPDATES for 12 s" in str(app.screen.query_one("#down").render())
        # Timers ran on for at most 5 s past the last message, then stopped.
        assert app.frame.now == app.floor.t + 5.0


async def test_an_opened_call_plots_its_last_minutes_from_the_first_frame():
    messages, traces = hub_session()
    feed = ReplayFeed(messages, traces=traces)
    app = make_app(feed)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, feed)
        board = board_of(app)
        call = board.cursor_call
        talking = [board.rows[c] for c in board.order if not board.rows[c].on_hold]
        # the board's sparklines come from the hub's 1-second means: no holes while talking
        assert talking and all(None not in r.trend("cust_db")[-8:] for r in talking)
        await pilot.press("enter")
        await settle(pilot, feed)
        assert feed.focus[-1] == [call]
        assert isinstance(app.screen, DetailScreen)
        plot = app.screen.query_one("#cust_db", LevelPlot)
        # the trace (the last 150 s) and not only what arrived since the call was opened
        assert len(plot.points) == len(traces[call]["cust_db"]) + 1
        assert plot.points[0].t == traces[call]["t0"]
        assert plot.size.height >= 15  # the plots have the height at 160x48
        assert app.screen.query_one("#flags", OptionList).size.height <= 8


async def test_coaching_queue_says_what_it_will_show_until_calls_end():
    feed = ReplayFeed(hub_stream())
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, feed)
        await pilot.press("3")
        await settle(pilot, feed)
        empty = app.screen.query_one("#coaching-empty", Static)
        assert empty.display
        assert "no call has ended yet" in str(empty.render())
        assert "appear here" in str(empty.render())
    feed = ReplayFeed(hub_stream(until=T0 + 300.0))
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, feed)
        await pilot.press("3")
        await settle(pilot, feed)
        assert not app.screen.query_one("#coaching-empty", Static).display
        assert app.screen.query_one(DataTable).row_count > 0


async def test_a_narrow_detail_plot_still_says_spike():
    messages, traces = hub_session(until=T0 + 50.0)  # red-1's customer is loud from 40 s
    feed = ReplayFeed(messages, traces=traces)
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, feed)
        assert board_of(app).cursor_call == "red-1"
        await pilot.press("enter")
        await settle(pilot, feed)
        plot = app.screen.query_one("#cust_db", LevelPlot)
        title = plot.render_line(0).text
        assert title.startswith("Cust dBFS now") and "SPIKE" in title
        calm = app.screen.query_one("#agent_db", LevelPlot).render_line(0).text
        assert "SPIKE" not in calm


async def test_barge_asks_first_and_listen_does_not():
    feed = ReplayFeed(hub_stream())
    app = make_app(feed)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, feed)
        await pilot.press("enter")
        await settle(pilot, feed)
        call = app.screen.call
        await pilot.press("b")
        await settle(pilot, feed)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot, feed)
        assert isinstance(app.screen, DetailScreen)
        assert not any(m.get("type") == "action" for m in feed.sent)
        await pilot.press("b")
        await settle(pilot, feed)
        await pilot.press("y")
        await settle(pilot, feed)
        await pilot.press("l")
        await settle(pilot, feed)
        actions = [m for m in feed.sent if m.get("type") == "action"]
        assert actions == [{"type": "action", "call": call, "action": "barge"},
                           {"type": "action", "call": call, "action": "listen"}]


def test_help_names_keys_as_people_write_them():
    help_text = bindings_text([("Board", [Binding("question_mark", "help", "Help"),
                                       Binding("slash", "filter", "Filter"),
                                       Binding("pagedown", "page", "Page down"),
                                       Binding("enter", "open", "Open"),
                                       Binding("enter", "open_again", "Open")])])
    console = Console(width=60, record=True, file=io.StringIO())
    console.print(help_text)
    text = console.export_text()
    assert "?" in text and "/" in text and "PgDn" in text
    assert "question_mark" not in text and "pagedown" not in text
    assert text.count("Enter") == 1


def as_user(messages: list, user: str, role: str, teams: list[str] | None = None) -> list:
    """The stream as an authenticating hub sends it: its hello names the user."""
    hello = {**messages[0], "user": user, "role": role, "teams": teams}
    return [hello, *messages[1:]]


def footer_keys(app: FloorwatchApp) -> set[str]:
    return {binding.key for _, binding, enabled, _ in app.screen.active_bindings.values()
            if enabled}


async def test_a_viewer_board_is_read_only_and_says_whose_it_is():
    feed = ReplayFeed(as_user(hub_stream(), "vic", "viewer", ["north"]))
    app = make_app(feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, feed)
        header = app.screen.query_one(CountsBar).render().plain
        assert header.startswith(" floorwatch  vic · viewer · read-only ")
        assert not {"a", "s"} & footer_keys(app)
        call = board_of(app).order[0]
        await pilot.press("a", "s")
        await pilot.press("enter")
        await settle(pilot, feed)
        assert isinstance(app.screen, DetailScreen)
        assert not {"a", "s", "n", "l", "w", "b"} & footer_keys(app)
        await pilot.press("a", "n", "l", "b")
        await pilot.pause()
        # nothing asked of the hub, no modal opened; coaching asks for no history either
        assert not isinstance(app.screen, ConfirmScreen)
        assert "Request barge" not in {c.title for c in app.get_system_commands(app.screen)}
        await pilot.press("3")
        await settle(pilot, feed)
        # a request that gets past the keys (a message from anywhere) is said no to here
        app.post_message(FloorScreen.RequestAction(call, "barge"))
        await pilot.pause()
        assert feed.sent == []


async def test_a_lead_may_ack_and_note_but_not_barge():
    feed = ReplayFeed(as_user(hub_stream(), "lee", "lead", ["north", "south"]))
    app = make_app(feed)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, feed)
        header = app.screen.query_one(CountsBar).render().plain
        assert header.startswith(" floorwatch  lee · lead  ")
        assert {"a", "s"} <= footer_keys(app)
        await pilot.press("enter")
        await settle(pilot, feed)
        keys = footer_keys(app)
        assert {"a", "s", "n"} <= keys and not {"l", "w", "b"} & keys
        await pilot.press("b")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert not any(m["type"] == "action" for m in feed.sent)
