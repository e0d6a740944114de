"""Shared pieces for the hub tests: a running hub on 127.0.0.1 and a small floor.

`small_floor` is a hand-written, seeded floor that hits the hold, transfer,
talk-over and distress rules within a few minutes of event time, so the
network tests stay fast; the generator's floors are used where it matters
that the data looks like the demo (test_simulate).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from feeds.client.credentials import find_token
from feeds.client.subscriber import FeedClient
from feeds.core.engine import Engine
from feeds.core.protocol import Message, decode_frame, encode_like, validate
from feeds.hub.server import Hub, running_hub, server_url
from feeds.hub.store import Store

T0 = 1_790_000_000.0


def _voice(rng: random.Random, base_db: float, base_hz: float) -> tuple[float, float]:
    return base_db + rng.gauss(0, 1.0), base_hz * (1 + rng.gauss(0, 0.02))


def small_floor(seed: int = 1, calls_per_team: int = 3, teams: tuple[str, ...] = ("red", "blue")
                ) -> list[Message]:
    """Messages of a small floor in event-time order; each team has every kind of trouble."""
    rng = random.Random(seed)
    out: list[Message] = []
    for ti, team in enumerate(teams):
        for ci in range(calls_per_team):
            call = f"{team}-{ci}"
            start = T0 + ti * 3 + ci
            trouble = ci % 3
            out.append({"type": "call_start", "call": call, "t": start, "agent": f"a-{call}",
                        "team": team, "queue": "billing"})
            t = start
            end = start + 240.0
            hold = (start + 30, start + 160) if trouble == 0 else None
            loud = (start + 40, start + 55) if trouble == 1 else None
            step = 0.25
            while t < end:
                t = round(t + step, 3)
                on_hold = hold is not None and hold[0] <= t < hold[1]
                sample: Message = {"type": "sample", "call": call, "t": t, "dt": step}
                if not on_hold:
                    if int(t * 2) % 2:
                        db, hz = _voice(rng, -28.0, 210.0)
                        if loud is not None and loud[0] <= t < loud[1]:
                            db += 12.0
                        sample["cust_db"], sample["cust_pitch"] = db, hz
                    else:
                        db, hz = _voice(rng, -26.0, 120.0)
                        sample["agent_db"], sample["agent_pitch"] = db, hz
                out.append(sample)
                if hold is not None and t == hold[0]:
                    out.append({"type": "event", "call": call, "t": t, "event": "hold_start"})
                if hold is not None and t == hold[1]:
                    out.append({"type": "event", "call": call, "t": t, "event": "hold_end"})
                if trouble == 2 and t in (start + 20, start + 50, start + 80):
                    out.append({"type": "event", "call": call, "t": t, "event": "talk_over",
                                "by": "agent", "dur": 1.5})
                if trouble == 2 and t in (start + 100, start + 150):
                    out.append({"type": "event", "call": call, "t": t, "event": "transfer",
                                "to": "retention", "mode": "warm"})
            out.append({"type": "call_end", "call": call, "t": end + 0.5, "reason": "hangup"})
    out.sort(key=lambda m: m["t"])
    return out


def replay_flags(messages: list[Message]) -> list[dict[str, Any]]:
    """Headless replay: the flag transitions the core engine gives for these messages."""
    engine = Engine()
    flags = []
    for msg in messages:
        flags.extend(f.to_message() for f in engine.process(validate(dict(msg))))
    return flags


@contextlib.asynccontextmanager
async def hub_running(db: Path | None = None, sndbuf: int | None = None, **options: Any
                      ) -> AsyncIterator[tuple[Hub, str]]:
    """A hub on an ephemeral 127.0.0.1 port, with a real SQLite store when `db` is given.

    `sndbuf` shrinks the kernel send buffer of every accepted connection (Linux
    inherits it from the listening socket), so a stalled reader blocks the hub soon.
    """
    store = Store(db) if db is not None else None
    sock = None
    if sndbuf is not None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
    try:
        hub = Hub(store=store, **options)
        async with running_hub(hub, sock=sock) as server:
            yield hub, server_url(server)
    finally:
        if store is not None:
            store.close()


async def publish(url: str, messages: list[Message], binary: bool, per_frame: int = 50,
                  pause_every: int = 0) -> list:
    """Publish as batch frames; return the errors the hub sent back.

    `pause_every` > 0 yields briefly after that many frames, so the load spans many hub ticks.
    """
    errors: list = []
    async with connect(url + "/publish") as ws:
        for n, i in enumerate(range(0, len(messages), per_frame), 1):
            frame = {"type": "batch", "items": messages[i:i + per_frame]}
            await ws.send(encode_like(frame, binary))
            if pause_every and n % pause_every == 0:
                await asyncio.sleep(0.01)
        await ws.send(encode_like({"type": "call_end", "call": "no-such-call", "t": T0}, binary))
        while True:  # the marker's error tells us every earlier frame was processed
            reply = decode_frame(await asyncio.wait_for(ws.recv(), 30))
            if "no-such-call" in reply["detail"]:
                return errors
            errors.append(reply)


async def read_until(ws: ClientConnection, done: Callable[[Message], bool],
                     limit: int = 200_000, timeout: float = 30.0) -> list[Message]:
    """Messages (batch items expanded) up to and including the first for which `done` holds."""
    out: list[Message] = []
    async with asyncio.timeout(timeout):
        while len(out) < limit:
            msg = decode_frame(await ws.recv())
            items = msg["items"] if msg["type"] == "batch" else [msg]
            for item in items:
                out.append(item)
                if done(item):
                    return out
    raise AssertionError(f"no terminating message within {limit} messages")


def subscribe_to(url: str) -> connect:
    """A raw subscriber connection that buffers everything (tests read at their own pace)."""
    return connect(url + "/subscribe", max_queue=None, max_size=None)


def stalled_subscriber(url: str) -> connect:
    """A subscriber with a tiny receive buffer that reads nothing until told to."""
    host, port = url.removeprefix("ws://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    return connect(url + "/subscribe", sock=sock, max_queue=1, max_size=None)


def self_signed(tmp_path: Path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (its own CA), made by the openssl CLI."""
    cert, key = tmp_path / "hub.pem", tmp_path / "hub.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return str(cert), str(key)


FLOORWATCH = str(Path(sys.executable).parent / "floorwatch")


async def start_hub_process(db: Path, port: int = 0) -> tuple[asyncio.subprocess.Process, str]:
    """`floorwatch hub` as a process on `port` (0: a free one); its URL."""
    hub = await asyncio.create_subprocess_exec(
        FLOORWATCH, "hub", "--port", str(port), "--db", str(db),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    line = (await asyncio.wait_for(hub.stdout.readline(), 30)).decode()
    assert line.startswith("floorwatch hub on ws://127.0.0.1:"), line
    return hub, line.split()[3]


async def stop_hub_process(hub: asyncio.subprocess.Process) -> int:
    hub.send_signal(signal.SIGINT)
    return await asyncio.wait_for(hub.wait(), 30)


@contextlib.asynccontextmanager
async def watching(url: str) -> AsyncIterator[AsyncIterator[Message]]:
    """The messages of every team a hub on this machine shows its admin, from after the
    first snapshot on."""
    async with FeedClient(url + "/subscribe", token=find_token()) as client:
        stream = client.messages()
        async with asyncio.timeout(30):
            while (await anext(stream))["type"] != "snapshot":
                pass
        yield stream
