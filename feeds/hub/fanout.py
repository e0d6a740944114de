"""Fan-out to subscribers: encode each message once, send per-subscriber batches.

The hub collects what a tick produced per team in a `TeamTick`, in arrival
order. Each item is encoded at most once per form (JSON text, MessagePack
binary), and each team's tick is joined once per form and detail level, so
the cost per subscriber is a few joins per tick, not one encode per message.

A `Subscriber` owns a bounded pending list and one sender task. While it
keeps up, it gets everything in order. When more than `max_pending` items or
`max_bytes` bytes
wait, or more than `max_lag_ticks` ticks queued up while the sender was still
busy with earlier ones (the socket is not draining), it *coalesces*: pending raw samples are
dropped and replaced by one `call_update` per affected call, built from the
hub's latest state when the frame is sent; flags and other discrete messages
are never dropped. A subscriber behind for longer than `max_behind_s`, or with
more than `max_essential` discrete messages or `max_bytes` bytes still waiting after
coalescing, is closed with a reason. Every reply (hello, snapshot, history, errors)
counts as much as a tick, so a client that asks and never reads is bounded too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterable

import msgpack
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from feeds.core.protocol import Message, ProtocolError
from feeds.hub.auth import Identity, masked

#: Item classes: discrete messages go to everyone, samples and call_updates by detail level.
ESSENTIAL, SAMPLE, UPDATE = 0, 1, 2
#: Messages that may carry a customer's number (`customer`, or in `calls`).
WITH_CUSTOMER = frozenset({"call_start", "call_update", "snapshot"})
#: A batch frame is cut after this many payload bytes (at a team-tick boundary).
FRAME_BYTES = 256 * 1024
#: A behind subscriber's stale calls become call_updates this many between yields.
STALE_SLICE = 500


class Encoded:
    """One outgoing message, encoded lazily and at most once per form; a message with a
    customer's number also has a masked twin for the roles that see it masked."""

    __slots__ = ("_json", "_masked", "_mp", "msg")

    def __init__(self, msg: Message) -> None:
        self.msg = msg
        self._json: str | None = None
        self._mp: bytes | None = None
        self._masked: Encoded | None = None

    def form(self, binary: bool, mask: bool = False) -> str | bytes:
        if mask:
            if self._masked is None:  # itself when it has no number to mask
                self._masked = Encoded(masked(self.msg)) if _private(self.msg) else self
            if self._masked is not self:
                return self._masked.form(binary)
        if binary:
            if self._mp is None:
                self._mp = msgpack.packb(self.msg, use_bin_type=True)
            return self._mp
        if self._json is None:
            self._json = json.dumps(self.msg, separators=(",", ":"), allow_nan=False)
        return self._json


def _private(msg: Message) -> bool:
    """Whether `msg` carries a customer's number (itself, or in its `calls`)."""
    if msg["type"] not in WITH_CUSTOMER:
        return False
    if msg.get("customer"):
        return True
    calls = msg.get("calls")
    return isinstance(calls, list) and any(
        isinstance(c, dict) and c.get("customer") for c in calls)


#: Subscribes and history requests one subscriber may make: a second, and at once;
#: and how many it may have refused before it is closed.
ASK_RATE, ASK_BURST, ASK_REFUSALS = 5.0, 20, 100


def over_budget(subscribers: Iterable[Subscriber], budget: int) -> list[Subscriber]:
    """The subscribers to close, most bytes waiting first, until what all of them have
    waiting fits in `budget`: each is bounded by its max_bytes, the hub by this."""
    subs = sorted(subscribers, key=lambda s: s.pending_bytes, reverse=True)
    total = sum(s.pending_bytes for s in subs)
    out = []
    for sub in subs:
        if total <= budget:
            break
        out.append(sub)
        total -= sub.pending_bytes
    return out


#: What a new snapshot makes of an earlier one still waiting to be sent: nothing.
SUPERSEDED = frozenset({"snapshot", "trace", "hub_status"})


