"""A live call at the hub: the engine's state plus what only the hub knows about it.

The engine (feeds.core.engine) knows a call from its messages alone. The hub also
needs to know who publishes it (only that producer may), when its last message came
(event time and wall time, for quiet holds and orphans), its recent levels in
1-second bins (feeds.core.trace, for call_updates and a detail view's backfill) and
whether it changed since its last call_update. `HubCall` is that record, one per
live call; `CallTable` holds them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from feeds.core.engine import CallState
from feeds.core.trace import Trace

#: call_updates go out in this many steps a second, each for the calls hashed to it.
UPDATE_SLOTS = 20


class HubCall:
    """One live call: its engine state, its producer, when it was last heard, its trace."""

    __slots__ = ("owner", "seen_at", "seen_t", "state", "trace")

    def __init__(self, state: CallState, owner: Any, now: float) -> None:
        self.state = state
        self.owner = owner  # the producer's connection; None for calls the hub ended itself
        self.seen_t = state.t  # event time of the last message
        self.seen_at = now  # monotonic wall time of the last message
        self.trace = Trace()

    def quiet_for(self, now: float) -> float:
        """Wall seconds since the call's last message."""
        return now - self.seen_at


class CallTable:
    """The hub's live calls by id, and which changed since their last call_update.

    Changed calls sit in UPDATE_SLOTS sets by hash, so each housekeeping step
    updates one slot and no step does all calls.
    """

    def __init__(self) -> None:
        self._calls: dict[str, HubCall] = {}
        self._dirty: list[set[str]] = [set() for _ in range(UPDATE_SLOTS)]
        self._owned: Counter[Any] = Counter()  # live calls per producer connection

    def __len__(self) -> int:
        return len(self._calls)

    def __iter__(self) -> Iterator[HubCall]:
        return iter(self._calls.values())

    def get(self, call_id: str) -> HubCall | None:
        return self._calls.get(call_id)

    def start(self, state: CallState, owner: Any, now: float) -> HubCall:
        call = self._calls[state.id] = HubCall(state, owner, now)
        self._dirty[hash(state.id) % UPDATE_SLOTS].add(state.id)
        self._owned[owner] += 1
        return call

    def owned_by(self, owner: Any) -> int:
        """Live calls `owner` publishes."""
        return self._owned[owner]

    def own(self, call: HubCall, owner: Any) -> None:
        """`owner` publishes `call` from now on (its producer reconnected)."""
        if call.owner is not owner:
            self._disown(call.owner)
            call.owner = owner
            self._owned[owner] += 1

    def _disown(self, owner: Any) -> None:
        self._owned[owner] -= 1
        if self._owned[owner] <= 0:
            del self._owned[owner]

    def heard(self, call: HubCall, t: float, now: float) -> None:
        """A message of `call` at event time `t` came in at wall time `now`."""
        call.seen_t = t
        call.seen_at = now
        self.changed(call)

    def changed(self, call: HubCall) -> None:
        """`call` changed with no message (the hub moved its clock): it gets a call_update."""
        self._dirty[hash(call.state.id) % UPDATE_SLOTS].add(call.state.id)

    def end(self, call_id: str) -> HubCall | None:
        self._dirty[hash(call_id) % UPDATE_SLOTS].discard(call_id)
        call = self._calls.pop(call_id, None)
        if call is not None:
            self._disown(call.owner)
        return call

    def take_changed(self, slot: int) -> set[str]:
        """The calls of `slot` changed since the slot was last taken."""
        changed, self._dirty[slot] = self._dirty[slot], set()
        return changed
