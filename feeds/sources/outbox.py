"""What a gateway has measured, on its way to the hub, whatever the hub is doing.

One task sends the queue in order through a reconnecting `Publisher` (which resends
the live calls' `call_start` to a restarted hub). While the hub is down the queue
grows to `limit` messages; past it the oldest *samples* are dropped and counted —
never a call's start or end or an event, so the board stays true about which calls
exist, only missing some seconds of levels.
"""

from __future__ import annotations

import asyncio
from collections import deque

from feeds.client.publisher import Publisher
from feeds.core.protocol import MAX_BATCH_ITEMS, Message

#: Messages per frame to the hub.
BATCH = min(2000, MAX_BATCH_ITEMS)


class Outbox:
    def __init__(self, publisher: Publisher, limit: int = 100_000) -> None:
        self.publisher = publisher
        self.limit = limit
        self.queue: deque[Message] = deque()
        self.dropped = 0
        self.sent = 0
        self._waiting = asyncio.Event()

    def put(self, messages: list[Message]) -> None:
        if not messages:
            return
        self.queue.extend(messages)
        while len(self.queue) > self.limit and self._drop_one():
            self.dropped += 1
        self._waiting.set()

    def _drop_one(self) -> bool:
        for index, msg in enumerate(self.queue):
            if msg["type"] == "sample":
                del self.queue[index]
                return True
        # Only calls' starts, ends and events: kept up to twice the limit, then the oldest.
        if len(self.queue) <= 2 * self.limit:
            return False
        self.queue.popleft()
        return True

    async def run(self) -> None:
        """Send forever (cancel to stop)."""
        while True:
            await self._waiting.wait()
            while self.queue:
                batch = [self.queue.popleft() for _ in range(min(BATCH, len(self.queue)))]
                await self.publisher.send(batch)
                self.sent += len(batch)
            self._waiting.clear()

    async def drain(self, timeout: float) -> bool:
        """Wait up to `timeout` s for the queue to empty (on shutdown); True if it did."""
        try:
            async with asyncio.timeout(timeout):
                while self.queue:
                    await asyncio.sleep(0.05)
        except TimeoutError:
            return False
        return True
