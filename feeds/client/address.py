"""A hub's address as a user types it, checked before anything connects to it.

`ws://host:port` is completed with the path the command needs; a wrong path (a
supervisor pointed at `/publish`), a port that is not a number or a scheme that is not
`ws`/`wss` is an error naming what is wrong, rather than a client that keeps
"connecting" for ever or a board that looks healthy with nothing on it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

PATHS = ("/publish", "/subscribe")


def hub_url(url: str, path: str) -> str:
    """`url` with `path` (`/publish` or `/subscribe`); ValueError naming the problem."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"hub address: expected ws://host:port, got {url!r}")
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        raise ValueError(f"hub address {url!r}: the port is not a number from 0 to 65535"
                         ) from None
    if parts.path in ("", "/"):
        return url.rstrip("/") + path
    if parts.path != path:
        raise ValueError(f"hub address {url!r}: this command uses the hub's {path}, "
                         f"not {parts.path}")
    return url
