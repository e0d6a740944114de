"""Headless Chromium (Debian's `chromium`) driven over the DevTools protocol: JSON
commands on a WebSocket, one page, its events kept for the test to look through."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
from pathlib import Path
from typing import Any

import websockets

#: Every wait on the browser is bounded.
TIMEOUT_S = 30.0


class Chromium:
    """One headless browser with one page; `async with Chromium(profile) as browser`."""

    def __init__(self, profile: Path, size: tuple[int, int] = (1280, 800)) -> None:
        self.profile, self.size = profile, size
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future] = {}
        self._tasks: list[asyncio.Task] = []

    async def __aenter__(self) -> Chromium:
        self.proc = await asyncio.create_subprocess_exec(
            "chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
            "--no-first-run", "--disable-extensions", "--disable-background-networking",
            "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
            f"--user-data-dir={self.profile}", f"--window-size={self.size[0]},{self.size[1]}",
            "about:blank", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        url = await asyncio.wait_for(self._devtools_url(), TIMEOUT_S)
        self.ws = await websockets.connect(url, max_size=None)
        self._tasks.append(asyncio.create_task(self._read()))
        target = await self.send("Target.createTarget", {"url": "about:blank"}, page=False)
        attached = await self.send("Target.attachToTarget",
                                   {"targetId": target["targetId"], "flatten": True},
                                   page=False)
        self.session = attached["sessionId"]
        await self.send("Page.enable")
        await self.send("Network.enable")
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await self.ws.close()
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        await self.proc.wait()

    async def _devtools_url(self) -> str:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            found = re.search(rb"DevTools listening on (ws://\S+)", line)
            if found:
                self._tasks.append(asyncio.create_task(self._drain()))
                return found.group(1).decode()
        raise RuntimeError("chromium exited before its DevTools endpoint was up")

    async def _drain(self) -> None:
        assert self.proc.stderr is not None
        while await self.proc.stderr.readline():
            pass

    async def _read(self) -> None:
        async for raw in self.ws:
            msg = json.loads(raw)
            if "id" in msg and msg["id"] in self._waiting:
                self._waiting.pop(msg["id"]).set_result(msg)
            elif "method" in msg:
                self.events.append((msg["method"], msg.get("params", {})))

    async def send(self, method: str, params: dict[str, Any] | None = None,
                   page: bool = True) -> dict[str, Any]:
        ident = next(self._ids)
        msg: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if page:
            msg["sessionId"] = self.session
        future = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        await self.ws.send(json.dumps(msg))
        reply = await asyncio.wait_for(future, TIMEOUT_S)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def goto(self, url: str) -> None:
        """Open `url` and wait until the page has loaded."""
        seen = len(self.events)
        await self.send("Page.navigate", {"url": url})
        await self.until(lambda: any(method == "Page.loadEventFired"
                                     for method, _ in self.events[seen:]))

    async def until(self, done: Any, seconds: float = TIMEOUT_S) -> None:
        """Wait (bounded) until `done()` is true."""
        async with asyncio.timeout(seconds):
            while not done():
                await asyncio.sleep(0.1)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", {"expression": expression,
                                                      "awaitPromise": True,
                                                      "returnByValue": True})
        return result["result"].get("value")

    async def screenshot(self, path: Path) -> Path:
        shot = await self.send("Page.captureScreenshot", {"format": "png"})
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def statuses(self, url: str) -> list[int]:
        """HTTP statuses of the responses to `url` (a WebSocket's: to any URL with it)."""
        found, sockets = [], {}
        for method, params in self.events:
            if method == "Network.responseReceived" and params["response"]["url"] == url:
                found.append(params["response"]["status"])
            elif method == "Network.webSocketCreated":
                sockets[params["requestId"]] = params["url"]
            elif url not in sockets.get(params.get("requestId", ""), ""):
                continue
            elif method == "Network.webSocketHandshakeResponseReceived":
                found.append(params["response"]["status"])
            elif method == "Network.webSocketFrameError":  # a refused handshake
                code = re.search(r"response code: (\d+)", params["errorMessage"])
                found.append(int(code.group(1)) if code else 401 if
                             "Authentication failed" in params["errorMessage"] else 0)
        return found