class Chunk:
    """Several encoded items joined into one piece of a batch frame's `items` list."""

    __slots__ = ("count", "items", "payload", "reply")

    def __init__(self, items: list[Encoded], binary: bool, mask: bool = False) -> None:
        self.items = items
        self.count = len(items)
        self.reply = False  # an answer to the subscriber's own request (push_messages)
        parts = [item.form(binary, mask) for item in items]
        self.payload: str | bytes = b"".join(parts) if binary else ",".join(parts)


class TeamTick:
    """The messages one team produced during one tick, in order."""

    __slots__ = ("_chunks", "items", "sample_calls")

    def __init__(self) -> None:
        self.items: list[tuple[int, str | None, Encoded]] = []
        self.sample_calls: set[str] = set()
        self._chunks: dict[tuple[bool, bool, bool], Chunk] = {}

    def add(self, cls: int, call: str | None, encoded: Encoded) -> None:
        self.items.append((cls, call, encoded))
        if cls == SAMPLE:
            self.sample_calls.add(call)  # type: ignore[arg-type]

    def chunk(self, binary: bool, samples: bool, mask: bool = False) -> Chunk:
        """The shared chunk for a detail level: samples (raw) or summary (call_updates)."""
        key = (binary, samples, mask)
        chunk = self._chunks.get(key)
        if chunk is None:
            drop = UPDATE if samples else SAMPLE
            chunk = Chunk([e for cls, _, e in self.items if cls != drop], binary, mask)
            self._chunks[key] = chunk
        return chunk

    def focus_chunk(self, binary: bool, focus: frozenset[str], mask: bool = False) -> Chunk:
        """A summary chunk that also keeps the raw samples of the focused calls."""
        return Chunk([e for cls, call, e in self.items
                      if cls != SAMPLE or call in focus], binary, mask)

    def essential_chunk(self, binary: bool, mask: bool = False) -> Chunk:
        return Chunk([e for cls, _, e in self.items if cls == ESSENTIAL], binary, mask)


def _batch_frame(chunks: Iterable[Chunk], binary: bool) -> str | bytes:
    chunks = list(chunks)
    count = sum(c.count for c in chunks)
    if binary:
        if count < 16:
            head = bytes((0x90 | count,))
        elif count < 65536:
            head = b"\xdc" + count.to_bytes(2, "big")
        else:
            head = b"\xdd" + count.to_bytes(4, "big")
        return b"\x82\xa4type\xa5batch\xa5items" + head + b"".join(
            c.payload for c in chunks)  # type: ignore[misc]
    body = ",".join(c.payload for c in chunks if c.count)  # type: ignore[misc]
    return '{"type":"batch","items":[' + body + "]}"


