"""The board's need order over thousands of live calls, kept sorted as they change.

feeds.floor.model marks a call `moved` when its place (feeds.floor.view.need_key: its open
flags) changes, or when it comes or goes; `order` then moves only those entries, so
a flag on one call of 5,000 costs a bisect and an insert, not a sort of them all.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Mapping, Sequence

from feeds.floor.call import LiveCall
from feeds.floor.view import AWAITING, CALM, NeedKey


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

    def calm_from(self) -> int:
        """Where the calm calls (no open flag that counts) begin in the last `order`."""
        return bisect_left(self._sorted, (CALM,))


def filtered(calls: Mapping[str, LiveCall], teams: frozenset[str], kinds: frozenset[str],
             needle: str, by_agent: bool) -> tuple[list[str], int]:
    """The calls on any of `teams`, with an open flag of any of `kinds`, with `needle`
    (case-folded) in agent, name, team, queue or call id; by need (or by agent name), and
    where the calm ones begin in that order."""
    keyed = []
    for call_id, entry in calls.items():
        f = entry.fields
        if teams and f["team"] not in teams:
            continue
        if kinds and not any(flag.kind in kinds for flag in entry.open()):
            continue
        name = f.get("agent_name") or f["agent"] or AWAITING
        if needle and needle not in (
            f"{f['agent'] or ''} {name} {f['team']} {f.get('queue') or ''} {call_id}"
        ).casefold():
            continue
        key = (name.casefold(), call_id) if by_agent else entry.need(call_id)
        keyed.append((key, call_id))
    keyed.sort()
    calm_from = len(keyed) if by_agent else sum(1 for key, _ in keyed if key[0] < CALM)
    return [call_id for _, call_id in keyed], calm_from


def keep_places(previous: Sequence[str], ranked: Sequence[str], calm_from: int) -> list[str]:
    """`ranked` (need order) as the board lays it out: the calls with a flag first, in
    need order; the calm ones after them, each on the line it had in `previous` where it
    can. The order of calm calls tells a supervisor nothing, and a row that moves rewrites
    its line on every terminal watching: so a call that ends leaves its line to one other
    call (one line drawn again), not to everything below it.

    Calm calls that cannot keep their line (it is gone, or taken by a flagged call) and
    new ones fill the free lines from the top: the displaced in their old order, then
    the new in need order (oldest first)."""
    size = len(ranked)
    out: list[str | None] = [*ranked[:calm_from], *([None] * (size - calm_from))]
    was = {call: i for i, call in enumerate(previous)}
    moved: list[tuple[int, str]] = []
    for call in ranked[calm_from:]:
        i = was.get(call)
        if i is not None and calm_from <= i < size and out[i] is None:
            out[i] = call
        else:
            moved.append((size + len(moved) if i is None else i, call))
    moved.sort()
    free = (i for i in range(calm_from, size) if out[i] is None)
    for i, (_, call) in zip(free, moved, strict=False):
        out[i] = call
    return out  # type: ignore[return-value]  # every line is filled: as many calls as lines
