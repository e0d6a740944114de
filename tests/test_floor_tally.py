"""The counts bar and the no-feed marks, kept as calls change, equal a walk of the floor."""

from __future__ import annotations

import random

from feeds.core.flags import KINDS
from feeds.floor.model import Floor
from feeds.floor.view import NO_FEED_AFTER
from tests.test_floor import T0, connected, flag, start


def test_counts_teams_and_no_feed_match_a_walk_of_every_row():
    """Calls start, end, go on hold and back, move team by transfer and by update, get
    flags that are raised and closed, go silent and come back, and the hub resends the
    floor; after every frame the floor's counts, teams and no-feed marks are what
    looking at every live row says."""
    rng = random.Random(11)
    floor = Floor()
    connected(floor)
    teams = ["red", "blue", "green"]
    live: list[str] = []
    wall = 0.0
    for step in range(1500):
        wall += rng.choice([0.1, 0.5, 2.0])
        t = T0 + wall
        roll = rng.random()
        if roll < 0.12 or not live:
            call = f"c{step}"
            live.append(call)
            floor.apply(start(call, f"a{step}", team=rng.choice(teams), t=t), wall)
        elif roll < 0.2:
            call = live.pop(rng.randrange(len(live)))
            floor.apply({"type": "call_end", "call": call, "t": t}, wall)
        elif roll < 0.4:
            call = rng.choice(live)
            event = rng.choice(["hold_start", "hold_end", "transfer"])
            extra = {"to": "q2", "team": rng.choice(teams)} if event == "transfer" else {}
            floor.apply({"type": "event", "call": call, "t": t, "event": event, **extra}, wall)
        elif roll < 0.6:
            call = rng.choice(live)
            floor.apply({"type": "call_update", "call": call, "t": t,
                         "state": rng.choice(["talking", "hold"]),
                         "team": rng.choice(teams)}, wall)
        elif roll < 0.98:
            call = rng.choice(live)
            rule, kind = rng.choice([("hold_long", "intervene"), ("talk_over", "coach"),
                                     ("deescalated", "kudos")])
            state = rng.choice(["raised", "acked", "snoozed", "cleared"])
            floor.apply(flag(call, rule, kind, state, t=t), wall)
        else:  # the hub's snapshot after a resubscribe: the same floor, resent
            frame = floor.take(wall)
            calls = [{"call": c, "agent": r.agent, "team": r.team, "started": r.started,
                      "t": r.t, "state": r.state} for c, r in frame.rows.items()]
            flags = [{"type": "flag", "id": f.id, "call": f.call, "t": f.t, "kind": f.kind,
                      "rule": f.rule, "severity": f.severity, "state": f.state,
                      "evidence": f.evidence}
                     for r in frame.rows.values() for f in r.flags]
            floor.apply({"type": "snapshot", "calls": calls, "flags": flags}, wall)
        if step % 5:
            continue
        frame = floor.take(wall)
        rows = [frame.rows[c] for c in frame.rows]
        assert sorted(frame.rows) == sorted(live)
        assert frame.counts.live == len(live)
        assert frame.counts.on_hold == sum(r.state == "hold" for r in rows)
        assert frame.teams == frozenset(r.team for r in rows)
        walked = dict.fromkeys(KINDS, 0)
        for r in rows:
            for f in r.flags:
                walked[f.kind] += 1
        assert dict(frame.counts.flags) == walked
        assert frame.counts.no_feed == sum(r.no_feed for r in rows)
        for r in rows:  # silent for longer than NO_FEED_AFTER, and not on hold: no feed
            if r.no_feed:
                assert r.state != "hold"
    assert any(floor.take(wall + NO_FEED_AFTER + 1).rows[c].no_feed for c in live)
