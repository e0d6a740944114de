"""Counting what one address does a minute: new SSH connections, failed browser sign-ins."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class PerMinute:
    """At most `limit` events a minute per address; the oldest are forgotten as they age."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}

    def full(self, address: str) -> bool:
        """Whether `address` has had its `limit` this minute (an address quiet for a
        minute is forgotten: many addresses cost memory only while they are busy)."""
        seen = self._seen.get(address)
        if seen is None:
            return False
        now = self._clock()
        while seen and now - seen[0] > 60:
            seen.popleft()
        if not seen:
            del self._seen[address]
        return len(seen) >= self.limit

    def add(self, address: str) -> None:
        self._seen.setdefault(address, deque()).append(self._clock())
