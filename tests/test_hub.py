"""The hub end to end on 127.0.0.1: two producers (JSON, MessagePack), two teams' subscribers."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from websockets.asyncio.client import connect

from feeds.core.protocol import decode_frame, encode_like
from feeds.sim.generator import floor_messages
from tests.hubkit import (
    hub_running,
    publish,
    read_until,
    replay_flags,
    small_floor,
    subscribe_to,
)

FLAG_FIELDS = ("id", "call", "t", "kind", "rule", "severity", "state", "evidence")


def _by_call(flags: list[dict]) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = defaultdict(list)
    for flag in flags:
        out[flag["call"]].append(tuple(flag[k] for k in FLAG_FIELDS))
    return dict(out)


async def _watch(url: str, team: str, calls: set[str], binary: bool) -> list[dict]:
    async with subscribe_to(url) as ws:
        await ws.send(encode_like({"type": "subscribe", "teams": [team], "batch": binary},
                                  binary))
        first = await read_until(ws, lambda m: m["type"] == "snapshot")
        ended: set[str] = set()

        def done(msg: dict) -> bool:
            if msg["type"] == "call_end":
                ended.add(msg["call"])
            return ended == calls

        return first + await read_until(ws, done)


async def test_two_producers_two_teams_match_headless_replay(tmp_path):
    floor = small_floor(seed=3)
    teams = {m["call"]: m["team"] for m in floor if m["type"] == "call_start"}
    red = {c for c, team in teams.items() if team == "red"}
    blue = {c for c, team in teams.items() if team == "blue"}
    halves = [[m for m in floor if int(m["call"][-1]) % 2 == k] for k in (0, 1)]
    async with hub_running(tmp_path / "hub.db") as (hub, url):
        watchers = [asyncio.create_task(_watch(url, "red", red, binary=False)),
                    asyncio.create_task(_watch(url, "blue", blue, binary=True))]
        while len(hub.subscribers) < 2:
            await asyncio.sleep(0.01)
        errors = await asyncio.gather(publish(url, halves[0], binary=False),
                                      publish(url, halves[1], binary=True))
        assert errors == [[], []]
        seen_red, seen_blue = await asyncio.gather(*watchers)

    for seen, mine in ((seen_red, red), (seen_blue, blue)):
        assert [m["type"] for m in seen[:2]] == ["hello", "snapshot"]
        calls_seen = {m["call"] for m in seen if "call" in m}
        assert calls_seen == mine
        flags = [m for m in seen if m["type"] == "flag"]
        expected = replay_flags([m for m in floor if m["call"] in mine])
        assert {f["rule"] for f in expected} >= {"hold_long", "talk_over", "transfers",
                                                  "customer_distress"}
        assert _by_call(flags) == _by_call(expected)
        samples = sum(1 for m in seen if m["type"] == "sample")
        assert samples == sum(1 for m in floor if m["type"] == "sample" and m["call"] in mine)


async def test_ack_is_broadcast_and_survives_a_restart(tmp_path):
    db = tmp_path / "hub.db"
    floor = small_floor(seed=4, teams=("red",))
    hold_call = "red-0"
    until_flag = [m for m in floor if m["call"] == hold_call and m["t"] <= floor[0]["t"] + 155]
    async with hub_running(db) as (_, url), subscribe_to(url) as alice, subscribe_to(url) as bob:
            await alice.send(encode_like({"type": "subscribe", "teams": ["red"],
                                          "user": "alice"}, False))
            await bob.send(encode_like({"type": "subscribe", "teams": None, "user": "bob"},
                                       True))
            await read_until(alice, lambda m: m["type"] == "snapshot")
            await read_until(bob, lambda m: m["type"] == "snapshot")
            await publish(url, until_flag, binary=True)
            raised = await read_until(alice, lambda m: m["type"] == "flag"
                                      and m["rule"] == "hold_long")
            flag_id = raised[-1]["id"]
            await alice.send(encode_like({"type": "ack", "flag": flag_id, "note": "on it"},
                                         False))
            acked = await read_until(bob, lambda m: m["type"] == "flag"
                                     and m["state"] == "acked")
            assert acked[-1]["id"] == flag_id
            assert (acked[-1]["by"], acked[-1]["note"]) == ("alice", "on it")
            await alice.send(encode_like({"type": "note", "call": hold_call,
                                          "text": "check hold script"}, False))
            note = await read_until(bob, lambda m: m["type"] == "note")
            assert note[-1]["by"] == "alice" and note[-1]["text"] == "check hold script"

    async with hub_running(db) as (_, url), subscribe_to(url) as carol:
            await carol.send(encode_like({"type": "subscribe", "teams": None}, False))
            await read_until(carol, lambda m: m["type"] == "snapshot")
            await carol.send(encode_like({"type": "history"}, False))
            reply = (await read_until(carol, lambda m: m["type"] == "history"))[-1]
            assert reply["calls"] == []  # the call never ended, so it is not history yet
            # the producer comes back and republishes the call: the ack state is restored
            await publish(url, until_flag, binary=False)
            again = await read_until(carol, lambda m: m["type"] == "flag"
                                     and m["rule"] == "hold_long")
            assert again[-1]["id"] == flag_id
            assert (again[-1]["state"], again[-1]["by"]) == ("acked", "alice")
            await carol.send(encode_like({"type": "history"}, False))
            reply = (await read_until(carol, lambda m: m["type"] == "history"))[-1]
            live = {c["call"]: c for c in reply["calls"]}
            assert live[hold_call]["live"] is True
            assert [n["text"] for n in live[hold_call]["notes"]] == ["check hold script"]
            states = {f["id"]: f["state"] for f in live[hold_call]["flags"]}
            assert states[flag_id] == "acked"


async def test_history_has_ended_calls_with_flags_and_notes(tmp_path):
    floor = small_floor(seed=5, teams=("red", "blue"), calls_per_team=2)
    async with hub_running(tmp_path / "hub.db") as (_, url):
        await publish(url, floor, binary=True)
        async with subscribe_to(url) as ws:
            await ws.send(encode_like({"type": "subscribe", "teams": ["blue"], "user": "x"},
                                      True))
            await read_until(ws, lambda m: m["type"] == "snapshot")
            await ws.send(encode_like({"type": "note", "call": "blue-1", "text": "nice"}, True))
            await read_until(ws, lambda m: m["type"] == "note")
            await ws.send(encode_like({"type": "history", "teams": ["red", "blue"],
                                       "limit": 5}, True))
            reply = decode_frame(await ws.recv())
    assert reply["type"] == "history"
    calls = {c["call"]: c for c in reply["calls"]}
    assert set(calls) == {"blue-0", "blue-1"}  # red is outside this subscription
    expected = replay_flags([m for m in floor if m["call"] == "blue-0"])
    assert [f["id"] for f in calls["blue-0"]["flags"]] == sorted(
        {f["id"] for f in expected}, key=[f["id"] for f in expected].index)
    assert all(f["state"] == "cleared" for f in calls["blue-0"]["flags"])
    assert calls["blue-1"]["notes"][0]["text"] == "nice"
    assert calls["blue-0"]["hold_total"] > 100


async def test_generated_floor_with_team_changing_transfers_is_routed_by_team(tmp_path):
    floor = list(floor_messages(seed=3, agents=8, duration_s=300.0, teams=2))
    call_teams: dict[str, set[str]] = defaultdict(set)
    for m in floor:
        if m["type"] == "call_start" or (m["type"] == "event" and m.get("team")):
            call_teams[m["call"]].add(m["team"])
    teams = sorted(set().union(*call_teams.values()))
    assert len(teams) >= 3  # the two floor teams and at least one transfer target
    mine = {team: {c for c, ts in call_teams.items() if team in ts} for team in teams}
    async with hub_running(tmp_path / "hub.db") as (hub, url):

        async def watch(team: str) -> list[dict]:
            async with subscribe_to(url) as ws:
                await ws.send(encode_like({"type": "subscribe", "teams": [team],
                                           "batch": True}, True))
                seen = await read_until(ws, lambda m: m["type"] == "snapshot")
                seen += await read_until(ws, lambda m: m["type"] == "note")
                return seen

        watchers = [asyncio.create_task(watch(team)) for team in teams]
        while len(hub.subscribers) < len(teams):
            await asyncio.sleep(0.01)
        assert await publish(url, floor, binary=True) == []
        async with subscribe_to(url) as ws:  # a note on every team ends each watcher
            await ws.send(encode_like({"type": "subscribe", "teams": None}, True))
            await read_until(ws, lambda m: m["type"] == "snapshot")
            for team in teams:
                call = min(mine[team])
                await ws.send(encode_like({"type": "note", "call": call, "text": team}, True))
            results = await asyncio.gather(*watchers)
    all_flags = []
    for team, seen in zip(teams, results, strict=True):
        calls = {m["call"] for m in seen if "call" in m and m["type"] != "note"}
        assert calls == mine[team], team
        flags = [m for m in seen if m["type"] == "flag"]
        assert all(f["team"] == team for f in flags)
        all_flags += flags
    got = {c: sorted(fs) for c, fs in _by_call(all_flags).items()}
    want = {c: sorted(fs) for c, fs in _by_call(replay_flags(floor)).items()}
    assert got == want


async def test_subscribers_hear_how_many_producers_are_connected():
    """A board can tell a dead feed from a quiet one: hub_status after the snapshot and
    whenever a producer comes or goes."""
    async with hub_running() as (_, url), subscribe_to(url) as ws:
        await ws.send(encode_like({"type": "subscribe", "teams": None, "batch": True}, False))
        seen = await read_until(ws, lambda m: m["type"] == "hub_status")
        assert [m["type"] for m in seen] == ["hello", "snapshot", "hub_status"]
        assert seen[-1]["producers"] == 0
        async with connect(url + "/publish"):
            assert (await read_until(ws, lambda m: m["type"] == "hub_status"))[-1][
                "producers"] == 1
        assert (await read_until(ws, lambda m: m["type"] == "hub_status"))[-1]["producers"] == 0
