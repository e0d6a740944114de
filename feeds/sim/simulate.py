"""`floorwatch simulate`: a live synthetic floor published to a hub in real time.

The floor is the demo generator's (feeds.sim.generator) with event time = wall
time: calls are planned from `now - warmup_s`, the first `warmup_s` seconds
are published at once (so a demo opens on calls already in progress), the
rest as each message falls due. The floor is endless unless `duration_s`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterator

from feeds.client.publisher import Publisher, play
from feeds.core.protocol import Message
from feeds.sim.generator import floor_messages


def live_wait(t: float) -> float:
    """Seconds until event time `t` comes round on the wall clock."""
    return t - time.time()


def live_floor(
    agents: int, rate: float, seed: int, warmup_s: float, teams: int,
    duration_s: float | None = None,
) -> Iterator[Message]:
    """The generator's floor starting `warmup_s` ago, in event-time order, endless by default."""
    return floor_messages(
        seed=seed, agents=agents, start=time.time() - warmup_s, teams=teams, dt=1.0 / rate,
        duration_s=math.inf if duration_s is None else duration_s)


async def simulate(
    url: str,
    agents: int = 40,
    rate: float = 4.0,
    seed: int = 1,
    warmup_s: float = 0.0,
    teams: int = 4,
    duration_s: float | None = None,
    binary: bool = True,
    on_reply: Callable[[Message], None] | None = None,
    caught_up: asyncio.Event | None = None,
    on_problem: Callable[[str], None] | None = None,
    token: str | None = None,
    ca: str | None = None,
) -> int:
    """Publish the live floor to `url` until cancelled (or `duration_s` of floor time).

    `caught_up` is set when the warm-up has been sent and the floor runs in real time.
    """
    messages = live_floor(agents, rate, seed, warmup_s, teams, duration_s)
    async with Publisher(url, binary, on_reply, on_problem=on_problem,
                         token=token, ca=ca) as publisher:
        return await play(publisher, messages, live_wait, caught_up=caught_up)
