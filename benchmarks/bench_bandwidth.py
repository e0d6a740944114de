"""Terminal bandwidth: bytes/s `floorwatch watch` writes to its terminal on a busy floor.

Team leads reach floorwatch over SSH, often on a VPN or a phone, so what the board
writes to its terminal is what crosses their link. This runs a real hub and a real
simulator (`--calls` live calls at 4 samples/s) and the real `floorwatch watch` on a
pseudo-terminal of each size, lets it settle, then counts the bytes it writes for
`--seconds`. The baseline, on the same pty size in the same run, is `top -d 1`.

    .venv/bin/python benchmarks/bench_bandwidth.py [--calls 200] [--seconds 20] \
        [--sizes 160x48,80x24]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import termios
import time

from floorkit import FLOORWATCH, running_floor


def on_pty(argv: list[str], cols: int, rows: int, settle_s: float, seconds: float,
           env: dict[str, str]) -> float:
    """Bytes/s that `argv` writes to a `cols`x`rows` terminal, after `settle_s`."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of the size asked for, then the program
        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    counted = 0
    start = time.monotonic()
    measure_from = start + settle_s
    end = measure_from + seconds
    try:
        while (now := time.monotonic()) < end:
            ready, _, _ = select.select([fd], [], [], max(0.0, end - now))
            if not ready:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            if time.monotonic() >= measure_from:
                counted += len(data)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if os.waitpid(pid, os.WNOHANG)[0]:
                break
            time.sleep(0.1)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    return counted / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=8.0)
    parser.add_argument("--sizes", default="160x48,80x24")
    args = parser.parse_args()
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    with running_floor(calls=args.calls, env=env) as floor:
        print(f"floorwatch terminal bandwidth: {args.calls} live calls at 4 Hz, "
              f"{args.seconds:g} s counted after {args.settle:g} s")
        print(f"{'size':>8} {'floorwatch watch':>18} {'top -d 1':>12} {'ratio':>8}")
        for size in args.sizes.split(","):
            cols, rows = (int(n) for n in size.split("x"))
            board = on_pty([FLOORWATCH, "watch", floor.url], cols, rows, args.settle,
                           args.seconds, floor.env)
            top = (on_pty([shutil.which("top") or "top", "-d", "1"], cols, rows, 2.0,
                          args.seconds, floor.env) if shutil.which("top") else float("nan"))
            print(f"{size:>8} {board / 1024:>13.1f} KiB/s {top / 1024:>7.1f} KiB/s "
                  f"{board / top:>8.1f}")


if __name__ == "__main__":
    main()
