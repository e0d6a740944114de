"""Who may see and do what: tokens on the upgrade, roles, teams the hub enforces,
masked numbers, `by` from the token, the audit trail (a real hub on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from feeds.client.credentials import auth_headers
from feeds.hub.auth import audit_rows, new_token, put_user, remove_user
from tests.hubkit import T0, hub_running, read_until

FLOORWATCH = str(Path(sys.executable).parent / "floorwatch")
USERS = {  # name: (role, teams)
    "feed": ("producer", None),
    "vic": ("viewer", ["red"]),
    "lee": ("lead", ["red"]),
    "sue": ("supervisor", None),
    "ada": ("admin", None),
}


def _users(hub) -> dict[str, str]:
    tokens = {}
    for name, (role, teams) in USERS.items():
        tokens[name] = new_token()
        hub.store.run_sync(partial(put_user, name=name, role=role, teams=teams,
                                   token=tokens[name]))
    return tokens


def _as(url: str, path: str, token: str | None, **kwargs):
    return connect(url + path, additional_headers=auth_headers(token), max_queue=None,
                   **kwargs)


async def _status(url: str, path: str, token: str | None, **kwargs) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with _as(url, path, token, **kwargs):
            pass
    return refused.value.response.status_code


FLOOR = [
    {"type": "call_start", "call": "r1", "t": T0, "agent": "a1", "team": "red",
     "customer": "+15551234567"},
    {"type": "call_start", "call": "b1", "t": T0, "agent": "a2", "team": "blue",
     "customer": "+15559876543"},
    {"type": "event", "call": "r1", "t": T0 + 1, "event": "hold_start"},
    {"type": "event", "call": "b1", "t": T0 + 1, "event": "hold_start"},
    {"type": "sample", "call": "r1", "t": T0 + 200, "dt": 0.25},
    {"type": "sample", "call": "b1", "t": T0 + 200, "dt": 0.25},
]


async def _publish(url: str, token: str) -> None:
    async with _as(url, "/publish", token) as ws:
        await ws.send(json.dumps({"type": "batch", "items": FLOOR}))
        await ws.send(json.dumps({"type": "call_end", "call": "nope", "t": T0}))
        await asyncio.wait_for(ws.recv(), 10)  # the marker's error: the floor is in


async def test_the_door_refuses_whoever_has_no_business_there(tmp_path):
    async with hub_running(tmp_path / "hub.db", auth=True) as (hub, url):
        tokens = _users(hub)
        assert await _status(url, "/subscribe", None) == 401
        assert await _status(url, "/subscribe", "fw_not-a-token") == 401
        assert await _status(url, "/subscribe", tokens["feed"]) == 403  # a producer
        assert await _status(url, "/publish", tokens["vic"]) == 403  # a viewer
        assert await _status(url, "/publish", tokens["lee"]) == 403
        assert await _status(url, "/subscribe", tokens["sue"],
                             origin="https://evil.example") == 403  # another site's page
        async with _as(url, "/publish", tokens["ada"]), _as(url, "/subscribe", tokens["vic"]):
            pass  # an admin may publish, a viewer subscribe
        hub.store.run_sync(partial(remove_user, name="vic"))  # revoked: the next connection
        assert await _status(url, "/subscribe", tokens["vic"]) == 401


async def test_a_lead_sees_and_acts_on_their_team_only_and_the_audit_says_so(tmp_path):
    async with hub_running(tmp_path / "hub.db", auth=True) as (hub, url):
        tokens = _users(hub)
        await _publish(url, tokens["feed"])
        async with _as(url, "/subscribe", tokens["lee"]) as ws:
            await ws.send(json.dumps({"type": "subscribe", "teams": None, "user": "mallory"}))
            got = await read_until(ws, lambda m: m["type"] == "snapshot")
            hello = got[0]
            assert (hello["user"], hello["role"], hello["teams"]) == ("lee", "lead", ["red"])
            calls = {c["call"]: c for c in got[-1]["calls"]}
            assert set(calls) == {"r1"}  # teams: null is all the user may see
            assert calls["r1"]["customer"] == "•" * 8 + "4567"  # a lead sees it masked
            flags = {f["call"]: f for f in got[-1]["flags"]}
            assert set(flags) == {"r1"}
            await ws.send(json.dumps({"type": "subscribe", "teams": ["red", "blue"]}))
            got = await read_until(ws, lambda m: m["type"] == "snapshot")
            refused = next(m for m in got if m["type"] == "error")
            assert refused["code"] == "not_visible" and "'blue'" in refused["detail"]
            assert {c["call"] for c in got[-1]["calls"]} == {"r1"}  # holds the rest
            blue_flag = "b1:hold_long:1"
            for request in ({"type": "ack", "flag": blue_flag},
                            {"type": "note", "call": "b1", "text": "hi"}):
                await ws.send(json.dumps(request))
                error = (await read_until(ws, lambda m: m["type"] == "error"))[-1]
                assert error["code"] == "not_visible", error
            await ws.send(json.dumps({"type": "action", "call": "r1", "action": "barge"}))
            error = (await read_until(ws, lambda m: m["type"] == "error"))[-1]
            assert error["code"] == "forbidden" and "supervisor" in error["detail"]
            await ws.send(json.dumps({"type": "ack", "flag": flags["r1"]["id"]}))
            acked = (await read_until(ws, lambda m: m["type"] == "flag"))[-1]
            assert (acked["state"], acked["by"]) == ("acked", "lee")  # the token's user
        # a message of team blue never reached the lead, whatever they asked for
        rows = hub.store.run_sync(partial(audit_rows, since=None, user=None))
        assert [(r[1], r[2], r[3], r[4], r[6]) for r in rows] == [
            ("lee", "lead", "127.0.0.1", "ack", flags["r1"]["id"])]


async def test_a_viewer_may_only_read_and_a_supervisor_sees_numbers_whole(tmp_path):
    async with hub_running(tmp_path / "hub.db", auth=True) as (hub, url):
        tokens = _users(hub)
        async with _as(url, "/subscribe", tokens["vic"]) as viewer, \
                _as(url, "/subscribe", tokens["sue"]) as sup:
            for ws in (viewer, sup):
                await ws.send(json.dumps({"type": "subscribe", "detail": "summary"}))
                await read_until(ws, lambda m: m["type"] == "snapshot")
            await _publish(url, tokens["feed"])
            seen = await read_until(viewer, lambda m: m["type"] == "call_start")
            assert seen[-1]["customer"] == "•" * 8 + "4567"
            seen = await read_until(sup, lambda m: m["type"] == "call_start")
            assert seen[-1]["customer"] in ("+15551234567", "+15559876543")
            for request in ({"type": "history"}, {"type": "note", "call": "r1", "text": "x"}):
                await viewer.send(json.dumps(request))
                error = (await read_until(viewer, lambda m: m["type"] == "error"))[-1]
                assert error["code"] == "forbidden"


def test_user_command_prints_a_token_that_opens_the_door(tmp_path):
    db = str(tmp_path / "hub.db")
    added = subprocess.run([FLOORWATCH, "user", "add", "lee", "--role", "lead", "--team", "red",
                            "--db", db], capture_output=True, text=True, check=True)
    token = added.stdout.strip().splitlines()[-1]
    assert token.startswith("fw_") and len(token) > 40
    listed = subprocess.run([FLOORWATCH, "user", "list", "--db", db], capture_output=True,
                            text=True, check=True).stdout
    assert listed.split() == ["lee", "lead", "red"] and token not in listed
    bad = subprocess.run([FLOORWATCH, "user", "add", "x", "--role", "boss", "--db", db],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "boss" in bad.stderr
    gone = subprocess.run([FLOORWATCH, "user", "remove", "lee", "--db", db],
                          capture_output=True, text=True)
    assert gone.returncode == 0
    assert subprocess.run([FLOORWATCH, "user", "remove", "lee", "--db", db],
                          capture_output=True, text=True).returncode == 1


def test_insecure_local_is_refused_off_loopback():
    run = subprocess.run([FLOORWATCH, "hub", "--host", "0.0.0.0", "--insecure-local"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "loopback" in run.stderr


async def test_one_address_may_hold_only_so_many_connections(tmp_path):
    async with hub_running(tmp_path / "hub.db", auth=True, max_per_address=2) as (hub, url):
        tokens = _users(hub)
        async with _as(url, "/subscribe", tokens["sue"]), _as(url, "/subscribe", tokens["sue"]):
            assert await _status(url, "/subscribe", tokens["sue"]) == 429
        for _ in range(50):  # both closed: the address has room again
            if not hub.gate.open:
                break
            await asyncio.sleep(0.02)
        async with _as(url, "/subscribe", tokens["sue"]):
            pass
        assert hub.errors["too_many_connections"] == 1
