"""Who may do what at the hub: roles, tokens, the users' teams, masking (docs/security.md).

A hub that requires authentication (the default) admits a WebSocket upgrade only with
`Authorization: Bearer <token>` of a known user whose role may use the path: 401 for a
missing, unknown or revoked token, 403 for the wrong role or a browser page of another
origin, 429 for an address with too many connections. The user's identity then rides
with the connection: the hub enforces their teams on everything it sends and takes,
their role on every request, and writes `by` from it, never from the client.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import sqlite3
import time
import weakref
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from feeds.core.protocol import ProtocolError
from feeds.core.roles import ROLES, may, needs
from feeds.hub.store import Store

#: Who may open each path.
PATH_ROLES = {
    "/publish": frozenset({"producer", "admin"}),
    "/subscribe": frozenset({"viewer", "lead", "supervisor", "admin"}),
}
#: Roles that see customers' numbers masked.
MASKED_ROLES = frozenset({"viewer", "lead"})
MASK = "•"


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated user: the token's owner, their role and teams (None: all)."""

    user: str
    role: str
    teams: frozenset[str] | None

    @property
    def masked(self) -> bool:
        return self.role in MASKED_ROLES

    def sees(self, team: str) -> bool:
        return self.teams is None or team in self.teams

    def check(self, request: str) -> None:
        """Raise `forbidden` if this role may not send `request`."""
        if not may(self.role, request):
            raise ProtocolError(
                f"{request}: the {self.role} role may not {request} (needs {needs(request)})",
                code="forbidden")

    def check_publish(self, msg: Mapping[str, Any]) -> None:
        """Raise `not_visible` for a producer message that puts a call on a team outside
        this user's (a call_start, or a transfer to another team)."""
        team = msg.get("team")
        if self.teams is None or not isinstance(team, str) or team in self.teams:
            return
        if msg["type"] == "call_start" or msg.get("event") == "transfer":
            where = msg["type"] if msg["type"] == "call_start" else "event(transfer)"
            raise ProtocolError(f"{where}.team: team {team!r} is outside {self.user}'s teams",
                                code="not_visible")

    def hello_fields(self) -> dict[str, Any]:
        return {"user": self.user, "role": self.role,
                "teams": None if self.teams is None else sorted(self.teams)}


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or a name) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def mask_number(number: str) -> str:
    """All but the last four characters replaced by •."""
    return MASK * max(0, len(number) - 4) + number[-4:]


def masked(msg: Mapping[str, Any]) -> dict[str, Any]:
    """`msg` with every `customer` in it masked (top level, `calls`, `items`)."""
    out = dict(msg)
    if isinstance(out.get("customer"), str):
        out["customer"] = mask_number(out["customer"])
    for key in ("calls", "items"):
        if isinstance(out.get(key), list):
            out[key] = [masked(item) if isinstance(item, Mapping) else item
                        for item in out[key]]
    return out


def new_token() -> str:
    return "fw_" + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Tokens are 256 random bits: a plain SHA-256 is a safe, fast lookup key."""
    return hashlib.sha256(token.encode()).hexdigest()


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


# --- users (each function runs on the store's thread, or on a plain connection) ------


def check_user(name: str, role: str) -> None:
    if not name or len(name) > 64 or not name.isprintable() or name != name.strip():
        raise ValueError(f"user name {name!r}: 1 to 64 printable characters, no spaces "
                         "around them")
    if role not in ROLES:
        raise ValueError(f"role {role!r}: one of {', '.join(ROLES)}")


def put_user(db: sqlite3.Connection, name: str, role: str, teams: Iterable[str] | None,
             token: str) -> None:
    """Create or replace `name`; the token is kept only as its hash."""
    check_user(name, role)
    team_list = None if teams is None or role == "admin" else json.dumps(sorted(set(teams)))
    db.execute("INSERT OR REPLACE INTO users (name, role, teams, token_hash, created) "
               "VALUES (?, ?, ?, ?, ?)", (name, role, team_list, token_hash(token), time.time()))


def remove_user(db: sqlite3.Connection, name: str) -> bool:
    """Remove `name`: their token, SSH keys and open sessions stop working."""
    db.execute("DELETE FROM ssh_keys WHERE user = ?", (name,))
    db.execute("DELETE FROM sessions WHERE user = ?", (name,))
    return db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount > 0


def add_key(db: sqlite3.Connection, name: str, key: str, fingerprint: str) -> None:
    """Let `name` in over SSH with `key` (OpenSSH "type base64"); a key has one user."""
    if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is None:
        raise ValueError(f"no user {name!r} (add them first: floorwatch user add)")
    db.execute("INSERT OR REPLACE INTO ssh_keys (key, user, fingerprint, added) "
               "VALUES (?, ?, ?, ?)", (key, name, fingerprint, time.time()))


def keys_of(db: sqlite3.Connection, name: str) -> list[str]:
    return [key for (key,) in db.execute("SELECT key FROM ssh_keys WHERE user = ?", (name,))]


def open_session(db: sqlite3.Connection, name: str, token: str, seconds: float) -> None:
    """A token for one remote session of `name` (SSH, browser), good for `seconds` or
    until `close_session`: the session's process connects to the hub as that user."""
    db.execute("DELETE FROM sessions WHERE expires < ?", (time.time(),))
    db.execute("INSERT INTO sessions (token_hash, user, expires) VALUES (?, ?, ?)",
               (token_hash(token), name, time.time() + seconds))


