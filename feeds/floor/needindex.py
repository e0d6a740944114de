"""The board's need order over thousands of live calls, kept sorted as they change.

feeds.floor.model marks a call `moved` when its place (feeds.floor.view.need_key: its open
flags) changes, or when it comes or goes; `order` then moves only those entries, so
a flag on one call of 5,000 costs a bisect and an insert, not a sort of them all.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Mapping

from feeds.floor.call import LiveCall
from feeds.floor.view import NeedKey


class NeedIndex:
    """Live call ids sorted by need, updated incrementally."""

    def __init__(self) -> None:
        self._sorted: list[NeedKey] = []
        self._of: dict[str, NeedKey] = {}
        self._moved: set[str] | None = None  # None: rebuild from scratch

    def moved(self, call_id: str) -> None:
        if self._moved is not None:
            self._moved.add(call_id)

    def reset(self) -> None:
        """Rebuild from scratch on the next `order` (the whole floor was replaced)."""
        self._moved = None

    def order(self, calls: Mapping[str, LiveCall]) -> list[str]:
        """Every call of `calls` (the live ones, all marked as they changed), by need."""
        moved = self._moved
        if moved is None:
            self._of = {call_id: entry.need(call_id) for call_id, entry in calls.items()}
            self._sorted = sorted(self._of.values())
        else:
            ordered, index = self._sorted, self._of
            for call_id in moved:
                old = index.pop(call_id, None)
                if old is not None:
                    del ordered[bisect_left(ordered, old)]
                entry = calls.get(call_id)
                if entry is not None:
                    key = index[call_id] = entry.need(call_id)
                    insort(ordered, key)
        self._moved = set()
        return [key[3] for key in self._sorted]
