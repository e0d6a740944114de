"""The board of one remote session: `floorwatch watch` in its own process, on its own
pseudo-terminal.

Textual's driver is process-wide (one terminal, one set of signal handlers), so each
session gets a process. The pty's slave is its controlling terminal, so a window
size set on the pty reaches it as SIGWINCH; it gets the client's TERM and no
COLUMNS/LINES (they would pin its size). It runs in a session (and process group) of
its own, so ending a session ends everything it started: HUP, then KILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import signal
import struct
import sys
import termios
from collections.abc import Callable

#: How long a child has after HUP to exit before it is killed.
HANGUP_GRACE_S = 2.0


def board_command(hub: str) -> list[str]:
    """The board of `hub`, as whoever FLOORWATCH_TOKEN names (never on the command line,
    where any user of the machine could read it)."""
    return [sys.executable, "-m", "tui.cli", "watch", hub]


def _take_terminal() -> None:  # in the child, after fork: fd 0 is the pty's slave
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Child:
    """The TUI on a pty; what it writes goes to `output`, `closed` when it exits."""

    def __init__(self, output: Callable[[bytes], None], closed: Callable[[int], None]) -> None:
        self._output, self._closed = output, closed
        self.master = -1
        self.proc: asyncio.subprocess.Process | None = None
        self._waiter: asyncio.Task | None = None

    async def start(self, hub: str, token: str, term: str, size: tuple[int, int]) -> None:
        master, slave = pty.openpty()
        self.master = master
        self.resize(*size)
        env = {key: value for key, value in os.environ.items()
               if key not in ("COLUMNS", "LINES", "FLOORWATCH_TOKEN")}
        env.update(TERM=term or "xterm-256color", FLOORWATCH_TOKEN=token)
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *board_command(hub), stdin=slave, stdout=slave, stderr=slave, env=env,
                start_new_session=True, preexec_fn=_take_terminal)
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        loop = asyncio.get_running_loop()
        loop.add_reader(master, self._readable)
        self._waiter = loop.create_task(self._wait())

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed its terminal
            data = b""
        if data:
            self._output(data)
        else:
            asyncio.get_running_loop().remove_reader(self.master)

    async def _wait(self) -> None:
        assert self.proc is not None
        code = await self.proc.wait()
        self._readable_rest()
        self._closed(code)

    def _readable_rest(self) -> None:
        """What the child wrote just before it exited (its last frame, its goodbye)."""
        with contextlib.suppress(OSError):
            while data := os.read(self.master, 65536):
                self._output(data)

    def write(self, data: bytes) -> None:
        """Keys from the client to the child's terminal."""
        with contextlib.suppress(OSError):
            os.write(self.master, data)

    def resize(self, columns: int, rows: int) -> None:
        """The client's window changed: the kernel tells the child (SIGWINCH)."""
        if self.master >= 0 and columns > 0 and rows > 0:
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))

    async def stop(self) -> None:
        """End the child and all it started."""
        if self.proc is not None:
            await end_group(self.proc)
        if self.master >= 0:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(self.master)
            os.close(self.master)
            self.master = -1


async def end_group(proc: asyncio.subprocess.Process) -> None:
    """End a session's process and all it started (it leads its own process group):
    HUP, then KILL if it is still there after `HANGUP_GRACE_S`."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGHUP)
    try:
        await asyncio.wait_for(proc.wait(), HANGUP_GRACE_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
