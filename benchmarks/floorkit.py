"""What the benchmarks share: a real hub (and a simulated floor) as processes with their
own data directory, and /proc readings of a process's CPU and memory.

    with running_floor(calls=200) as floor:   # a hub, and `simulate` publishing 200 calls
        floor.start("ssh", "--hub", floor.url, ...)   # more floorwatch processes, same env
        cpu_seconds(floor.hub.pid), rss_mb(floor.hub.pid)
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

FLOORWATCH = str(Path(sys.executable).with_name("floorwatch"))
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


@dataclass
class Floor:
    """A running hub: its address, database, admin token and the processes started."""

    url: str  # ws://127.0.0.1:PORT
    port: int
    db: str
    env: dict[str, str]
    token: str
    hub: subprocess.Popen
    procs: list[subprocess.Popen] = field(default_factory=list)

    def start(self, *args: str, stdout: int | None = subprocess.DEVNULL) -> subprocess.Popen:
        """Another `floorwatch` process with the floor's data directory; ended with it."""
        proc = subprocess.Popen([FLOORWATCH, *args], env=self.env, stdout=stdout,
                                stderr=subprocess.DEVNULL, text=True)
        self.procs.append(proc)
        return proc

    def run(self, *args: str) -> None:
        """A `floorwatch` command to completion (e.g. `user add`), quietly."""
        subprocess.run([FLOORWATCH, *args], env=self.env, check=True, capture_output=True)


@contextlib.contextmanager
def running_floor(calls: int = 0, warmup: float = 120.0,
                  env: dict[str, str] | None = None) -> Iterator[Floor]:
    """A hub on a free port (and, with `calls`, `floorwatch simulate` publishing that
    many calls, the first `warmup` seconds at once); everything ended on leaving."""
    with tempfile.TemporaryDirectory() as tmp:
        environment = {**(env if env is not None else os.environ), "XDG_DATA_HOME": tmp}
        hub = subprocess.Popen([FLOORWATCH, "hub", "--port", "0", "--db", f"{tmp}/hub.db"],
                               env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
        url = hub.stdout.readline().split()[3]  # "floorwatch hub on ws://…", token written
        floor = Floor(url, int(url.rsplit(":", 1)[1]), f"{tmp}/hub.db", environment,
                      (Path(tmp) / "floorwatch" / "local.token").read_text().strip(), hub)
        try:
            if calls:
                floor.start("simulate", "--calls", str(calls), "--warmup", str(warmup),
                            "--to", f"{url}/publish")
            yield floor
        finally:
            for proc in [*reversed(floor.procs), hub]:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(10)
