"""Snapshot tests: board, detail and help at 80×24 and 160×48, on a pinned clock.

The wall clock is fixed (tests.tui.feedkit.WALL) and notifications are off, so
nothing in a snapshot depends on when or how fast the test ran. Update the
baselines with `pytest tests/tui/test_snapshots.py --snapshot-update` and
look at the SVGs before committing them.
"""

from __future__ import annotations

import pytest

from feeds.config import Alerts, Config
from tests.tui.feedkit import WALL, ReplayFeed, hub_stream
from tests.tui.test_app import settle
from tui.app import FloorwatchApp

SIZES = [(80, 24), (160, 48)]


def quiet_app() -> tuple[FloorwatchApp, ReplayFeed]:
    feed = ReplayFeed(hub_stream())
    app = FloorwatchApp(feed, clock=lambda: WALL,
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
