"""`floorwatch ssh` with the real OpenSSH client, inside tmux at 80×24, as a remote team
lead would use it: a real hub (authentication on), a real simulated floor."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.remote.conftest import FW, boards_of, free_port
from tests.remote.conftest import until as _until

pytestmark = pytest.mark.skipif(not (shutil.which("ssh") and shutil.which("tmux")),
                                reason="needs the OpenSSH client and tmux (make test has them)")


@pytest.fixture(scope="module")
def ssh(floor) -> dict:
    """`floorwatch ssh` on the floor, and two keys: the lead's, and one nobody added."""
    tmp, port = floor["tmp"], free_port()
    for name in ("key", "other"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(tmp / name)], check=True)
    subprocess.run([FW, "user", "add-key", "lead", str(tmp / "key.pub"), "--db", floor["db"]],
                   **floor["run"])
    log = floor["server"]("ssh", "ssh", "--hub", floor["hub"], "--port", str(port),
                          "--db", floor["db"])
    return {**floor, "port": port, "log": log}


def _ssh(floor: dict, *args: str, key: str = "key") -> list[str]:
    tmp = floor["tmp"]
    return ["ssh", "-i", str(tmp / key), "-p", str(floor["port"]), "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new",
            "-o", f"UserKnownHostsFile={tmp / 'known_hosts'}", *args, "lead@127.0.0.1"]


def _screen(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True,
                          text=True).stdout


def test_a_lead_gets_their_teams_board_that_resizes_and_ends_cleanly(ssh):
    session = f"fw-ssh-{os.getpid()}"
    command = " ".join(_ssh(ssh, "-tt"))
    subprocess.run(["tmux", "new", "-d", "-s", session, "-x", "80", "-y", "24", command],
                   check=True)
    try:
        shown = _until(lambda: "lead · lead" in _screen(session).splitlines()[0] and any(
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
    assert _until(lambda: not boards_of(ssh), 5.0)
    log = ssh["log"].read_text()
    assert re.search(r"session ended: user lead from 127.0.0.1 key SHA256:\S+ terminal "
                     r"\S+ 120x40", log), log


def test_an_unknown_key_and_no_terminal_are_refused(ssh):
    stranger = subprocess.run(_ssh(ssh, "-tt", key="other"), capture_output=True,
                              text=True, timeout=20)
    assert "Permission denied (publickey)" in stranger.stderr
    no_pty = subprocess.run(_ssh(ssh, "-T"), capture_output=True, text=True, timeout=20,
                            stdin=subprocess.DEVNULL)
    assert no_pty.returncode == 1
    assert "needs a terminal" in no_pty.stdout + no_pty.stderr
