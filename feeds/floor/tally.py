"""The counts bar's numbers and the floor's teams, kept as calls change.

A frame used to walk every live call for them; on a 5,000-call floor whose caches are
cold under a busy feed that walk cost a few milliseconds a frame, time a key press
waited behind. The floor tells the tally which call changed; a frame reads sets.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from feeds.core.flags import KINDS
from feeds.floor.call import LiveCall
from feeds.floor.view import Counts


class Tally:
    """Which live calls are on hold or have flags, and the teams on the floor."""

    __slots__ = ("_flagged", "_held", "_teams")

    def __init__(self) -> None:
        self._held: set[str] = set()
        self._flagged: set[str] = set()  # calls with any flag: the only ones counted
        self._teams: frozenset[str] | None = frozenset()  # None: count again

    def track(self, call_id: str, entry: LiveCall, moved: bool = False) -> None:
        """The call changed; `moved` if its team may have."""
        if entry.fields.get("state") == "hold":
            self._held.add(call_id)
        else:
            self._held.discard(call_id)
        if entry.flags:
            self._flagged.add(call_id)
        if moved:
            self._teams = None

    def drop(self, call_id: str) -> None:
        """The call ended."""
        self._held.discard(call_id)
        self._flagged.discard(call_id)
        self._teams = None

    def reset(self, calls: Mapping[str, LiveCall]) -> None:
        """Start over from the whole floor (a snapshot)."""
        self._held.clear()
        self._flagged.clear()
        for call_id, entry in calls.items():
            self.track(call_id, entry)
        self._teams = None

    def teams(self, calls: Mapping[str, LiveCall]) -> frozenset[str]:
        if self._teams is None:
            self._teams = frozenset(entry.fields["team"] for entry in calls.values())
        return self._teams

    def counts(self, calls: Mapping[str, LiveCall], no_feed: int) -> Counts:
        flags = dict.fromkeys(KINDS, 0)
        for call_id in self._flagged:
            for flag in calls[call_id].open():
                flags[flag.kind] += 1
        return Counts(len(calls), len(self._held), MappingProxyType(flags), no_feed)
