"""The hub: producers publish call metrics, the hub detects once, subscribers watch.

One asyncio process. `/publish` frames are decoded, validated and fed to one
`Engine`; the messages and the flags they cause are queued per team and sent
out by `feeds.hub.fanout` on a short tick (`tick_s`), encoded once per form.
A live call's hub-side state is one `HubCall` (feeds.hub.calls); a flag's
supervisor state lives in the `FlagBook` (feeds.hub.flagbook). Supervisor
requests (ack, snooze, note, action, history) are applied by
`feeds.hub.commands`, committed to the `Store` and then broadcast to every
subscriber of the call's team, the sender included. `/healthz` answers plain
HTTP with counts. docs/hub.md describes the policies (slow subscribers, time
advancement) and docs/protocol.md the extensions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import ssl
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from functools import partial
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from feeds.core.config import DEFAULT, Config
from feeds.core.engine import PAST_CALLS, CallState, Engine
from feeds.core.flags import Flag
from feeds.core.protocol import (
    MAX_MESSAGE_BYTES,
    PRODUCER_TYPES,
    PROTOCOL_VERSION,
    SERVER_NAME,
    SUBSCRIBER_TYPES,
    Message,
    ProtocolError,
    batch_items,
    decode_frame,
    encode_like,
    known_fields,
)
from feeds.hub import commands
from feeds.hub.auth import PATH_ROLES, Gate, Identity, audit
from feeds.hub.calls import UPDATE_SLOTS, CallTable, HubCall
from feeds.hub.fanout import ESSENTIAL, SAMPLE, UPDATE, Encoded, Subscriber, TeamTick, over_budget
from feeds.hub.flagbook import FlagBook
from feeds.hub.store import Store

#: websockets closes a connection on a frame larger than this; frames between
#: MAX_MESSAGE_BYTES and this get an `error` and the connection stays open.
HARD_MAX_SIZE = 4 * MAX_MESSAGE_BYTES
#: Housekeeping runs this often; call_updates go out in UPDATE_SLOTS steps a second.
HOUSEKEEPING_S = 0.05
#: Housekeeping steps between scans for idle calls (a minute: a scan walks every call).
IDLE_EVERY = 1200
#: Errors sent back for one frame; the rest are only counted.
MAX_ERRORS_PER_FRAME = 20


class Hub:
    """The hub's state: one engine, its live calls, the flag book, the connections."""

    def __init__(
        self,
        config: Config = DEFAULT,
        store: Store | None = None,
        tick_s: float = 0.01,
        quiet_s: float = 2.0,
        orphan_s: float = 600.0,
        max_lag_ticks: int = 50,
        max_pending: int = 50_000,
        max_essential: int = 200_000,
        max_behind_s: float = 10.0,
        max_bytes: int = 32 * 2**20,
        max_total_bytes: int = 256 * 2**20,
        auth: bool = False,
        origins: frozenset[str] = frozenset(),
        max_per_address: int = 64,
        max_calls: int = 50_000,
        max_calls_per_producer: int = 20_000,
        idle_call_s: float = 3600.0,
    ) -> None:
        self.max_calls, self.max_calls_per_producer = max_calls, max_calls_per_producer
        self.idle_call_s = idle_call_s  # a call silent this long is ended, producer or not
        # who may connect: tokens (off: --insecure-local), origins, connections per address
        self.gate = Gate(store, auth, origins, max_per_address)
        self.engine = Engine(config)
        for call_id, episodes in store.past_calls(PAST_CALLS) if store else ():
            self.engine.remember(call_id, episodes)  # ids reused after a restart
        self.calls = CallTable()
        self.book = FlagBook(store)
        self.store = store
        self.tick_s = tick_s
        self.quiet_s = quiet_s
        self.orphan_s = orphan_s
        self.max_lag_ticks = max_lag_ticks
        self.max_pending = max_pending
        self.max_essential = max_essential
        self.max_behind_s = max_behind_s
        self.max_bytes = max_bytes  # what one subscriber may have waiting, in bytes
        self.max_total_bytes = max_total_bytes  # and all of them together
        self.subscribers: set[Subscriber] = set()
        self.producers: dict[ServerConnection, bool] = {}  # connection -> binary form
        self.ticks: dict[str, TeamTick] = {}
        self.messages = 0  # producer messages taken
        self.counts: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.closed_slow = 0
        self._orphans_possible = False  # a call may have lost its producer
        self._flush_handle: asyncio.TimerHandle | None = None
        self.started = time.time()

    # --- outgoing -----------------------------------------------------------

    def _tick(self, team: str) -> TeamTick:
        tick = self.ticks.get(team)
        if tick is None:
            tick = self.ticks[team] = TeamTick()
        return tick

    def _schedule_flush(self) -> None:
        if self._flush_handle is None and self.ticks:
            loop = asyncio.get_running_loop()
            self._flush_handle = loop.call_later(self.tick_s, self.flush)

    def flush(self) -> None:
        """Hand this tick's messages to the subscribers that want them."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        ticks, self.ticks = self.ticks, {}
        if not ticks:
            return
        for sub in self.subscribers:
            for team, tick in ticks.items():
                if sub.wants(team):
                    sub.push_tick(tick)

    def broadcast(self, team: str, msg: Message, call: str | None = None) -> None:
        if self.subscribers:
            self._tick(team).add(ESSENTIAL, call, Encoded(msg))
            self._schedule_flush()

    def call_update(self, call_id: str) -> Message | None:
        """A call's state for summary subscribers, without the customer's number: it
        never changes, `call_start` and `snapshot` carry it, and a number not sent four
        times a second needs no masked copy four times a second."""
        call = self.calls.get(call_id)
        if call is None:
            return None
        state = self.call_state(call)
        del state["customer"]
        return {"type": "call_update", **state}

    @staticmethod
    def call_state(call: HubCall) -> Message:
        """A live call's running state plus its last complete second (the `*_1s` fields)."""
        state = call.state.snapshot()
        call.trace.fill(state)
        return state

    # --- producers ----------------------------------------------------------

    def ingest_sample(self, msg: Message, ws: ServerConnection | None, now: float) -> None:
        """`ingest` for the most frequent message: a sample from the call's own producer."""
        call_id = msg["call"]
        call = self.calls.get(call_id)
        if call is None or call.owner is not ws:
            self.ingest(msg, ws, now)  # the general path raises the right error
            return
        state = call.state
        flags = state.sample(msg)
        call.trace.add(msg["t"], msg, state.cust.active, state.agent_party.active)
        self.messages += 1
        for flag in flags:
            self._flag(flag, state)
        self.calls.heard(call, msg["t"], now)
        if self.subscribers:
            tick = self.ticks.get(state.team) or self._tick(state.team)
            tick.add(SAMPLE, call_id, Encoded(known_fields(msg)))

    def ingest(self, msg: Message, ws: ServerConnection | None, now: float) -> None:
        """Apply one validated producer message; raise ProtocolError if it does not fit."""
        call_id = msg["call"]
        call = self.calls.get(call_id)
        if (call is not None and call.owner is not None and call.owner is not ws
                and call.owner in self.producers):
            raise ProtocolError(
                f"{msg['type']}.call: call {call_id!r} is published by another producer",
                code="not_owner")
        if call is None and msg["type"] == "call_start":
            self._room_for_a_call(ws)
        old_team = None if call is None else call.state.team
        flags = self.engine.process(msg)
        kind = msg["type"]
        if kind == "call_start":
            call = self.calls.start(self.engine.calls[call_id], ws, now)
        assert call is not None  # the engine raised for any other message of an unknown call
        state = call.state
        if kind == "sample":
            call.trace.add(msg["t"], msg, state.cust.active, state.agent_party.active)
        if ws is not None:  # a new call, or its producer reconnected
            self.calls.own(call, ws)
        else:
            self._orphans_possible = True
        self.messages += 1
        for flag in flags:
            self._flag(flag, state)
        if kind == "call_end":
            self.calls.end(call_id)
            if self.store is not None:
                self.store.put_summary(state.summary())
        else:
            self.calls.heard(call, msg["t"], now)
        if not self.subscribers:
            return
        team = old_team or state.team
        forwarded = Encoded(known_fields(msg))
        self._tick(team).add(SAMPLE if kind == "sample" else ESSENTIAL, call_id, forwarded)
        if state.team != team:  # transferred to another team: its subscribers get the call
            self._tick(state.team).add(ESSENTIAL, call_id, Encoded(self.call_update(call_id)))

    def _room_for_a_call(self, ws: ServerConnection | None) -> None:
        """Refuse a new call past the hub's cap or its producer's (each a named error)."""
        if len(self.calls) >= self.max_calls:
            raise ProtocolError(f"call_start: the hub has {len(self.calls)} live calls, its "
                                f"limit (max_calls {self.max_calls})", code="too_many_calls")
        if ws is not None and self.calls.owned_by(ws) >= self.max_calls_per_producer:
            raise ProtocolError(
                f"call_start: this producer has {self.calls.owned_by(ws)} live calls, its "
                f"limit (max_calls_per_producer {self.max_calls_per_producer})",
                code="too_many_calls")

    def _flag(self, flag: Flag, call: CallState) -> None:
        msg = self.book.transition(flag, call.team, call.agent, time.time(), call.started)
        self.counts["flags"] += 1
        self.broadcast(call.team, msg, flag.call)

    def hub_status(self) -> Message:
        """What a board needs to know of the hub itself: is anything publishing?"""
        return {"type": "hub_status", "producers": len(self.producers)}

    def _producers_changed(self) -> None:
        status = self.hub_status()
        for sub in self.subscribers:
            if sub.batch:
                sub.push_messages([status])

    async def producer(self, ws: ServerConnection, who: Identity | None = None) -> None:
        self.producers[ws] = False
        self._producers_changed()
        try:
            async for frame in ws:
                binary = not isinstance(frame, str)
                self.producers[ws] = binary
                self.counts["frames_in"] += 1
                problems: list[ProtocolError] = []
                items: list[Message | None]
                try:
                    msg = decode_frame(frame, PRODUCER_TYPES)
                    batch = msg["type"] == "batch"
                    items = msg["items"] if batch else [msg]
                except ProtocolError as exc:
                    batch = exc.detail.startswith("batch.items[")
                    # one bad item in a batch: check them one by one and take the good ones
                    items = batch_items(frame, problems) if batch else []
                    if not batch:
                        problems.append(exc)
                now = time.monotonic()
                for i, item in enumerate(items):
                    if item is None:
                        continue
                    try:
                        if who is not None:
                            who.check_publish(item)
                        if item["type"] == "sample":
                            self.ingest_sample(item, ws, now)
                        else:
                            self.ingest(item, ws, now)
                    except ProtocolError as exc:
                        if batch:
                            exc = ProtocolError(f"batch.items[{i}]: {exc.detail}", exc.code)
                        problems.append(exc)
                self._schedule_flush()
                for exc in problems[:MAX_ERRORS_PER_FRAME]:
                    await ws.send(encode_like(exc.to_message(), binary))
                for exc in problems:
                    self.errors[exc.code] += 1
        finally:
            del self.producers[ws]
            self._orphans_possible = True
            self._producers_changed()

    # --- subscribers ----------------------------------------------------------

    def snapshot(self, sub: Subscriber) -> Message:
        calls = [self.call_state(c) for c in self.calls if sub.can_see(c.state.team)]
        flags = [f for f in self.book if sub.can_see(f["team"])]
        return {"type": "snapshot", "calls": calls, "flags": flags}

    def _drop_subscriber(self, sub: Subscriber, reason: str) -> None:
        self.subscribers.discard(sub)
        if reason.startswith("too many requests"):
            self.errors["too_many_requests"] += 1
            return
        self.closed_slow += 1
        self.errors["slow_subscriber"] += 1

    async def subscriber(self, ws: ServerConnection, who: Identity | None,
                         address: str) -> None:
        sub = Subscriber(ws, False, self.call_update, self._drop_subscriber,
                         max_lag_ticks=self.max_lag_ticks, max_pending=self.max_pending,
                         max_essential=self.max_essential, max_behind_s=self.max_behind_s,
                         max_bytes=self.max_bytes)
        sub.identity, sub.address = who, address
        if who is not None:
            sub.user = who.user
        sub.start()
        try:
            async for frame in ws:
                sub.binary = not isinstance(frame, str)
                self.counts["frames_in"] += 1
                try:
                    await self.request(sub, decode_frame(frame, SUBSCRIBER_TYPES))
                except ProtocolError as exc:
                    self.errors[exc.code] += 1
                    sub.push_messages([exc.to_message()])
        finally:
            self.subscribers.discard(sub)
            await sub.stop()

    async def request(self, sub: Subscriber, msg: Message) -> None:
        """Apply one valid message of a subscriber; raise ProtocolError if it does not fit."""
        kind = msg["type"]
        if kind in ("subscribe", "history"):
            sub.check_ask(kind, time.monotonic())
        if kind == "subscribe":
            self.subscribe(sub, msg)
            return
        if not sub.subscribed:
            raise ProtocolError(f"{kind}: send a subscribe first", code="not_subscribed")
        if sub.identity is not None:
            sub.identity.check(kind)
        wall = time.time()
        out: commands.Broadcast = None
        if kind in ("ack", "snooze"):
            out = await commands.flag_action(self.book, self.calls, sub, msg, wall)
        elif kind == "note":
            out = await commands.note(self.calls, self.store, sub, msg, wall)
        elif kind == "action":
            out = await commands.action(self.calls, self.producers, sub, msg, wall)
            self.counts["controls"] += 1
        elif kind == "history":
            sub.push_messages([await commands.history(self.calls, self.store, sub, msg)])
        if out is not None:
            team, message = out
            self.broadcast(team, message, message["call"])
            if self.store is not None:  # who did what, from where: the audit trail
                self.store.put(partial(
                    audit, who=sub.identity, user=sub.user, address=sub.address, what=kind,
                    call=message.get("call"), flag=msg.get("flag"), at=wall,
                    detail={k: v for k, v in msg.items() if k not in ("type", "flag", "call")}))

    def subscribe(self, sub: Subscriber, msg: Message) -> None:
        """(Re)subscribe: new teams, detail and focus, answered by a snapshot."""
        self.flush()  # what is queued is already in the snapshot below
        first = not sub.subscribed
        teams = msg.get("teams")
        refused: list[Message] = []
        who = sub.identity
        if who is not None and who.teams is not None:  # the hub holds the user's teams
            if teams is None:
                teams = sorted(who.teams)
            elif outside := sorted(set(teams) - who.teams):
                refused.append(ProtocolError(
                    f"subscribe.teams: {', '.join(map(repr, outside))} not visible to "
                    f"{who.user}; subscribed to the rest", code="not_visible").to_message())
                teams = [team for team in teams if team in who.teams]
        sub.teams = None if teams is None else frozenset(teams)
        sub.detail = msg.get("detail", "samples")
        focused = sub.focus
        sub.focus = frozenset(msg.get("focus", ()))
        if who is None:  # with authentication, `by` is the user the token names
            sub.user = msg.get("user", sub.user)
        sub.batch = msg.get("batch", False)
        sub.subscribed = True
        self.subscribers.add(sub)
        out = [self.hello(who)] if first else []
        out += [*refused, self.snapshot(sub), *self.traces_for(sub, focused)]
        if sub.batch:  # a client that takes floorwatch's extensions (docs/protocol.md)
            out.append(self.hub_status())
        sub.push_messages(out)

    def traces_for(self, sub: Subscriber, focused: frozenset[str]) -> list[Message]:
        """`trace` messages for the calls this subscription newly focuses (visible, live),
        so a detail view plots the last minutes at once; live samples follow them."""
        out = []
        for call_id in sorted(sub.focus - focused):
            call = self.calls.get(call_id)
            if call is not None and sub.can_see(call.state.team):
                out.append(call.trace.message(call_id, call.state.snapshot()))
        return out

    def hello(self, who: Identity | None = None) -> Message:
        out: Message = {"type": "hello", "server": SERVER_NAME, "protocol": PROTOCOL_VERSION,
                        "t": time.time()}
        if who is not None:
            out.update(who.hello_fields())
        return out

    # --- housekeeping -------------------------------------------------------------

    def advance_quiet_calls(self, now: float) -> None:
        """Move quiet on-hold calls' event time on by the wall time since their last message.

        Their call_updates go on (a board's hold timer keeps running), and a flag this
        raises says in its evidence that the hub's clock, not the producer, timed it.
        """
        for call in list(self.calls):
            state = call.state
            quiet = call.quiet_for(now)
            if state.on_hold and quiet >= self.quiet_s:
                for flag in self.engine.advance(state.id, call.seen_t + quiet):
                    if flag.state == "raised":
                        flag = replace(
                            flag, evidence=f"{flag.evidence}; timed by the hub's clock: no "
                            f"message from the call's producer for {quiet:.0f} s",
                            values={**flag.values, "quiet_s": round(quiet, 1)})
                    self._flag(flag, state)
                self.calls.changed(call)

    def end_orphans(self, now: float) -> None:
        """End calls whose producer is gone and that have been silent for `orphan_s`.

        Without this a producer that dies mid-call leaves its calls on every board
        for ever. The call ends at its last event time plus the silence, reason
        "producer gone", exactly as if the producer had sent that `call_end`.
        Nothing is scanned until a producer has gone: looking at all 5,000 calls
        four times a second held the event loop ~3 ms each time.
        """
        if not self._orphans_possible:
            return
        orphans = [c for c in self.calls if c.owner not in self.producers]
        self._orphans_possible = bool(orphans)
        for call in orphans:
            if call.quiet_for(now) >= self.orphan_s:
                self._end_quiet(call, now, "producer gone")
                self.counts["orphans_ended"] += 1

    def end_idle(self, now: float) -> None:
        """End calls silent for `idle_call_s` though their producer is connected: a
        producer that forgets a call_end must not keep it (and its memory) for ever.
        Producers send samples through holds, so a silent call is a dead one."""
        for call in [c for c in self.calls if c.quiet_for(now) >= self.idle_call_s]:
            self._end_quiet(call, now, f"no message for {self.idle_call_s:.0f} s")
            self.counts["idle_ended"] += 1

    def _end_quiet(self, call: HubCall, now: float, reason: str) -> None:
        """End `call` as if its producer had sent the call_end, at its last event time
        plus the silence."""
        end = {"type": "call_end", "call": call.state.id,
               "t": call.seen_t + call.quiet_for(now), "reason": reason}
        self.ingest(end, call.owner, now)  # in its producer's name

    def queue_call_updates(self, slot: int) -> None:
        """call_updates for one slot of changed calls, for summary subscribers.

        Each slot comes round once a second: at most one update per call per second.
        """
        changed = self.calls.take_changed(slot)
        summary = [s for s in self.subscribers if s.detail == "summary"]
        if not summary:
            return
        every = any(s.teams is None for s in summary)
        teams = set().union(*(s.teams or () for s in summary))
        for call_id in changed:
            call = self.calls.get(call_id)
            if call is not None and (every or call.state.team in teams):
                update = {"type": "call_update", **self.call_state(call)}
                self._tick(call.state.team).add(UPDATE, call_id, Encoded(update))

    def expire_snoozes(self, wall: float) -> None:
        for flag in self.book.expire_snoozes(wall):
            self.broadcast(flag["team"], flag, flag["call"])

    async def housekeeping(self) -> None:
        """Timers that run on wall time: quiet holds, snoozes, call_updates, slow subscribers."""
        step = 0
        while True:
            await asyncio.sleep(HOUSEKEEPING_S)
            step += 1
            try:
                self._housekeep(step)
            except Exception:  # a bug must not stop the timers for good: say it, go on
                self.errors["internal"] += 1
                logging.getLogger("floorwatch.hub").exception("housekeeping step failed")

    def _housekeep(self, step: int) -> None:
        now = time.monotonic()
        self.queue_call_updates(step % UPDATE_SLOTS)
        if step % 5 == 0:
            self.advance_quiet_calls(now)
            self.end_orphans(now)
            self.expire_snoozes(time.time())
            for sub in list(self.subscribers):
                sub.check_behind(now)
            for sub in over_budget(self.subscribers, self.max_total_bytes):
                sub.close_with(f"subscriber too slow: {sub.pending_bytes} bytes waiting "
                               f"while the hub's budget for all is {self.max_total_bytes}")
        if step % IDLE_EVERY == 0:
            self.end_idle(now)
        self._schedule_flush()

    # --- HTTP -----------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "server": SERVER_NAME,
            "protocol": PROTOCOL_VERSION,
            "uptime_s": round(time.time() - self.started, 1),
            "connections": {"producers": len(self.producers),
                            "subscribers": len(self.subscribers)},
            "calls": len(self.calls),
            "open_flags": len(self.book),
            "counts": {"messages": self.messages, **self.counts},
            "errors": dict(self.errors),
            "errors_total": sum(self.errors.values()),
            "slow_subscribers_closed": self.closed_slow,
            "coalesced": sum(s.coalesced for s in self.subscribers),
        }

    async def process_request(self, connection: ServerConnection,
                              request: Request) -> Response | None:
        """Before the upgrade: health, the path, then who may connect (`Gate`)."""
        path = request.path.split("?", 1)[0]
        if path == "/healthz":  # counts only, no call data
            body = json.dumps(self.health()).encode()
            headers = Headers([("Content-Type", "application/json"),
                               ("Content-Length", str(len(body)))])
            return Response(200, "OK", headers, body)
        if path not in PATH_ROLES:
            return connection.respond(404, "floorwatch hub: use /publish, /subscribe or /healthz\n")
        return await self.gate.admit(connection, request, path, self.errors)

    async def handler(self, ws: ServerConnection) -> None:
        path = ws.request.path.split("?", 1)[0] if ws.request else ""
        who, address = self.gate.admitted(ws)
        try:
            with contextlib.suppress(ConnectionClosed):
                if path == "/publish":
                    await self.producer(ws, who)
                else:
                    await self.subscriber(ws, who, address)
        finally:
            self.gate.release(address)


@contextlib.asynccontextmanager
async def running_hub(
    hub: Hub, host: str = "127.0.0.1", port: int = 0, sock: socket.socket | None = None,
    tls: ssl.SSLContext | None = None,
) -> AsyncIterator[Server]:
    """Serve `hub` until the block exits; yields the websockets Server (port 0 = ephemeral).

    `sock` serves on an already bound and listening socket instead of host/port; `tls`
    serves wss:// with that context.
    """
    where: dict[str, Any] = {"sock": sock} if sock is not None else {"host": host, "port": port}
    async with serve(hub.handler, process_request=hub.process_request, max_size=HARD_MAX_SIZE,
                     max_queue=64, write_limit=2**18, compression=None, ssl=tls,
                     **where) as server:
        keeper = asyncio.get_running_loop().create_task(hub.housekeeping())
        try:
            yield server
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            hub.flush()


def server_url(server: Server, path: str = "", tls: bool = False) -> str:
    host, port = next(iter(server.sockets)).getsockname()[:2]
    return f"{'wss' if tls else 'ws'}://{host}:{port}{path}"
