"""What a supervisor's messages do at the hub: subscribe, ack, snooze, note, action, history.

feeds.hub.server reads each subscriber's frames and hands every valid message to `command`.
A handler first checks that the call or flag is inside the subscription (else a
ProtocolError naming it), commits what must survive a restart to the store, and then
broadcasts the result to every subscriber of the call's team, the sender included.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from feeds.core.protocol import Message, ProtocolError, encode_like
from feeds.hub.fanout import Subscriber

if TYPE_CHECKING:
    from feeds.hub.server import Hub


async def command(hub: Hub, sub: Subscriber, msg: Message) -> None:
    """Apply one valid message of a subscriber; raise ProtocolError if it does not fit."""
    kind = msg["type"]
    if kind == "subscribe":
        hub.flush()  # what is queued is already in the snapshot below
        first = not sub.subscribed
        teams = msg.get("teams")
        sub.teams = None if teams is None else frozenset(teams)
        sub.detail = msg.get("detail", "samples")
        focused = sub.focus
        sub.focus = frozenset(msg.get("focus", ()))
        sub.user = msg.get("user", sub.user)
        sub.batch = msg.get("batch", False)
        sub.subscribed = True
        hub.subscribers.add(sub)
        out = [hub.hello()] if first else []
        sub.push_messages([*out, hub.snapshot(sub), *hub.traces_for(sub, focused)])
        return
    if not sub.subscribed:
        raise ProtocolError(f"{kind}: send a subscribe first", code="not_subscribed")
    if kind in ("ack", "snooze"):
        await _flag_action(hub, sub, msg)
    elif kind == "note":
        await _note(hub, sub, msg)
    elif kind == "action":
        await _action(hub, sub, msg)
    elif kind == "history":
        await _history(hub, sub, msg)


async def _team_of_call(hub: Hub, where: str, sub: Subscriber, call_id: str) -> str:
    call = hub.engine.calls.get(call_id)
    if call is not None:
        team = call.team
    else:
        ended = await hub.store.ended_call(call_id) if hub.store else None
        if ended is None:
            raise ProtocolError(f"{where}.call: unknown call {call_id!r}", code="unknown_call")
        team = ended["team"]
    if not hub.visible(sub, team):
        raise ProtocolError(
            f"{where}.call: call {call_id!r} is on team {team!r}, outside this subscription",
            code="not_visible")
    return team


async def _flag_action(hub: Hub, sub: Subscriber, msg: Message) -> None:
    kind = msg["type"]
    flag = hub.flags.get(msg["flag"])
    if flag is None:
        raise ProtocolError(f"{kind}.flag: no open flag {msg['flag']!r}", code="unknown_flag")
    if not hub.visible(sub, flag["team"]):
        raise ProtocolError(
            f"{kind}.flag: flag {msg['flag']!r} is on team {flag['team']!r}, "
            "outside this subscription", code="not_visible")
    now = time.time()
    call = hub.engine.calls.get(flag["call"])
    flag["t"] = call.t if call is not None else flag["t"]
    flag["by"] = sub.user
    flag["at"] = now
    if kind == "ack":
        flag["state"] = "acked"
        flag.pop("until", None)
        if "note" in msg:
            flag["note"] = msg["note"]
    else:
        flag["state"] = "snoozed"
        flag["until"] = now + msg["seconds"]
    if hub.store is not None:
        await hub.store.supervisor_flag(dict(flag), now)
    if hub.flags.get(flag["id"]) is flag:
        hub.broadcast(flag["team"], dict(flag), flag["call"])


async def _note(hub: Hub, sub: Subscriber, msg: Message) -> None:
    team = await _team_of_call(hub, "note", sub, msg["call"])
    note = {"type": "note", "call": msg["call"], "text": msg["text"], "by": sub.user,
            "t": time.time()}
    if hub.store is not None:
        await hub.store.add_note(note, team)
    hub.broadcast(team, note, msg["call"])


async def _action(hub: Hub, sub: Subscriber, msg: Message) -> None:
    call_id = msg["call"]
    if call_id not in hub.engine.calls:
        raise ProtocolError(f"action.call: no live call {call_id!r}", code="unknown_call")
    team = await _team_of_call(hub, "action", sub, call_id)
    control = {"type": "control", "call": call_id, "action": msg["action"],
               "by": sub.user, "t": time.time()}
    producer = hub.owner.get(call_id)
    if producer is None or producer not in hub.producers:
        raise ProtocolError(
            f"action.call: the producer of call {call_id!r} is not connected",
            code="no_producer")
    with contextlib.suppress(Exception):
        await producer.send(encode_like(control, hub.producers[producer]))
    hub.counts["controls"] += 1
    hub.broadcast(team, control, call_id)


async def _history(hub: Hub, sub: Subscriber, msg: Message) -> None:
    teams = msg.get("teams")
    if sub.teams is not None:
        teams = sorted(sub.teams if teams is None else sub.teams & set(teams))
    live = [c.summary() for c in hub.engine.calls.values()
            if teams is None or c.team in teams]
    calls = [] if hub.store is None else await hub.store.history(
        msg.get("since"), teams, msg.get("limit"), live)
    sub.push_messages([{"type": "history", "calls": calls}])
