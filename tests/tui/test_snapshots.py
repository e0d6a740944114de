"""Snapshot tests: board, detail and help at 80×24 and 160×48 (and the board in a
light and a 16-color theme), on a pinned clock.

The wall clock is fixed (tests.tui.feedkit.WALL) and notifications are off, so
nothing in a snapshot depends on when or how fast the test ran. Update the
baselines with `pytest tests/tui/test_snapshots.py --snapshot-update` and
look at the SVGs before committing them.
"""

from __future__ import annotations

import pytest

from feeds.core.config import Alerts, Config
from tests.tui.feedkit import WALL, ReplayFeed, hub_session
from tests.tui.test_app import settle
from tui.app import FloorwatchApp

SIZES = [(80, 24), (160, 48)]


def quiet_app(theme: str | None = None) -> tuple[FloorwatchApp, ReplayFeed]:
    messages, traces = hub_session()
    feed = ReplayFeed(messages, traces=traces)
    app = FloorwatchApp(feed, clock=lambda: WALL, theme=theme,
                        config=Config(alerts=Alerts(bell=False, notify=False)))
    return app, feed


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", ["board", "detail", "help"])
def test_screen(snap_compare, screen: str, size: tuple[int, int]):
    app, feed = quiet_app()

    async def run_before(pilot) -> None:
        await settle(pilot, feed)
        if screen == "detail":
            await pilot.press("down", "enter")
        elif screen == "help":
            await pilot.press("question_mark")
        await settle(pilot, feed)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("theme", ["textual-light", "ansi-dark"])
def test_board_in_light_and_16_color_themes(snap_compare, theme: str):
    app, feed = quiet_app(theme)

    async def run_before(pilot) -> None:
        await settle(pilot, feed)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