class Subscriber:
    """One `/subscribe` connection: its filter, its pending messages and its sender."""

    def __init__(
        self,
        ws: ServerConnection,
        binary: bool,
        snapshot_of: Callable[[str], Message | None],
        on_close: Callable[[Subscriber, str], None],
        max_lag_ticks: int = 50,
        max_pending: int = 50_000,
        max_essential: int = 200_000,
        max_behind_s: float = 10.0,
        max_bytes: int = 32 * 2**20,
    ) -> None:
        self.ws = ws
        self.binary = binary
        self.teams: frozenset[str] | None = None
        self.detail = "samples"
        self.focus: frozenset[str] = frozenset()
        self.user: str | None = None
        self.identity: Identity | None = None  # who the hub admitted (None: no auth)
        self.address = ""
        self.batch = False
        self.subscribed = False
        self._snapshot_of = snapshot_of
        self._on_close = on_close
        self.max_lag_ticks = max_lag_ticks
        self.max_pending = max_pending
        self.max_essential = max_essential
        self.max_bytes = max_bytes
        self.max_behind_s = max_behind_s
        self._pending: list[Chunk] = []
        self._pending_items = 0
        self._pending_bytes = 0
        self._sending = False
        self._lag = 0  # ticks queued while the sender was still busy with earlier ones
        self._stale: set[str] = set()
        self.behind_since: float | None = None
        self.coalesced = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.closed = False
        self._asks = float(ASK_BURST)  # requests it may still make now (a token bucket)
        self._refused = 0  # requests refused for coming too fast
        self._asked_at = time.monotonic()

    @property
    def mask(self) -> bool:
        """Customers' numbers reach this subscriber masked (its role says so)."""
        return self.identity is not None and self.identity.masked

    def check_ask(self, kind: str, now: float) -> None:
        """Take another subscribe or history now, or raise `rate_limited`: ASK_RATE a
        second on average, ASK_BURST at once. Each is answered by a snapshot or a
        history, work and bytes for the hub; a client asking in a loop is told to slow
        down."""
        self._asks = min(ASK_BURST, self._asks + (now - self._asked_at) * ASK_RATE)
        self._asked_at = now
        if self._asks < 1:
            self._refused += 1
            if self._refused > ASK_REFUSALS:  # told, and told again: it is not listening
                self.close_with(f"too many requests: {self._refused} refused")
            raise ProtocolError(f"{kind}: more than {ASK_RATE:g} subscribes and history "
                                "requests a second; slow down", code="rate_limited")
        self._asks -= 1

    @property
    def pending_bytes(self) -> int:
        return self._pending_bytes

    def can_see(self, team: str) -> bool:
        """Whether `team` is inside this subscription's teams."""
        return self.teams is None or team in self.teams

    def wants(self, team: str) -> bool:
        """Whether this subscriber takes `team`'s messages now."""
        return self.subscribed and (self.teams is None or team in self.teams)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._send_loop())

    async def stop(self) -> None:
        self.closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # --- enqueueing (called by the hub's flush, on the event loop) ----------

    def push_messages(self, messages: list[Message]) -> None:
        """Queue messages for this subscriber alone (hello, snapshot, errors, history).

        They answer its own requests: one that comes while an earlier answer is still
        waiting to be taken means the client is not reading, and it is behind from then
        on (`check_behind` closes it after max_behind_s, however little it is sent). A
        new snapshot says all a waiting one did: the waiting one goes."""
        if any(chunk.reply for chunk in self._pending):
            if self.behind_since is None:
                self.behind_since = time.monotonic()
            if any(m["type"] == "snapshot" for m in messages):
                self._drop_waiting(SUPERSEDED)
        chunk = Chunk([Encoded(m) for m in messages], self.binary, self.mask)
        chunk.reply = True
        self._push(chunk)

    def _drop_waiting(self, types: frozenset[str]) -> None:
        kept = []
        for chunk in self._pending:
            if chunk.reply and any(e.msg["type"] in types for e in chunk.items):
                rest = [e for e in chunk.items if e.msg["type"] not in types]
                self._pending_items -= chunk.count - len(rest)
                self._pending_bytes -= len(chunk.payload)
                if not rest:
                    continue
                chunk = Chunk(rest, self.binary, self.mask)
                chunk.reply = True
                self._pending_bytes += len(chunk.payload)
            kept.append(chunk)
        self._pending = kept

    def push_tick(self, tick: TeamTick) -> None:
        mask = self.mask
        if self.detail == "samples":
            chunk = tick.chunk(self.binary, True, mask)
        elif self.focus and not self.focus.isdisjoint(tick.sample_calls):
            chunk = tick.focus_chunk(self.binary, self.focus, mask)
        else:
            chunk = tick.chunk(self.binary, False, mask)
        if chunk.count:
            if self._sending:
                self._lag += 1
            if self.behind_since is not None and self.detail == "samples":
                self._stale |= tick.sample_calls
                self.coalesced += chunk.count
                chunk = tick.essential_chunk(self.binary, mask)
                self.coalesced -= chunk.count
                if not chunk.count:
                    return
            self._push(chunk)

    def _push(self, chunk: Chunk) -> None:
        if self.closed:  # closing: nothing more is kept for it
            return
        self._pending.append(chunk)
        self._pending_items += chunk.count
        self._pending_bytes += len(chunk.payload)
        if (self._lag > self.max_lag_ticks or self._pending_items > self.max_pending
                or self._pending_bytes > self.max_bytes):
            self._coalesce()
        self._wake.set()

    def _coalesce(self) -> None:
        """Too much waiting: keep discrete messages, replace raw samples by latest state."""
        if self.behind_since is None:
            self.behind_since = time.monotonic()
        kept: list[Chunk] = []
        for chunk in self._pending:
            essential = [e for e in chunk.items if e.msg["type"] not in ("sample", "call_update")]
            dropped = chunk.count - len(essential)
            if dropped:
                self.coalesced += dropped
                for e in chunk.items:
                    if e.msg["type"] in ("sample", "call_update"):
                        self._stale.add(e.msg["call"])
                reply, chunk = chunk.reply, Chunk(essential, self.binary, self.mask)
                chunk.reply = reply
            if chunk.count:
                kept.append(chunk)
        self._pending = kept
        self._pending_items = sum(c.count for c in kept)
        self._pending_bytes = sum(len(c.payload) for c in kept)
        if self._pending_items > self.max_essential:
            self.close_with(f"subscriber too slow: {self._pending_items} messages waiting")
        elif self._pending_bytes > self.max_bytes:
            self.close_with(f"subscriber too slow: {self._pending_bytes} bytes waiting")

    def check_behind(self, now: float) -> None:
        """Disconnect a subscriber that has stayed behind too long."""
        if self.behind_since is not None and now - self.behind_since > self.max_behind_s:
            self.close_with(
                f"subscriber too slow: behind for more than {self.max_behind_s:g} s "
                f"({self.coalesced} updates coalesced)")

    def close_with(self, reason: str) -> None:
        if not self.closed:
            self.closed = True
            self._pending, self._pending_items, self._pending_bytes = [], 0, 0
            self._stale.clear()
            self._on_close(self, reason)
            asyncio.get_running_loop().create_task(self.ws.close(1008, reason[:120]))

    # --- sending -------------------------------------------------------------

    async def _stale_updates(self) -> Chunk:
        """One call_update per stale call, built and encoded STALE_SLICE at a time with
        a yield between: 5,000 at once held the event loop (every producer and
        subscriber) for ~25 ms each time a slow subscriber caught up."""
        stale, self._stale = sorted(self._stale), set()
        encoded: list[Encoded] = []
        for start in range(0, len(stale), STALE_SLICE):
            if start:
                await asyncio.sleep(0)
            for update in map(self._snapshot_of, stale[start:start + STALE_SLICE]):
                if update is not None:
                    item = Encoded(update)
                    item.form(self.binary, self.mask)
                    encoded.append(item)
        return Chunk(encoded, self.binary, self.mask)

    def _take(self, updates: Chunk | None) -> list[str | bytes]:
        chunks, self._pending, self._pending_items = self._pending, [], 0
        self._pending_bytes = 0
        self._lag = 0
        if updates is not None:
            chunks.append(updates)
        if not self.batch:
            return [e.form(self.binary, self.mask) for c in chunks for e in c.items]
        frames: list[str | bytes] = []
        group: list[Chunk] = []
        size = 0
        for chunk in chunks:
            if group and size + len(chunk.payload) > FRAME_BYTES:
                frames.append(_batch_frame(group, self.binary))
                group, size = [], 0
            group.append(chunk)
            size += len(chunk.payload)
        if group and any(c.count for c in group):
            frames.append(_batch_frame(group, self.binary))
        return frames

    async def _send_loop(self) -> None:
        try:
            while not self.closed:
                await self._wake.wait()
                self._wake.clear()
                self._sending = True
                while self._pending or self._stale:
                    updates = await self._stale_updates() if self._stale else None
                    for frame in self._take(updates):
                        await self.ws.send(frame)
                self._sending = False
                self.behind_since = None
        except ConnectionClosed:
            pass
