"""Remote sessions: what each costs the server, and what each sends down the link.

A real hub (authentication on), a real `floorwatch simulate` floor of 200 calls and a
real `floorwatch ssh`; an asyncssh client opens sessions with a pseudo-terminal, as
OpenSSH would, and counts the bytes each receives (the bytes its terminal gets).

1. Bandwidth: one session at 80×24 and one at 160×48, bytes/s over 20 s after 8 s
   to settle, against `top -d 1` on the same size in the same run (the baseline).
2. Sessions: N sessions (default 20) at 80×24, idle, then each in turn pressing `o`
   (sort by agent, then by need again: the whole board redrawn) and, apart, `?` and
   Escape (the help screen opened and closed): the boards' total RSS and CPU, per
   session, and key -> repaint p50/p99 through SSH (from the key sent to the new
   header's or help's text arriving).

    .venv/bin/python benchmarks/bench_ssh.py [--sessions 20] [--calls 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import tempfile
import time

import asyncssh
from floorkit import cpu_seconds, free_port, rss_mb, running_floor


def boards(hub_port: int) -> list[int]:
    """The pids of the session boards watching this hub."""
    out = subprocess.run(["pgrep", "-f", f"watch ws://127.0.0.1:{hub_port}/"],
                         capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def usage(pids: list[int]) -> tuple[float, float]:
    """CPU seconds and RSS MB of these processes, summed."""
    cpu = rss = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):  # a board may have just ended
            cpu += cpu_seconds(pid)
            rss += rss_mb(pid)
    return cpu, rss


class Session:
    """One SSH session's channel: counts bytes, keeps the newest text to look for."""

    def __init__(self) -> None:
        self.bytes = 0
        self.tail = b""
        self.seen = asyncio.Event()
        self.wanted = b""

    def take(self, data: bytes) -> None:
        self.bytes += len(data)
        self.tail = (self.tail + data)[-65536:]
        if self.wanted and self.wanted in self.tail:
            self.seen.set()


async def open_session(port: int, key: str, size: tuple[int, int]) -> tuple[Session, object]:
    conn = await asyncssh.connect("127.0.0.1", port, username="lead", client_keys=[key],
                                  known_hosts=None)
    session = Session()

    class Client(asyncssh.SSHClientSession):
        def data_received(self, data: bytes, datatype: object) -> None:
            session.take(data)

    chan, _ = await conn.create_session(Client, term_type="xterm-256color",
                                        term_size=size, encoding=None)
    return session, (conn, chan)


async def bandwidth(port: int, key: str, size: tuple[int, int], seconds: float) -> float:
    session, (conn, chan) = await open_session(port, key, size)
    await asyncio.sleep(8)
    start = session.bytes
    await asyncio.sleep(seconds)
    rate = (session.bytes - start) / seconds
    chan.close()
    conn.close()
    return rate


def top_rate(size: tuple[int, int], seconds: float) -> float:
    """`top -d 1` on a pty of this size: bytes/s (the baseline)."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(TERM="xterm-256color", COLUMNS=str(size[0]), LINES=str(size[1]))
        os.execvp("top", ["top", "-d", "1"])
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    total, end, start_at = 0, time.monotonic() + 3 + seconds, time.monotonic() + 3
    os.set_blocking(fd, False)
    while time.monotonic() < end:
        time.sleep(0.05)
        with contextlib.suppress(BlockingIOError, OSError):
            data = os.read(fd, 65536)
            if time.monotonic() > start_at:
                total += len(data)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return total / seconds


async def sessions(port: int, hub_port: int, key: str, n: int, seconds: float) -> dict:
    opened = [await open_session(port, key, (80, 24)) for _ in range(n)]
    await asyncio.sleep(10)  # every board up and settled
    pids = boards(hub_port)
    cpu0, _ = usage(pids)
    await asyncio.sleep(seconds)
    cpu1, rss = usage(pids)
    idle = {"cpu": (cpu1 - cpu0) / seconds, "rss": rss, "boards": len(pids)}
    cpu0, t0 = usage(pids)[0], time.monotonic()
    sort = await press(opened, (("o", b"by agent"), ("o", b"by need")))
    busy_cpu = (usage(pids)[0] - cpu0) / (time.monotonic() - t0)
    help_ = await press(opened, (("?", b"Badges"), ("\x1b", b"Detail")))
    for _, (conn, chan) in opened:
        chan.close()
        conn.close()
    return {"idle": idle, "busy_cpu": busy_cpu, "sort": sort, "help": help_}


async def press(opened: list, keys: tuple[tuple[str, bytes], ...], rounds: int = 5
                ) -> tuple[float, float]:
    """Each session in turn presses `keys`, each until its text arrives: p50, p99 ms."""
    latencies = []
    for _ in range(rounds):
        for session, (_, chan) in opened:
            for key, text in keys:
                session.wanted, session.tail = text, b""
                session.seen.clear()
                sent = time.perf_counter()
                chan.write(key.encode())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(session.seen.wait(), 5)
                latencies.append((time.perf_counter() - sent) * 1000)
    latencies.sort()
    return statistics.median(latencies), latencies[min(len(latencies) - 1,
                                                       int(len(latencies) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with running_floor(calls=args.calls) as floor, tempfile.TemporaryDirectory() as tmp:
        ssh_port = free_port()
        floor.run("user", "add", "lead", "--role", "lead", "--db", floor.db)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{tmp}/key"],
                       check=True)
        floor.run("user", "add-key", "lead", f"{tmp}/key.pub", "--db", floor.db)
        floor.start("ssh", "--hub", floor.url, "--port", str(ssh_port), "--db", floor.db,
                    "--max-per-minute", str(args.sessions + 10))
        time.sleep(3)
        rates = {size: asyncio.run(bandwidth(ssh_port, f"{tmp}/key", size, args.seconds))
                 for size in ((160, 48), (80, 24))}
        tops = {size: top_rate(size, args.seconds) for size in rates}
        result = asyncio.run(sessions(ssh_port, floor.port, f"{tmp}/key", args.sessions,
                                      args.seconds))
    print(f"floorwatch over SSH: {args.calls} simulated calls")
    print(f"{'size':>8}{'board over ssh':>18}{'top -d 1':>12}{'ratio':>8}")
    for size, rate in rates.items():
        print(f"{size[0]:>4}x{size[1]:<3}{rate / 1024:>14.1f} KiB/s{tops[size] / 1024:>7.1f} KiB/s"
              f"{rate / tops[size]:>8.1f}")
    idle, n = result["idle"], result["idle"]["boards"]
    print(f"{n} sessions at 80x24: RSS {idle['rss']:.0f} MB ({idle['rss'] / max(1, n):.0f} "
          f"MB each), CPU idle {idle['cpu']:.2f} cores ({idle['cpu'] / max(1, n):.3f} each), "
          f"pressing keys {result['busy_cpu']:.2f} cores")
    for name, what in (("sort", "o (sort: whole board)"), ("help", "? / Esc (help screen)")):
        p50, p99 = result[name]
        print(f"key -> repaint over SSH with {n} sessions, {what}: p50 {p50:.0f} ms, "
              f"p99 {p99:.0f} ms")


if __name__ == "__main__":
    main()
