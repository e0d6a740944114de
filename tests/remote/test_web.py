"""`floorwatch web` in real headless Chromium, as a remote team lead would use it: the
page refused without the session cookie, the board of their team with it (read off a
screenshot), a page of another origin refused the board's socket."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess

import pytest
from aiohttp import web as aioweb
from websockets.asyncio.client import connect

from tests.hubkit import read_until
from tests.remote.chromium import Chromium
from tests.remote.conftest import boards_of, free_port, until

pytestmark = pytest.mark.skipif(
    not (shutil.which("chromium") and shutil.which("tesseract")),
    reason="needs Debian's chromium and tesseract-ocr (make test installs them)")


async def agents_by_team(floor: dict) -> dict[str, str]:
    """Each live call's agent and team, as the hub's admin sees them."""
    token = (floor["tmp"] / "data/floorwatch/local.token").read_text().strip()
    async with connect(f"{floor['hub']}/subscribe", max_size=None,
                       additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        await ws.send(json.dumps({"type": "subscribe", "teams": None, "detail": "summary"}))
        snapshot = (await read_until(ws, lambda m: m["type"] == "snapshot"))[-1]
    return {name: call["team"] for call in snapshot["calls"]
            if (name := call.get("agent_name") or call["agent"])}  # None: in a queue


def ocr(png) -> str:
    return subprocess.run(["tesseract", str(png), "-"], capture_output=True, text=True,
                          timeout=60).stdout


async def test_the_board_needs_the_cookie_and_shows_only_the_leads_team(site, tmp_path):
    async with Chromium(tmp_path / "profile") as browser:
        await browser.goto(site["url"] + "/")
        assert browser.statuses(site["url"] + "/") == [401]
        assert "Sign in" in await browser.evaluate("document.body.innerText")
        # the token in the address: a cookie, and the board without the token in sight
        await browser.goto(f"{site['url']}/?token={site['token']}")
        assert await browser.evaluate("location.href") == site["url"] + "/"
        cookie = (await browser.send("Network.getCookies"))["cookies"][0]
        assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
        assert await browser.evaluate("document.cookie") == ""  # no script can read it
        text = ""

        agents = await agents_by_team(site)
        theirs = {name for name, team in agents.items() if team == "billing"}
        others = set(agents) - theirs
        assert theirs and others

        async def board_shown() -> bool:
            nonlocal text
            text = ocr(await browser.screenshot(tmp_path / "board.png"))
            return sum(name in text for name in theirs) >= min(2, len(theirs))

        async with asyncio.timeout(30):
            while not await board_shown():
                await asyncio.sleep(1)
        assert not [name for name in others if name in text], text
        assert not {"tech", "sales", "retention", "orders"} & set(text.split()), text
        assert boards_of(site)
    assert until(lambda: not boards_of(site), 10.0)  # the page closed: its board ended
    assert "session ended: user lead from 127.0.0.1" in site["log"].read_text()


async def test_a_page_of_another_origin_may_not_open_the_board(site, tmp_path):
    """Same host, another port: the same site to the browser, so the cookie goes along;
    the Origin check is what refuses it."""
    other = aioweb.Application()
    page = f"<script>new WebSocket('{site['url'].replace('http', 'ws')}/ws')</script>"

    async def foreign(request: aioweb.Request) -> aioweb.Response:
        return aioweb.Response(text=page, content_type="text/html")

    other.router.add_get("/", foreign)
    runner = aioweb.AppRunner(other)
    await runner.setup()
    port = free_port()
    await aioweb.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with Chromium(tmp_path / "profile") as browser:
            await browser.goto(f"{site['url']}/login")
            await browser.goto(f"{site['url']}/?token={site['token']}")
            await browser.goto(f"http://127.0.0.1:{port}/")
            await browser.until(lambda: 403 in browser.statuses("/ws"), 10)
    finally:
        await runner.cleanup()
