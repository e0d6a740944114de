"""`floorwatch ssh` with the real OpenSSH client, inside tmux at 80×24, as a remote team
lead would use it: a real hub (authentication on), a real simulated floor."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

FW = str(Path(sys.executable).with_name("floorwatch"))
pytestmark = pytest.mark.skipif(not (shutil.which("ssh") and shutil.which("tmux")),
                                reason="needs the OpenSSH client and tmux (make test has them)")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _until(what: Callable[[], object], seconds: float = 10.0) -> object:
    """Poll `what` (bounded in time) until it is truthy; its last value either way."""
    end = time.monotonic() + seconds
    while True:
        value = what()
        if value or time.monotonic() > end:
            return value
        time.sleep(0.1)


@pytest.fixture(scope="module")
def floor(tmp_path_factory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("ssh")
    env = dict(os.environ, XDG_DATA_HOME=str(tmp / "data"))
    db, hub_port, ssh_port = str(tmp / "hub.db"), _port(), _port()
    hub = f"ws://127.0.0.1:{hub_port}"
    procs = [subprocess.Popen([FW, "hub", "--port", str(hub_port), "--db", db], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        assert _until(lambda: (tmp / "data/floorwatch/local.token").exists())
        run = dict(env=env, check=True, capture_output=True, text=True)
        subprocess.run([FW, "user", "add", "lead", "--role", "lead", "--team", "billing",
                        "--db", db], **run)
        for name in ("key", "other"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                            str(tmp / name)], check=True)
        subprocess.run([FW, "user", "add-key", "lead", str(tmp / "key.pub"), "--db", db], **run)
        procs.append(subprocess.Popen([FW, "simulate", "--calls", "16", "--warmup", "120",
                                       "--to", f"{hub}/publish"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        health = f"http://127.0.0.1:{hub_port}/healthz"  # the floor is on the hub first
        assert _until(lambda: json.load(urllib.request.urlopen(health, timeout=5))["calls"],
                      30.0)
        log = open(tmp / "ssh.log", "w")  # noqa: SIM115 (open while the server runs)
        procs.append(subprocess.Popen([FW, "ssh", "--hub", hub, "--port", str(ssh_port),
                                       "--db", db], env=env, stdout=log, stderr=log))
        assert _until(lambda: "serving the board" in (tmp / "ssh.log").read_text())
        yield {"tmp": tmp, "port": ssh_port, "hub_port": hub_port, "env": env}
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(10)


def _ssh(floor: dict, *args: str, key: str = "key") -> list[str]:
    tmp = floor["tmp"]
    return ["ssh", "-i", str(tmp / key), "-p", str(floor["port"]), "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new",
            "-o", f"UserKnownHostsFile={tmp / 'known_hosts'}", *args, "lead@127.0.0.1"]


def _screen(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True,
                          text=True).stdout


def test_a_lead_gets_their_teams_board_that_resizes_and_ends_cleanly(floor):
    session = f"fw-ssh-{os.getpid()}"
    command = " ".join(_ssh(floor, "-tt"))
    subprocess.run(["tmux", "new", "-d", "-s", session, "-x", "80", "-y", "24", command],
                   check=True)
    try:
        shown = _until(lambda: "as lead (lead)" in _screen(session) and any(
            " billing " in row for row in _screen(session).splitlines()[2:-2]), 5.0)
        screen = _screen(session)
        assert shown, screen
        rows = screen.splitlines()[2:-2]
        assert all(" billing " in row for row in rows if row.strip()), screen  # theirs only
        subprocess.run(["tmux", "send-keys", "-t", session, "?"], check=True)
        assert _until(lambda: "Badges:" in _screen(session), 5.0), _screen(session)  # help
        subprocess.run(["tmux", "send-keys", "-t", session, "Escape"], check=True)
        subprocess.run(["tmux", "resize-window", "-t", session, "-x", "120", "-y", "40"],
                       check=True)
        assert _until(lambda: "QUEUE" in _screen(session).splitlines()[1], 5.0), \
            _screen(session)  # reflowed: at 120 columns the queue has room
        assert len(_screen(session).splitlines()) >= 39
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        gone = _until(lambda: subprocess.run(["tmux", "has-session", "-t", session],
                                             capture_output=True).returncode != 0, 5.0)
        assert gone
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    hub = f"ws://127.0.0.1:{floor['hub_port']}/subscribe"
    assert _until(lambda: subprocess.run(["pgrep", "-f", f"watch {hub}"],
                                         capture_output=True).returncode != 0, 5.0)
    log = (floor["tmp"] / "ssh.log").read_text()
    assert re.search(r"session ended: user lead from 127.0.0.1 key SHA256:\S+ terminal "
                     r"\S+ 120x40", log), log


def test_an_unknown_key_and_no_terminal_are_refused(floor):
    stranger = subprocess.run(_ssh(floor, "-tt", key="other"), capture_output=True,
                              text=True, timeout=20)
    assert "Permission denied (publickey)" in stranger.stderr
    no_pty = subprocess.run(_ssh(floor, "-T"), capture_output=True, text=True, timeout=20,
                            stdin=subprocess.DEVNULL)
    assert no_pty.returncode == 1
    assert "needs a terminal" in no_pty.stdout + no_pty.stderr