def close_session(db: sqlite3.Connection, token: str) -> None:
    db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash(token),))


def list_users(db: sqlite3.Connection) -> list[tuple[str, str, list[str] | None, float]]:
    return [(name, role, None if teams is None else json.loads(teams), created)
            for name, role, teams, created in db.execute(
                "SELECT name, role, teams, created FROM users ORDER BY name")]


def identity(db: sqlite3.Connection, token: str) -> Identity | None:
    """Who `token` is: a user's own token, or one of their open remote sessions."""
    wanted = token_hash(token)
    row = db.execute("SELECT name, role, teams, token_hash FROM users WHERE token_hash = ?",
                     (wanted,)).fetchone() or db.execute(
        "SELECT u.name, u.role, u.teams, s.token_hash FROM sessions s JOIN users u ON "
        "u.name = s.user WHERE s.token_hash = ? AND s.expires > ?",
        (wanted, time.time())).fetchone()
    if row is None or not hmac.compare_digest(row[3], wanted):
        return None
    name, role, teams = row[:3]
    return Identity(name, role, None if teams is None else frozenset(json.loads(teams)))


def audit(db: sqlite3.Connection, who: Identity | None, user: str | None, address: str,
          what: str, call: str | None, flag: str | None, detail: Mapping[str, Any],
          at: float) -> None:
    db.execute("INSERT INTO audit (at, user, role, address, what, call, flag, detail) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (at, who.user if who else user, who.role if who else None, address, what,
                call, flag, json.dumps(dict(detail))))


def audit_rows(db: sqlite3.Connection, since: float | None, user: str | None
               ) -> list[tuple[float, str, str, str, str, str, str, str]]:
    where, args = ["1 = 1"], []
    if since is not None:
        where.append("at >= ?")
        args.append(since)
    if user is not None:
        where.append("user = ?")
        args.append(user)
    return list(db.execute(
        "SELECT at, user, role, address, what, call, flag, detail FROM audit "
        f"WHERE {' AND '.join(where)} ORDER BY at, id", args))


# --- the machine's own admin token -----------------------------------------------------


def local_token(path: Path) -> str:
    """The token in `path`, made (readable by this user only) if there is none yet: how
    the CLI on the hub's machine reaches it with no set-up, as Jupyter does."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    token = new_token()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token


class Gate:
    """The hub's door: the page's origin, the token and its role, and how many
    connections each address has open. An admitted connection's identity waits here
    for its handler."""

    def __init__(self, store: Store | None, auth: bool, origins: frozenset[str],
                 per_address: int) -> None:
        if auth and store is None:
            raise ValueError("authentication needs the store: users live in it")
        self.store = store
        self.auth = auth
        self.origins = origins
        self.per_address = per_address
        self.open: Counter[str] = Counter()  # connections past their handshake, by address
        # Who each admitted connection is, until its handler takes it; weak, so a
        # handshake that fails after the check leaves nothing behind.
        self._admitted: weakref.WeakKeyDictionary[ServerConnection, tuple[Identity | None, str]] \
            = weakref.WeakKeyDictionary()

    async def admit(self, connection: ServerConnection, request: Request, path: str,
                    errors: Counter[str]) -> Response | None:
        """None to let the upgrade go on; else the refusal (403, 401, 429), counted."""
        origin = request.headers.get("Origin")
        if origin is not None and origin not in self.origins:
            errors["origin_refused"] += 1
            return connection.respond(403, f"floorwatch hub: origin {origin} is not allowed\n")
        who = None
        if self.auth:
            token = bearer(request.headers.get("Authorization"))
            if token is not None and self.store is not None:
                who = await self.store.run(partial(identity, token=token))
            if who is None:
                errors["unauthorized"] += 1
                response = connection.respond(
                    401, "floorwatch hub: a valid token is required "
                    "(Authorization: Bearer TOKEN; see `floorwatch user add`)\n")
                response.headers["WWW-Authenticate"] = 'Bearer realm="floorwatch"'
                return response
            if who.role not in PATH_ROLES[path]:
                errors["forbidden"] += 1
                return connection.respond(
                    403, f"floorwatch hub: the {who.role} role may not use {path}\n")
        address = str(connection.remote_address[0]) if connection.remote_address else "?"
        if self.open[address] >= self.per_address:
            errors["too_many_connections"] += 1
            return connection.respond(
                429, f"floorwatch hub: more than {self.per_address} connections from "
                f"{address}\n")
        self._admitted[connection] = (who, address)
        return None

    def admitted(self, connection: ServerConnection) -> tuple[Identity | None, str]:
        """Who `connection` is and its address (its handler takes them once, and the
        address counts an open connection until `release`)."""
        who, address = self._admitted.pop(connection, (None, ""))
        if address:
            self.open[address] += 1
        return who, address

    def release(self, address: str) -> None:
        if address:
            self.open[address] -= 1
            if self.open[address] <= 0:
                del self.open[address]
