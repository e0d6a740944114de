"""The subscriber client library: one stream of hub messages that survives hub restarts.

    client = FeedClient("ws://127.0.0.1:8765/subscribe", teams=["t1"], user="maria")
    async for msg in client.messages():
        ...  # hello, snapshot, call_start, sample, flag, ..., and local `status` messages

It reconnects with `async for ws in websockets.connect(...)` (exponential
backoff with jitter, capped), resubscribes with the current teams / detail /
focus on every connection, and expands the hub's `batch` frames. Between the
hub's messages it interleaves local `status` pseudo-messages (never sent on
the wire) so a UI can always tell the truth about the feed:
``{"type": "status", "state": "connecting"|"connected"|"reconnecting",
"attempt": n, "url": ..., "detail": ...}``.
The queue to the reader is bounded: a reader that falls behind stops the
socket being read, and the hub then coalesces what it sends (docs/hub.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Generator, Iterable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from feeds.client.credentials import HubRefused, auth_headers, refusal, tls_context
from feeds.core.protocol import Message, ProtocolError, decode_frame, encode_like, validate


class FeedDisconnected(ConnectionError):
    """`send` was called while the client has no live connection to the hub."""


def backoff(initial: float, cap: float, factor: float = 2.0) -> Generator[float]:
    """Delays before reconnecting: exponential from `initial`, capped, with full jitter."""
    delay = initial
    while True:
        yield delay / 2 + random.random() * delay / 2
        delay = min(cap, delay * factor)


class FeedClient:
    """A subscription to a floorwatch hub that reconnects and resubscribes by itself."""

    def __init__(
        self,
        url: str,
        teams: Iterable[str] | None = None,
        detail: str = "samples",
        focus: Iterable[str] = (),
        user: str | None = None,
        *,
        binary: bool = True,
        queue_size: int = 10_000,
        backoff_initial: float = 0.5,
        backoff_max: float = 15.0,
        token: str | None = None,
        ca: str | None = None,
    ) -> None:
        self.url = url
        self.token = token
        self.tls = tls_context(url, ca)
        self.teams = None if teams is None else list(teams)
        self.detail = detail
        self.focus = list(focus)
        self.user = user
        self.binary = binary
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._queue: asyncio.Queue[Message] = asyncio.Queue(queue_size)
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task | None = None
        self._attempt = 0
        self._last_problem = ""

    # --- public API ----------------------------------------------------------

    async def messages(self) -> AsyncIterator[Message]:
        """Every message from the hub, in order, with local `status` messages between."""
        self._start()
        while True:
            yield await self._queue.get()

    async def send(self, msg: Message) -> None:
        """Send one message (ack, snooze, note, action, history, subscribe) to the hub."""
        validate(msg)
        ws = self._ws
        if ws is None:
            raise FeedDisconnected(f"not connected to {self.url}; try again once reconnected")
        try:
            await ws.send(encode_like(msg, self.binary))
        except ConnectionClosed as exc:
            raise FeedDisconnected(f"connection to {self.url} lost: {exc}") from None

    async def set_focus(self, calls: Iterable[str]) -> None:
        self.focus = list(calls)
        await self._resubscribe()

    async def set_teams(self, teams: Iterable[str] | None) -> None:
        self.teams = None if teams is None else list(teams)
        await self._status("connected" if self._ws is not None else "connecting")
        await self._resubscribe()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def __aenter__(self) -> FeedClient:
        self._start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- internals ---------------------------------------------------------------

    def subscribe_message(self) -> Message:
        msg: Message = {"type": "subscribe", "teams": self.teams, "detail": self.detail,
                        "focus": self.focus, "batch": True}
        if self.user is not None:
            msg["user"] = self.user
        return msg

    async def _resubscribe(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(FeedDisconnected):
                await self.send(self.subscribe_message())

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _status(self, state: str, detail: str = "") -> None:
        await self._queue.put({"type": "status", "state": state, "attempt": self._attempt,
                               "url": self.url, "detail": detail, "teams": self.teams})

    def _delays(self) -> Generator[float]:
        """Backoff delays that also tell the reader which attempt comes next and why."""
        for delay in backoff(self.backoff_initial, self.backoff_max):
            self._attempt += 1
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait({
                    "type": "status", "state": "reconnecting", "attempt": self._attempt,
                    "url": self.url,
                    "detail": f"{self._last_problem}; retrying in {delay:.1f} s"})
            yield delay

    def _problem(self, exc: Exception) -> Exception | None:
        """Every failure but a refusal of who we are is worth retrying (the backoff caps
        the cost); remember why."""
        self._last_problem = f"{type(exc).__name__}: {exc}"
        return refusal(exc, self.url)

    async def _run(self) -> None:
        self._attempt = 1
        await self._status("connecting")
        reconnect = connect(
            self.url, max_size=None, max_queue=64, open_timeout=5,
            additional_headers=auth_headers(self.token), ssl=self.tls,
            process_exception=self._problem,
            reconnect_delays=self._delays,
        )
        try:
            await self._follow(reconnect)
        except HubRefused as exc:  # a red status that names it; no retrying
            await self._status("refused", str(exc))

    async def _follow(self, reconnect: connect) -> None:
        async for ws in reconnect:
            self._ws = ws
            await self._status("connected")
            self._attempt = 1
            try:
                await ws.send(encode_like(self.subscribe_message(), self.binary))
                async for frame in ws:
                    await self._deliver(frame)
            except ConnectionClosed as exc:
                self._last_problem = f"connection closed: {exc}"
            finally:
                self._ws = None
            self._attempt = 1
            await self._status("reconnecting", self._last_problem)

    async def _deliver(self, frame: str | bytes) -> None:
        try:
            msg = decode_frame(frame)
        except ProtocolError as exc:
            msg = {"type": "status", "state": "connected", "attempt": self._attempt,
                   "url": self.url, "detail": f"undecodable message from hub: {exc.detail}"}
        if msg["type"] == "batch":
            for item in msg["items"]:
                await self._queue.put(item)
        else:
            await self._queue.put(msg)

