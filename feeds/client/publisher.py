"""Producers' side of the hub: a reconnecting `/publish` connection and paced sending.

`Publisher` keeps one connection to the hub's `/publish` (reconnecting with
backoff), remembers the `call_start` of every call it has open and sends them
again on every new connection, so a restarted hub learns the live calls
back. Messages are sent as `batch` frames of what is due together. `play`
paces a message stream: `floorwatch simulate` waits for each message's event
time on the wall clock, `floorwatch replay --to` uses the replay pacer.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Generator, Iterable, Iterator

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from feeds.client.credentials import HubRefused, auth_headers, refusal, tls_context
from feeds.client.subscriber import backoff
from feeds.core.protocol import (
    MAX_BATCH_ITEMS,
    PRODUCER_TYPES,
    Message,
    ProtocolError,
    decode_frame,
    encode_like,
)
from feeds.core.recording import read_recording
from feeds.core.replay import Pacer

#: A message due within this many seconds is sent in the current batch.
BATCH_WINDOW_S = 0.005


class Publisher:
    """A producer connection that survives hub restarts and resends its live calls."""

    def __init__(
        self,
        url: str,
        binary: bool = True,
        on_reply: Callable[[Message], None] | None = None,
        backoff_initial: float = 0.5,
        backoff_max: float = 10.0,
        on_problem: Callable[[str], None] | None = None,
        token: str | None = None,
        ca: str | None = None,
    ) -> None:
        self.url = url
        self.token = token
        self.tls = tls_context(url, ca)
        self.refused: HubRefused | None = None
        self.binary = binary
        self.on_reply = on_reply or (lambda msg: None)
        self.on_problem = on_problem or (lambda text: None)
        self._last_problem = ""
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.live: dict[str, Message] = {}
        self.sent = 0
        self.errors = 0
        self._ws: ClientConnection | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> Publisher:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._ws is not None:
            await self._ws.close()

    async def until_refused(self) -> HubRefused:
        """Wait for the one failure retrying cannot mend: the hub refusing who we are."""
        if self._task is None:
            raise RuntimeError("the publisher is not running")
        await asyncio.shield(self._task)
        if self.refused is None:
            raise RuntimeError("the publisher stopped")
        return self.refused

    def _problem(self, exc: Exception) -> Exception | None:
        """Every failure but a refusal of who we are is worth retrying (the backoff caps
        the cost); remember why."""
        self._last_problem = f"{type(exc).__name__}: {exc}"
        return refusal(exc, self.url)

    def _delays(self) -> Generator[float]:
        """Backoff delays, each told to `on_problem` with the reason, as it starts."""
        for delay in backoff(self.backoff_initial, self.backoff_max):
            self.on_problem(
                f"cannot reach {self.url}: {self._last_problem}; retrying in {delay:.1f} s")
            yield delay

    async def _run(self) -> None:
        try:
            await self._follow()
        except HubRefused as exc:  # `send` raises it: retrying would not help
            self.refused = exc
            self._connected.set()

    async def _follow(self) -> None:
        async for ws in connect(
            self.url, max_size=None, open_timeout=5,
            additional_headers=auth_headers(self.token), ssl=self.tls,
            process_exception=self._problem, reconnect_delays=self._delays,
        ):
            try:
                if self.live:
                    await ws.send(encode_like(
                        {"type": "batch", "items": list(self.live.values())}, self.binary))
                self._ws = ws
                self._connected.set()
                async for frame in ws:
                    self._reply(frame)
            except ConnectionClosed:
                pass
            finally:
                self._ws = None
                self._connected.clear()

    def _reply(self, frame: str | bytes) -> None:
        try:
            msg = decode_frame(frame)
        except ProtocolError as exc:
            msg = {"type": "error", "code": "bad_reply", "detail": exc.detail}
        if msg["type"] == "error":
            if msg["code"] == "duplicate_call":
                return  # a call_start resent after reconnecting to a hub that kept the call
            self.errors += 1
        self.on_reply(msg)

    async def send(self, messages: list[Message]) -> None:
        """Send the messages as one batch frame, waiting for a connection if there is none."""
        frame = encode_like({"type": "batch", "items": messages}, self.binary)
        while True:
            await self._connected.wait()
            if self.refused is not None:
                raise self.refused
            ws = self._ws
            if ws is None:
                continue
            try:
                await ws.send(frame)
            except ConnectionClosed:
                continue
            self.sent += len(messages)
            for msg in messages:  # after sending: a new connection resends only these
                kind = msg.get("type")
                if kind == "call_start":
                    self.live[msg["call"]] = msg
                elif kind == "call_end":
                    self.live.pop(msg["call"], None)
            return


async def play(
    publisher: Publisher,
    messages: Iterable[Message],
    wait: Callable[[float], float],
    max_batch: int = 2000,
    caught_up: asyncio.Event | None = None,
) -> int:
    """Send `messages` as each falls due (`wait(t)` = seconds until event time t is due).

    `caught_up` is set once everything already due has been sent (a simulator's warm-up).
    """
    batch: list[Message] = []
    count = 0
    for msg in messages:
        delay = wait(msg["t"]) if "t" in msg else 0.0
        if delay > BATCH_WINDOW_S or len(batch) >= min(max_batch, MAX_BATCH_ITEMS):
            if batch:
                await publisher.send(batch)
                count += len(batch)
                batch = []
            if delay > BATCH_WINDOW_S:
                if caught_up is not None:
                    caught_up.set()
                await asyncio.sleep(delay)
            else:
                await asyncio.sleep(0)
        batch.append(msg)
    if batch:
        await publisher.send(batch)
        count += len(batch)
    return count


def print_problem(prog: str) -> Callable[[str], None]:
    """Report at once, on stderr, that the hub cannot be reached and when the next try is."""

    def show(text: str) -> None:
        print(f"{prog}: {text}", file=sys.stderr, flush=True)

    return show


def print_reply(prog: str) -> Callable[[Message], None]:
    """Report what the hub sends a producer: errors and `control` requests, on stderr."""

    def show(msg: Message) -> None:
        if msg["type"] == "error":
            print(f"{prog}: hub error {msg['code']}: {msg['detail']}", file=sys.stderr)
        elif msg["type"] == "control":
            print(f"{prog}: control {msg['action']} on {msg['call']} by {msg.get('by')}",
                  file=sys.stderr)

    return show


async def publish(messages: Iterable[Message], url: str, speed: float | None, prog: str,
                  binary: bool = True, token: str | None = None,
                  ca: str | None = None) -> tuple[int, int]:
    """Publish messages to a hub, paced at `speed` × their event time (None: at once);
    the hub's errors and control requests are reported on stderr as `prog`. Returns
    (messages sent, messages the hub rejected)."""
    pacer = Pacer(speed) if speed is not None else None
    async with Publisher(url, binary, print_reply(prog), on_problem=print_problem(prog),
                         token=token, ca=ca) as publisher:
        sent = await play(publisher, messages,
                          pacer.wait if pacer is not None else (lambda t: 0.0))
    return sent, publisher.errors


async def replay_to(path: str, url: str, speed: float | None, binary: bool,
                    token: str | None = None, ca: str | None = None) -> int:
    """Publish a recording to a hub; bad records are reported on stderr and skipped."""
    records = read_recording(path, PRODUCER_TYPES)
    skipped = 0

    def messages() -> Iterator[Message]:
        nonlocal skipped
        for record in records:
            if record.message is None:
                skipped += 1
                print(f"floorwatch replay: {path}: {record.describe()}", file=sys.stderr)
            else:
                yield record.message

    sent, rejected = await publish(messages(), url, speed, "floorwatch replay", binary,
                                   token, ca)
    print(f"floorwatch replay: published {sent} messages to {url}, skipped {skipped}, "
          f"{rejected} rejected by the hub", file=sys.stderr)
    return 0
