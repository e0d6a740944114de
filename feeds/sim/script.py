"""One planned call as protocol messages: turn-taking, jitter and the harmless noise of real calls.

The plan (feeds.sim.plan) fixes the incidents; this module adds what
every call has and no rule should react to: turns of a few seconds with short
gaps, short pauses and unvoiced sounds, per-turn and per-sample jitter (about
2 dB and 1 semitone), backchannels ("mm-hm", a blip under 1 s sent as a
`talk_over` event with `dur` < 1), customers cutting in (customer `talk_over`
of 1.1-2.5 s), coughs (one very loud unpitched sample) and single loud words
(0.5-1 s, at most one a minute per party). Times inside the script are
seconds since the call's start; messages carry absolute event time.

Samples are computed with numpy a chunk at a time, so a call holds only its
turn list and one chunk in memory.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from feeds.sim.plan import CallPlan, Effect, Transfer, specialist_name

#: Samples computed at once per call, and turned into message dicts at once.
CHUNK = 256
SLICE = 32
#: Per-sample jitter of a speaker's loudness (dB) and pitch (semitones).
JITTER_DB = 2.0
JITTER_ST = 1.0
#: Per-turn wobble of a speaker's level: uniform within +/- these.
TURN_DB = 1.0
TURN_ST = 0.5
#: Chance that a voiced sample is a short pause (null), or voiced but unpitched.
PAUSE_P = 0.06
UNPITCHED_P = 0.05
#: Effects ramp in and out over this many seconds.
RAMP_S = 1.5
#: Median turn length (s) by who dominates the talk: (customer, agent).
TURN_MEDIANS = {"normal": (3.0, 3.5), "customer": (6.0, 1.5), "agent": (1.5, 5.0)}

_ST_PER_OCTAVE = 12.0


def _st(hz: float) -> float:
    return _ST_PER_OCTAVE * math.log2(hz / 100.0)


@dataclass(slots=True)
class _PartyScript:
    """One party's speech: turn intervals with their level, plus coughs and loud words."""

    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    dbs: list[float] = field(default_factory=list)
    sts: list[float] = field(default_factory=list)
    coughs: list[tuple[float, float]] = field(default_factory=list)  # (time, dBFS)
    words: list[tuple[float, float, float, float]] = field(default_factory=list)  # t0, t1, +dB, +st
    effects: list[Effect] = field(default_factory=list)
    table: np.ndarray = field(default_factory=lambda: np.empty((4, 0)))  # the turns, frozen


