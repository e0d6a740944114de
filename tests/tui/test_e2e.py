"""End to end: the app, the real FeedClient and a real hub on 127.0.0.1."""

from __future__ import annotations

import asyncio

from feeds.client.subscriber import FeedClient
from tests.hubkit import T0, hub_running, publish, small_floor
from tui.app import FloorwatchApp
from tui.board import Board
from tui.screens.detail import DetailScreen


async def wait_for(pilot, condition, rounds: int = 200) -> None:
    """Let the app run until `condition()` holds; bounded in rounds (and so in time)."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0.05)
        await pilot.pause()
    raise AssertionError("condition not met")


async def test_board_and_ack_against_a_real_hub(tmp_path):
    async with hub_running(tmp_path / "hub.db") as (_hub, url):
        errors = await publish(url, [m for m in small_floor() if m["t"] < T0 + 156], True)
        assert errors == []
        feed = FeedClient(url + "/subscribe", detail="summary", user="sup")
        app = FloorwatchApp(feed)
        async with app.run_test(size=(120, 30)) as pilot:
            board = app.screen.query_one(Board)
            await wait_for(pilot, lambda: len(board.order) == 6)
            top = board.rows[board.order[0]]
            assert any(f.kind == "intervene" and f.state == "raised" for f in top.flags)
            assert app.frame.status.state == "connected"
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
            flag = next(f for f in top.flags if f.state == "raised")
            await pilot.press("a")
            await wait_for(pilot, lambda: app.floor.flag(flag.id).state == "acked")
            assert app.floor.flag(flag.id).by == "sup"
