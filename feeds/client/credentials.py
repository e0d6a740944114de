"""A client's token: where it comes from, how it is sent, what a refusal means.

The token is the first of: the command's `--token`, `$FLOORWATCH_TOKEN`, and the
token a hub on this machine wrote for this user (`feeds.core.paths.local_token_path`),
so a hub, `simulate` and `watch` on one machine need no set-up. It goes on the
upgrade request as `Authorization: Bearer <token>` (docs/security.md).
"""

from __future__ import annotations

import os
import ssl

from websockets.exceptions import InvalidStatus

from feeds.core.paths import local_token_path


class HubRefused(Exception):
    """The hub refused the connection (401 or 403): retrying would not help."""


def find_token(explicit: str | None = None) -> str | None:
    if explicit:
        return explicit
    if env := os.environ.get("FLOORWATCH_TOKEN"):
        return env
    try:
        return local_token_path().read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def tls_context(url: str, ca: str | None) -> ssl.SSLContext | None:
    """For a wss:// hub: the system's trusted certificates, or only `ca` (a file of
    PEM certificates: a floor's own authority, or a hub's self-signed certificate;
    default $FLOORWATCH_CA, which is how `ssh` and `web` hand it to their boards)."""
    if not url.startswith("wss://"):
        return None
    return ssl.create_default_context(cafile=ca or os.environ.get("FLOORWATCH_CA") or None)


def auth_headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def refusal(exc: Exception, url: str) -> HubRefused | None:
    """A HubRefused naming why, if `exc` is the hub saying no to who we are."""
    if isinstance(exc, InvalidStatus) and exc.response.status_code in (401, 403):
        status = exc.response.status_code
        said = exc.response.body.decode("utf-8", "replace").strip() if exc.response.body else ""
        said = said.removeprefix("floorwatch hub: ") or (
            "a valid token is required" if status == 401 else "not allowed")
        hint = "; give --token TOKEN or set FLOORWATCH_TOKEN" if status == 401 else ""
        return HubRefused(f"HTTP {status} from {url}: {said}{hint}")
    return None
