"""Text from the wire is shown as text: Rich/Textual markup in ids and names renders as
typed and crashes nothing; escape sequences never reach the terminal."""

from __future__ import annotations

from tests.hubkit import T0
from tests.tui.feedkit import WALL, ReplayFeed
from tests.tui.test_app import settle
from tui.app import FloorwatchApp

HOSTILE_CALL = "bad[/"
HOSTILE_NAME = "Eve\x1b[2J\x1b]0;owned\x07[blink]x[/blink]"


def _floor() -> list[dict]:
    start = {"type": "call_start", "call": HOSTILE_CALL, "t": T0, "agent": "[b]a1",
             "agent_name": HOSTILE_NAME, "team": "red[/]", "queue": "q\x1b[31m"}
    flag = {"type": "flag", "id": f"{HOSTILE_CALL}:transfers:1", "call": HOSTILE_CALL,
            "t": T0 + 5, "kind": "intervene", "rule": "transfers", "severity": 2,
            "state": "raised", "evidence": "moved [red]twice[/red] \x1b[2J", "team": "red[/]",
            "agent": "[b]a1"}
    end = {"type": "call_end", "call": HOSTILE_CALL, "t": T0 + 20}
    history = {"type": "history", "calls": [
        {"call": HOSTILE_CALL, "agent": "[b]a1", "agent_name": HOSTILE_NAME,
         "team": "red[/]", "started": T0, "ended": T0 + 20,
         "flags": [{**flag, "kind": "coach", "rule": "talk_over"}],
         "notes": [{"t": T0 + 21, "by": "[i]sam", "text": "calm [/] down\x1b[2J"}]}]}
    return [{"type": "hello", "server": "floorwatch", "protocol": 1, "t": T0}, start, flag,
            end, history]


def _screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_markup_and_escapes_from_the_wire_are_shown_as_text():
    feed = ReplayFeed(_floor()[:3])
    app = FloorwatchApp(feed, clock=lambda: WALL)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, feed)
        shown = _screen_text(app)
        assert "Eve" in shown and "[blink]x[/blink]" in shown  # as typed, not rendered
        assert "\x1b" not in shown and "\x07" not in shown
        await pilot.press("enter")  # the call's detail
        await settle(pilot, feed)
        assert "\x1b" not in _screen_text(app)
        await pilot.press("escape", "2")  # alerts
        await settle(pilot, feed)
        shown = _screen_text(app)
        assert "[red]twice[/red]" in shown and "\x1b" not in shown
        for msg in _floor()[3:]:
            feed.push(msg)
        await pilot.press("3")  # coaching queue, from the history
        await settle(pilot, feed)
        shown = _screen_text(app)
        assert HOSTILE_CALL in shown and "\x1b" not in shown
        await pilot.press("enter")
        await pilot.pause()
        assert "calm [/] down" in _screen_text(app)
        await pilot.press("escape", "4")  # agents
        await settle(pilot, feed)
        assert "[b]a1" in _screen_text(app) or "Eve" in _screen_text(app)
        await pilot.press("1", "ctrl+p")
        await pilot.pause()
        await pilot.press(*"team")
        await pilot.pause()
        assert app.is_running
