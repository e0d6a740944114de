"""`floorwatch ssh`: the board over SSH for remote team leads, built on asyncssh.

A lead connects with an SSH client and a key an admin attached to their floorwatch
user (`floorwatch user add-key`); each session runs the board (`child.Child`) as that
user, through a session token the hub knows from the same database, so the hub holds
the session to the user's teams and role. Keys only (no passwords), a PTY required,
no forwarding of any kind; a login timeout, an idle timeout, a cap on sessions and
on new connections per address a minute; one log line per session.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import asyncssh

from feeds.core.paths import data_dir
from feeds.hub.auth import close_session, keys_of, new_token, open_session
from feeds.hub.store import Store
from tui.remote.child import Child
from tui.remote.limits import PerMinute

log = logging.getLogger("floorwatch.ssh")

#: A session token outlives its session by at most this if the server dies uncleanly.
SESSION_TTL_S = 24 * 3600.0


@dataclass
class Limits:
    login_timeout_s: float = 30.0
    idle_timeout_s: float = 12 * 3600.0  # no key pressed for a shift: watching is fine
    max_sessions: int = 50
    per_address_per_minute: int = 10


@dataclass
class Server:
    """What every connection shares: the hub, the users' database, the limits."""

    hub: str
    store: Store
    limits: Limits = field(default_factory=Limits)
    sessions: int = 0
    _recent: PerMinute = field(init=False)

    def __post_init__(self) -> None:
        self._recent = PerMinute(self.limits.per_address_per_minute)

    def admit(self, address: str) -> str | None:
        """Why a new connection from `address` is refused, or None."""
        if self._recent.full(address):
            return f"more than {self.limits.per_address_per_minute} connections a minute"
        self._recent.add(address)
        if self.sessions >= self.limits.max_sessions:
            return f"the server's {self.limits.max_sessions} sessions are all in use"
        return None


class Connection(asyncssh.SSHServer):
    """One SSH connection: who it is (their key), and whether it may come in at all."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.address = "?"
        self.fingerprint = ""
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername")
        self.address = peer[0] if peer else "?"
        refused = self.server.admit(self.address)
        if refused is not None:
            log.warning("refused %s: %s", self.address, refused)
            conn.disconnect(asyncssh.DISC_TOO_MANY_CONNECTIONS, refused)

    def begin_auth(self, username: str) -> bool:
        return True  # always: a key it is

    def password_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        """The key is one attached to the floorwatch user `username` (asyncssh then
        checks the client holds its private half)."""
        mine = key.export_public_key("openssh").decode().split()[:2]
        keys = self.server.store.run_sync(partial(keys_of, name=username))
        if any(stored.split()[:2] == mine for stored in keys):
            self.fingerprint = key.get_fingerprint()
            return True
        return False

    def session_requested(self) -> BoardSession:
        return BoardSession(self.server, self)


class BoardSession(asyncssh.SSHServerSession):
    """One session: the board on a pty, fed the client's keys and window size."""

    def __init__(self, server: Server, connection: Connection) -> None:
        self.server, self.connection = server, connection
        self.chan: asyncssh.SSHServerChannel | None = None
        self.term = ""
        self.size = (80, 24)
        self.pty = False
        self.child: Child | None = None
        self.token = new_token()
        self.user = ""
        self.began = time.monotonic()
        self.last_input = self.began
        self._idle: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()  # kept until the session ends

    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:
        self.chan = chan
        self.user = chan.get_extra_info("username") or ""

    def pty_requested(self, term_type: str, term_size: tuple[int, int, int, int],
                      term_modes: dict) -> bool:
        self.pty, self.term = True, term_type
        if term_size[0] and term_size[1]:
            self.size = (term_size[0], term_size[1])
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        return True  # answered in session_started: the board is all there is

    def subsystem_requested(self, subsystem: str) -> bool:
        return False

    def session_started(self) -> None:
        chan = self.chan
        assert chan is not None
        if not self.pty:
            chan.write(b"floorwatch: the board needs a terminal: connect with ssh -t\r\n")
            chan.exit(1)
            return
        self._tasks.add(asyncio.get_running_loop().create_task(self._start()))

    async def _start(self) -> None:
        server = self.server
        await server.store.run(partial(open_session, name=self.user, token=self.token,
                                       seconds=SESSION_TTL_S))
        server.sessions += 1
        self.child = Child(self._to_client, self._child_exited)
        await self.child.start(server.hub, self.token, self.term, self.size)
        self._idle = asyncio.get_running_loop().create_task(self._watch_idle())

    async def _watch_idle(self) -> None:
        limit = self.server.limits.idle_timeout_s
        while True:
            await asyncio.sleep(max(1.0, min(60.0, limit / 10)))
            if time.monotonic() - self.last_input > limit and self.chan is not None:
                self.chan.write(b"\r\nfloorwatch: closed after "
                                + f"{limit:g} s without a key\r\n".encode())
                self.chan.exit(0)
                return

    def _to_client(self, data: bytes) -> None:
        if self.chan is not None:
            self.chan.write(data)

    def _child_exited(self, code: int) -> None:
        if self.chan is not None:
            self.chan.exit(max(0, code))

    def data_received(self, data: bytes, datatype: int | None) -> None:
        self.last_input = time.monotonic()
        if self.child is not None:
            self.child.write(data)

    def terminal_size_changed(self, width: int, height: int, pixwidth: int,
                              pixheight: int) -> None:
        self.size = (width, height)
        if self.child is not None:
            self.child.resize(width, height)

    def connection_lost(self, exc: Exception | None) -> None:
        self._tasks.add(asyncio.get_running_loop().create_task(self._end()))

    async def _end(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        if self.child is not None:
            await self.child.stop()
            self.child = None
            self.server.sessions -= 1
            await self.server.store.run(partial(close_session, token=self.token))
            log.info("session ended: user %s from %s key %s terminal %s %dx%d, %.0f s",
                     self.user, self.connection.address, self.connection.fingerprint,
                     self.term, *self.size, time.monotonic() - self.began)
        self.chan = None


def host_key(path: Path | None) -> asyncssh.SSHKey:
    """The server's Ed25519 host key: made on first start, kept (owner-only) after."""
    path = path or data_dir() / "ssh_host_ed25519_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = asyncssh.generate_private_key("ssh-ed25519")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.export_private_key())
        log.info("made host key %s (%s)", path, key.get_fingerprint())
    return asyncssh.read_private_key(path)


async def serve(server: Server, host: str, port: int, key_path: Path | None = None,
                ready: asyncio.Future | None = None) -> None:
    """Serve until cancelled; `ready` gets the listening port."""
    key = host_key(key_path)

    acceptor = await asyncssh.create_server(
        partial(Connection, server), host, port, server_host_keys=[key], encoding=None,
        login_timeout=server.limits.login_timeout_s, allow_scp=False,
        agent_forwarding=False, x11_forwarding=False)
    port = acceptor.sockets[0].getsockname()[1]
    print(f"floorwatch ssh: serving the board of {server.hub} on {host}:{port} "
          f"(host key {key.get_fingerprint()})", flush=True)
    if ready is not None:
        ready.set_result(port)
    try:
        await acceptor.wait_closed()
    finally:
        acceptor.close()
