"""What the app needs from a feed: feeds.client.FeedClient has exactly this shape."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any, Protocol


class Feed(Protocol):
    """A subscription to a hub: messages in (with local `status` messages), requests out."""

    def messages(self) -> AsyncIterator[dict[str, Any]]: ...

    async def send(self, msg: dict[str, Any]) -> None: ...

    async def set_focus(self, calls: Iterable[str]) -> None: ...

    async def close(self) -> None: ...
