"""A real floor for the remote tests: a hub with authentication on, a simulated floor of
16 calls on it, and a lead of team billing; shared by the SSH and browser tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

FW = str(Path(sys.executable).with_name("floorwatch"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(what: Callable[[], object], seconds: float = 10.0) -> object:
    """Poll `what` (bounded in time) until it is truthy; its last value either way."""
    end = time.monotonic() + seconds
    while True:
        value = what()
        if value or time.monotonic() > end:
            return value
        time.sleep(0.1)


@pytest.fixture(scope="session")
def floor(tmp_path_factory) -> Iterator[dict]:
    """The hub's address and database, the lead's token, and a `server(...)` that starts
    another floorwatch command (ended with the floor) and returns its log file."""
    tmp = tmp_path_factory.mktemp("remote")
    env = dict(os.environ, XDG_DATA_HOME=str(tmp / "data"))
    db, hub_port = str(tmp / "hub.db"), free_port()
    hub = f"ws://127.0.0.1:{hub_port}"
    procs = [subprocess.Popen([FW, "hub", "--port", str(hub_port), "--db", db], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]

    def server(name: str, *args: str) -> Path:
        log = tmp / f"{name}.log"
        with open(log, "w") as out:
            procs.append(subprocess.Popen([FW, *args], env=env, stdout=out, stderr=out))
        assert until(lambda: "serving the board" in log.read_text()), log.read_text()
        return log

    try:
        assert until(lambda: (tmp / "data/floorwatch/local.token").exists())
        run = dict(env=env, check=True, capture_output=True, text=True)
        token = subprocess.run([FW, "user", "add", "lead", "--role", "lead", "--team",
                                "billing", "--db", db], **run).stdout.splitlines()[-1]
        procs.append(subprocess.Popen([FW, "simulate", "--calls", "16", "--warmup", "120",
                                       "--to", f"{hub}/publish"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        health = f"http://127.0.0.1:{hub_port}/healthz"  # the floor is on the hub first
        assert until(lambda: json.load(urllib.request.urlopen(health, timeout=5))["calls"],
                     30.0)
        yield {"tmp": tmp, "hub": hub, "hub_port": hub_port, "db": db, "env": env,
               "token": token, "run": run, "server": server}
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(10)


@pytest.fixture(scope="session")
def site(floor) -> dict:
    """`floorwatch web` on the floor, at most three sessions at once."""
    port = free_port()
    log = floor["server"]("web", "web", "--hub", floor["hub"], "--port", str(port),
                          "--db", floor["db"], "--max-sessions", "3")
    return {**floor, "url": f"http://127.0.0.1:{port}", "log": log}


def boards_of(floor: dict) -> bool:
    """Whether any board (an SSH or browser session's process) still watches the hub."""
    return subprocess.run(["pgrep", "-f", f"watch {floor['hub']}/subscribe"],
                          capture_output=True).returncode == 0
