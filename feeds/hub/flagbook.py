"""A flag's whole life at the hub, in one class: what the engine says and what supervisors do.

The engine raises and clears flags from the messages alone (feeds.core.engine);
supervisors ack and snooze them. `FlagBook` joins the two and is the only code
that changes a flag's hub-side state:

    raised ──ack──▶ acked                  (by, at, optional note)
    raised ──snooze──▶ snoozed ──until passes──▶ raised
    acked / snoozed ──the engine raises again──▶ keeps the ack or the snooze
    any ──the engine clears it──▶ cleared   (leaves the book)

A clear is the engine's: the condition no longer holds, or the call ended. It
carries no `by`: nobody cleared it, and the ack before it stays in the store's
`flag_actions`.

Every transition is written to the store (an engine transition with `put_flag`; a
supervisor's with `supervisor_flag`, which also adds a `flag_actions` row) and
returned as the `flag` message to broadcast. Flags open when the hub last stopped
are read back from the store, so an ack survives a restart: the engine's first
transition of such a flag takes the stored supervisor state.
"""

from __future__ import annotations

from collections.abc import Iterator

from feeds.core.flags import Flag
from feeds.core.protocol import Message
from feeds.hub.store import Store

#: What a supervisor adds to a flag; kept through the engine's later transitions.
SUPERVISOR_KEYS = ("by", "note", "at")


class FlagBook:
    """Open flags by id, each as its `flag` message with the hub's fields (team, agent,
    by, at, note, until)."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store
        self._open: dict[str, Message] = {}
        self._restored: dict[str, Message] = store.open_flags() if store else {}

    def __len__(self) -> int:
        return len(self._open)

    def __iter__(self) -> Iterator[Message]:
        return iter(self._open.values())

    def get(self, flag_id: str) -> Message | None:
        """The open flag `flag_id`, or None (never open, or cleared)."""
        return self._open.get(flag_id)

    # --- from the engine ----------------------------------------------------------

    def transition(self, flag: Flag, team: str, agent: str, wall: float,
                   started: float) -> Message:
        """The engine raised, re-raised or cleared `flag` on a call of `team` / `agent`
        that began at `started` (which call under its id the store files it with)."""
        msg = flag.to_message()
        msg["team"] = team
        msg["agent"] = agent
        previous = self._open.get(flag.id) or self._restored.pop(flag.id, None)
        if flag.state == "raised" and previous and previous["state"] in ("acked", "snoozed"):
            for key in ("state", "until", *SUPERVISOR_KEYS):
                if key in previous:
                    msg[key] = previous[key]
            if msg["state"] == "snoozed" and msg["until"] <= wall:
                msg["state"] = "raised"
        elif previous and flag.state != "cleared":
            for key in SUPERVISOR_KEYS:
                if key in previous:
                    msg[key] = previous[key]
        if msg["state"] == "cleared":
            self._open.pop(flag.id, None)
        else:
            self._open[flag.id] = msg
        if self.store is not None:
            self.store.put_flag(msg, started)
        return msg

    # --- from supervisors -----------------------------------------------------------

    async def ack(self, flag: Message, by: str | None, note: str | None, t: float,
                  wall: float) -> Message | None:
        """`by` is on it. Returns the message to broadcast, or None if the flag cleared
        while the store was writing (its clear has gone out instead)."""
        flag.pop("until", None)
        if note is not None:
            flag["note"] = note
        return await self._supervised(flag, "acked", by, t, wall)

    async def snooze(self, flag: Message, by: str | None, seconds: float, t: float,
                     wall: float) -> Message | None:
        """Hide `flag` until `seconds` of wall time have passed; as `ack` otherwise."""
        flag["until"] = wall + seconds
        return await self._supervised(flag, "snoozed", by, t, wall)

    async def _supervised(self, flag: Message, state: str, by: str | None, t: float,
                          wall: float) -> Message | None:
        flag["state"] = state
        flag["t"] = t
        flag["by"] = by
        flag["at"] = wall
        if self.store is not None:
            await self.store.supervisor_flag(dict(flag), wall)
        return dict(flag) if self._open.get(flag["id"]) is flag else None

    def expire_snoozes(self, wall: float) -> list[Message]:
        """Snoozes whose time has come are raised again: their messages to broadcast."""
        out = []
        for flag in self._open.values():
            if flag["state"] == "snoozed" and flag["until"] <= wall:
                flag["state"] = "raised"
                del flag["until"]
                if self.store is not None:
                    self.store.put_flag(dict(flag))
                out.append(dict(flag))
        return out
