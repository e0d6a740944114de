"""Seeded, realistic call floors: the demo recording, the accuracy test, benchmarks and `simulate`.

    plans = plan_floor(seed=7)                 # the floor's calls and what happens on them
    for msg in floor_messages(plans): ...      # protocol messages in event-time order
    truth = expected_episodes(plans)           # the flags the plan must raise

How calls are planned is in feeds.sim.plan, how a plan becomes
messages in feeds.sim.script, the ground truth in
feeds.sim.truth. The same seed always gives the same messages.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from typing import Any

from feeds.sim.plan import DEMO_EPOCH, CallPlan, iter_plans
from feeds.sim.script import call_messages
from feeds.sim.truth import Expected, expected_episodes

__all__ = [
    "DEMO_EPOCH",
    "CallPlan",
    "Expected",
    "expected_episodes",
    "floor_messages",
    "iter_plans",
    "plan_floor",
]


def plan_floor(
    seed: int,
    agents: int = 40,
    duration_s: float = 900.0,
    start: float = DEMO_EPOCH,
    teams: int = 4,
) -> list[CallPlan]:
    """Every call of a floor of `agents` agents in `teams` teams over `duration_s`, by start."""
    return list(iter_plans(seed, agents, duration_s, start, teams))


def floor_messages(
    plans: Iterable[CallPlan] | None = None,
    *,
    seed: int = 0,
    agents: int = 40,
    duration_s: float = 900.0,
    start: float = DEMO_EPOCH,
    teams: int = 4,
    dt: float = 0.25,
) -> Iterator[dict[str, Any]]:
    """The floor's messages merged in event-time order, produced lazily.

    Give `plans` (in order of start, as plan_floor returns them), or the floor's
    parameters to plan it on the fly. Only live calls are held in memory: a
    call's generator joins the merge when floor time reaches its start.
    """
    if not dt > 0:
        raise ValueError(f"dt: expected a number > 0, got {dt!r}")
    if plans is None:
        plans = iter_plans(seed, agents, duration_s, start, teams)
    pending = iter(plans)
    upcoming = next(pending, None)
    heap: list[tuple[float, int, dict[str, Any], Iterator[dict[str, Any]]]] = []
    order = 0
    last_start = float("-inf")
    while True:
        while upcoming is not None and (not heap or upcoming.start <= heap[0][0]):
            if upcoming.start < last_start:
                raise ValueError(f"plans: {upcoming.call} starts before the call given before it")
            last_start = upcoming.start
            messages = call_messages(upcoming, dt)
            first = next(messages)
            heapq.heappush(heap, (first["t"], order, first, messages))
            order += 1
            upcoming = next(pending, None)
        if not heap:
            return
        _, n, msg, messages = heap[0]
        yield msg
        following = next(messages, None)
        if following is None:
            heapq.heappop(heap)
        else:
            heapq.heapreplace(heap, (following["t"], n, following, messages))
