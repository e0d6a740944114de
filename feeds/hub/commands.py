"""What a supervisor's requests do at the hub: ack, snooze, note, action, history.

feeds.hub.server reads each subscriber's frames and hands every valid request here
with the objects it acts on (the flag book, the live calls, the store, the
producers). A handler first checks that the call or flag is inside the
subscription (else a ProtocolError naming it), commits what must survive a
restart, and returns what the server broadcasts to every subscriber of the
call's team, the sender included. None of them reads a clock: wall time is
passed in.
"""

from __future__ import annotations

import contextlib

from websockets.asyncio.server import ServerConnection

from feeds.core.protocol import Message, ProtocolError, encode_like
from feeds.hub.calls import CallTable
from feeds.hub.fanout import Subscriber
from feeds.hub.flagbook import FlagBook
from feeds.hub.store import Store

#: What a command gives the server to broadcast: (team, message), or None.
Broadcast = tuple[str, Message] | None


def _outside(where: str, what: str, team: str) -> ProtocolError:
    return ProtocolError(f"{where}: {what} is on team {team!r}, outside this subscription",
                         code="not_visible")


async def flag_action(book: FlagBook, calls: CallTable, sub: Subscriber, msg: Message,
                      wall: float) -> Broadcast:
    """`ack` or `snooze` an open flag the subscription can see."""
    kind = msg["type"]
    flag = book.get(msg["flag"])
    if flag is None:
        raise ProtocolError(f"{kind}.flag: no open flag {msg['flag']!r}", code="unknown_flag")
    if not sub.can_see(flag["team"]):
        raise _outside(f"{kind}.flag", f"flag {msg['flag']!r}", flag["team"])
    call = calls.get(flag["call"])
    t = call.state.t if call is not None else flag["t"]
    if kind == "ack":
        out = await book.ack(flag, sub.user, msg.get("note"), t, wall)
    else:
        out = await book.snooze(flag, sub.user, msg["seconds"], t, wall)
    return None if out is None else (out["team"], out)


async def _call_of_id(calls: CallTable, store: Store | None, where: str, sub: Subscriber,
                      call_id: str) -> tuple[str, float]:
    """The team and start of the call under `call_id`: the live one, else the last one
    that ended (an id may be reused; a note is on the call a supervisor can see now)."""
    call = calls.get(call_id)
    if call is not None:
        team, started = call.state.team, call.state.started
    else:
        ended = await store.ended_call(call_id) if store else None
        if ended is None:
            raise ProtocolError(f"{where}.call: unknown call {call_id!r}", code="unknown_call")
        team, started = ended["team"], ended["started"]
    if not sub.can_see(team):
        raise _outside(f"{where}.call", f"call {call_id!r}", team)
    return team, started


async def note(calls: CallTable, store: Store | None, sub: Subscriber, msg: Message,
               wall: float) -> Broadcast:
    """A coaching note on a live or ended call the subscription can see."""
    team, started = await _call_of_id(calls, store, "note", sub, msg["call"])
    out = {"type": "note", "call": msg["call"], "text": msg["text"], "by": sub.user, "t": wall}
    if store is not None:
        await store.add_note(out, team, started)
    return team, out


async def action(calls: CallTable, producers: dict[ServerConnection, bool], sub: Subscriber,
                 msg: Message, wall: float) -> Broadcast:
    """listen / whisper / barge on a live call: a `control` message to its producer."""
    call_id = msg["call"]
    call = calls.get(call_id)
    if call is None:
        raise ProtocolError(f"action.call: no live call {call_id!r}", code="unknown_call")
    team = call.state.team
    if not sub.can_see(team):
        raise _outside("action.call", f"call {call_id!r}", team)
    control = {"type": "control", "call": call_id, "action": msg["action"],
               "by": sub.user, "t": wall}
    producer = call.owner
    if producer is None or producer not in producers:
        raise ProtocolError(
            f"action.call: the producer of call {call_id!r} is not connected",
            code="no_producer")
    with contextlib.suppress(Exception):
        await producer.send(encode_like(control, producers[producer]))
    return team, control


async def history(calls: CallTable, store: Store | None, sub: Subscriber,
                  msg: Message) -> Message:
    """Ended calls (and the live ones' summaries) of the teams asked for and visible."""
    teams = msg.get("teams")
    if sub.teams is not None:
        teams = sorted(sub.teams if teams is None else sub.teams & set(teams))
    live = [c.state.summary() for c in calls if teams is None or c.state.team in teams]
    found = [] if store is None else await store.history(
        msg.get("since"), teams, msg.get("limit"), live)
    return {"type": "history", "calls": found}