class _Script:
    """The call laid out in time: both parties' speech and the events."""

    def __init__(self, plan: CallPlan) -> None:
        self.plan = plan
        # Scalars come from `random` (fast one at a time), per-sample noise from numpy.
        self.rng = random.Random(plan.seed)
        self.noise = np.random.default_rng(plan.seed)
        self.base = plan.start
        self.length = plan.end - plan.start
        self.parties = {"customer": _PartyScript(), "agent": _PartyScript()}
        # (relative t, event, talk_over's by, talk_over's dur, transfer): built into
        # messages only when sent, so a live call holds no message dicts.
        self.events: list[tuple[float, str, str | None, float | None, Transfer | None]] = []
        for effect in plan.effects:
            self.parties[effect.party].effects.append(self._rel_effect(effect))
        self._turns()
        self._incidents()
        self.events.sort(key=lambda e: e[0])
        for script in self.parties.values():
            script.table = np.array([script.starts, script.ends, script.dbs, script.sts])
            script.starts, script.ends, script.dbs, script.sts = [], [], [], []

    def _rel(self, t: float) -> float:
        return t - self.base

    def _rel_effect(self, e: Effect) -> Effect:
        return Effect(e.kind, e.party, self._rel(e.t0), self._rel(e.t1), e.db, e.st)

    def _style(self, t: float) -> str:
        for e in self.parties["agent"].effects:
            if e.kind == "shout" and e.t0 <= t < e.t1:
                return "agent"
        for e in self.parties["customer"].effects:
            if e.kind == "escalation" and e.t0 <= t < e.t1:
                return "customer"
        return "normal"

    def _turn(self, party: str, t0: float, t1: float, quieter: float = 0.0) -> None:
        plan, rng = self.plan, self.rng
        # (The turn that starts at a transfer is the new agent's, rounding aside.)
        voice = (plan.customer_voice if party == "customer"
                 else plan.agent_voice_at(t0 + self.base + 1e-6))
        script = self.parties[party]
        script.starts.append(t0)
        script.ends.append(t1)
        script.dbs.append(voice.db - quieter + rng.uniform(-TURN_DB, TURN_DB))
        script.sts.append(_st(voice.hz) + rng.uniform(-TURN_ST, TURN_ST))

    def _event(
        self,
        t: float,
        event: str,
        by: str | None = None,
        dur: float | None = None,
        transfer: Transfer | None = None,
    ) -> None:
        self.events.append((t, event, by, dur, transfer))

    def _turns(self) -> None:
        """Free turn-taking between fixed pieces (holds, scripted talk-overs) and anchors."""
        plan, rng = self.plan, self.rng
        fixed: list[tuple[float, float, Any]] = []
        for hold in plan.holds:
            a, b = self._rel(hold.t0), self._rel(hold.t1)
            fixed.append((a, b, None))
            self._event(a, "hold_start")
            self._event(b, "hold_end")
        for over in plan.talk_overs:
            end = self._rel(over.t)
            fixed.append((end - over.dur - rng.uniform(1.5, 3.0),
                          end + rng.uniform(2.0, 5.0), over))
        anchors: list[tuple[float, str]] = []
        for e in plan.effects:
            anchors.append((self._rel(e.t0), e.party))
            anchors.append((self._rel(e.t1), "customer"))
        for transfer in plan.transfers:
            t = self._rel(transfer.t)
            anchors.append((t, "agent"))
            self._event(t, "transfer", transfer=transfer)
        fixed.sort(key=lambda f: f[0])
        anchors.sort()
        cursor, speaker = 0.0, "agent"
        for a, b, over in [*fixed, (self.length, self.length, None)]:
            cuts = [(t, who) for t, who in anchors if cursor < t < a]
            for t, who in cuts:
                self._fill(cursor, t, speaker)
                cursor, speaker = t, who
            self._fill(cursor, a, speaker)
            if over is not None:  # customer talking, agent cuts in and holds the floor
                end = self._rel(over.t)
                self._turn("customer", a, end)
                self._turn("agent", end - over.dur, b)
                self._event(end, "talk_over", "agent", over.dur)
                speaker = "customer"
            else:  # after a hold the agent speaks first
                speaker = "agent"
            cursor = b
        for script in self.parties.values():  # blips were appended out of order
            order = np.argsort(script.starts, kind="stable")
            for name in ("starts", "ends", "dbs", "sts"):
                values = getattr(script, name)
                setattr(script, name, [values[i] for i in order])

    def _fill(self, a: float, b: float, speaker: str) -> None:
        """Alternate turns from `a` to `b`, with gaps, overlaps and backchannels."""
        rng = self.rng
        t = a
        while b - t >= 0.6:
            cust_med, agent_med = TURN_MEDIANS[self._style(t)]
            median = cust_med if speaker == "customer" else agent_med
            end = t + min(max(median * rng.lognormvariate(0.0, 0.45), 0.8), 12.0)
            if end > b - 0.6:
                end = b
            listener = "agent" if speaker == "customer" else "customer"
            nxt = end + rng.uniform(0.15, 0.9)
            if end < b:
                r = rng.random()
                if listener == "customer" and r < 0.10 and end - t > 3.5:
                    overlap = round(rng.uniform(1.1, 2.5), 2)  # the customer cuts in
                    nxt = end - overlap
                    self._event(end, "talk_over", "customer", overlap)
                elif r < 0.2 and end - t > 1.5:
                    overlap = round(rng.uniform(0.2, 0.8), 2)  # starting a beat early
                    nxt = end - overlap
                    self._event(end, "talk_over", listener, overlap)
            self._turn(speaker, t, end)
            room = min(end, nxt) - 1.2
            ends = self.parties[listener].ends
            earliest = max(t + 0.8, ends[-1] + 0.3 if ends else 0.0)
            if room > earliest and rng.random() < 0.35:  # "mm-hm"
                at = rng.uniform(earliest, room)
                blip = round(rng.uniform(0.3, 0.9), 2)
                self._turn(listener, at, at + blip, quieter=4.0)
                self._event(at + blip, "talk_over", listener, blip)
            if end >= b:
                break
            t, speaker = nxt, listener

    def _incidents(self) -> None:
        """Coughs (customers only: agents mute) and single loud words, at most one a minute."""
        rng, plan = self.rng, self.plan
        holds = [(self._rel(h.t0), self._rel(h.t1)) for h in plan.holds]
        for party, script in self.parties.items():
            busy = [(e.t0 - 5.0, e.t1 + 5.0) for e in script.effects] + holds
            last = -math.inf
            for i in range(len(script.starts)):
                t0, t1 = script.starts[i], script.ends[i]
                if t0 < 15.0 or t0 - last < 60.0 or t1 - t0 < 4.0:
                    continue
                if any(a < t1 and t0 < b for a, b in busy) or rng.random() > 0.25:
                    continue
                if party == "customer" and rng.random() < 0.4:
                    at = rng.uniform(t0, t1)
                    script.coughs.append((at, script.dbs[i] + rng.uniform(15.0, 25.0)))
                else:
                    longest = 1.0 if party == "customer" else 0.75
                    length = rng.uniform(0.5, longest)
                    w0 = rng.uniform(t0 + 1.5, t1 - 1.5 - length)
                    script.words.append((w0, w0 + length, rng.uniform(10.0, 14.0),
                                         rng.uniform(1.0, 3.0)))
                last = t1

    def party_chunk(self, party: str, mids: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """(dBFS, Hz) of one party for the samples whose intervals' midpoints are `mids`.

        NaN where the party is silent (dB and Hz) or voiced without a pitch (Hz).
        """
        noise, script = self.noise, self.parties[party]
        n = len(mids)
        starts, ends, dbs, sts = script.table
        if not len(starts):
            return np.full(n, np.nan), np.full(n, np.nan)
        idx = np.searchsorted(starts, mids, side="right") - 1
        at = np.maximum(idx, 0)
        voiced = (idx >= 0) & (mids < ends[at])
        db = dbs[at] + noise.normal(0.0, JITTER_DB, n)
        st = sts[at] + noise.normal(0.0, JITTER_ST, n)
        voiced &= noise.random(n) >= PAUSE_P
        pitched = voiced & (noise.random(n) >= UNPITCHED_P)
        for e in script.effects:
            if e.t1 > mids[0] and e.t0 < mids[-1]:
                ramp = np.clip(np.minimum(mids - e.t0, e.t1 - mids) / RAMP_S, 0.0, 1.0)
                db += e.db * ramp
                st += e.st * ramp
        for w0, w1, up_db, up_st in script.words:
            if w1 > mids[0] and w0 < mids[-1]:
                inside = (mids >= w0) & (mids < w1)
                db[inside] += up_db
                st[inside] += up_st
        first = mids[0] - dt / 2.0
        for at_t, level in script.coughs:
            i = int((at_t - first) // dt)
            if 0 <= i < n:
                voiced[i], pitched[i], db[i] = True, False, level
        db = np.where(voiced, np.round(np.minimum(db, -0.5), 1), np.nan)
        hz = np.where(pitched, np.round(100.0 * np.exp2(st / _ST_PER_OCTAVE), 1), np.nan)
        return db, hz

    def event_message(self, at: int) -> dict[str, Any]:
        t, event, by, dur, transfer = self.events[at]
        msg: dict[str, Any] = {"type": "event", "call": self.plan.call,
                               "t": round(self.base + t, 3), "event": event}
        if event == "talk_over":
            msg["by"], msg["dur"] = by, dur
        elif transfer is not None:
            msg["to"], msg["mode"] = transfer.to, transfer.mode
            if transfer.agent:
                msg["agent"], msg["team"] = transfer.agent, transfer.team
                msg["agent_name"] = specialist_name(transfer.agent)
        return msg


def _values(column: np.ndarray) -> list[float | None]:
    return [None if v != v else v for v in column.tolist()]  # NaN -> None


def call_messages(plan: CallPlan, dt: float = 0.25) -> Iterator[dict[str, Any]]:
    """The call's messages in event-time order, from call_start to call_end (or its stop).

    Samples are computed CHUNK at a time with numpy and turned into dicts SLICE at
    a time, so a live call holds a few arrays, not thousands of Python objects.
    """
    call = plan.call
    yield {
        "type": "call_start", "call": call, "t": plan.start, "agent": plan.agent,
        "team": plan.team, "agent_name": plan.agent_name, "queue": plan.queue,
        "customer": plan.customer,
    }
    script = _Script(plan)
    events = script.events
    n_events = len(events)
    while n_events and round(plan.start + events[n_events - 1][0], 3) > plan.stop:
        n_events -= 1
    next_t = round(plan.start + events[0][0], 3) if n_events else math.inf
    n_samples = math.floor((plan.stop - plan.start) / dt + 1e-9)
    e_at = 0
    for k0 in range(0, n_samples, CHUNK):
        ks = np.arange(k0 + 1, min(k0 + CHUNK, n_samples) + 1)
        mids = ks * dt - dt / 2.0
        columns = (
            np.round(plan.start + ks * dt, 3),
            *script.party_chunk("customer", mids, dt),
            *script.party_chunk("agent", mids, dt),
        )
        for s0 in range(0, len(ks), SLICE):
            times, c_db, c_hz, a_db, a_hz = (
                _values(column[s0:s0 + SLICE]) for column in columns)
            for i, t in enumerate(times):
                while next_t < t:
                    yield script.event_message(e_at)
                    e_at += 1
                    next_t = round(plan.start + events[e_at][0], 3) if e_at < n_events else math.inf
                yield {
                    "type": "sample", "call": call, "t": t, "dt": dt, "cust_pitch": c_hz[i],
                    "cust_db": c_db[i], "agent_pitch": a_hz[i], "agent_db": a_db[i],
                }
    while e_at < n_events:
        yield script.event_message(e_at)
        e_at += 1
    if plan.ended:
        yield {"type": "call_end", "call": call, "t": plan.end, "reason": "hangup"}
