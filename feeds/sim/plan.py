"""Plans of synthetic calls: who is on the call, when, and what happens on it.

A `CallPlan` is the ground truth of one call. It names the call's scenarios
and holds every planned incident in absolute event time: voice effects (an
escalating customer, an agent raising their voice, sub-threshold excitement),
holds, transfers and agent talk-overs. feeds.sim.script turns a plan
into protocol messages (turn-taking, jitter, coughs, backchannels...), and
feeds.sim.truth derives the flags the plan must raise, from the plan
alone, never by running the engine.

Planned magnitudes and durations are kept well clear of the default
thresholds (feeds.core.config) so the truth is unambiguous at realistic noise:
escalations are +11..+15 dB and/or +5.5..+7 semitones, agents' raised
voices +12..+15 dB, excitement only +3..+4 dB (agents +2..+3) and +1..+2
semitones, short holds 30-100 s against long ones of 130-240 s, hold
totals at most 150 s or at least 210 s. Voice incidents start
50-70 s after the previous block, so both parties have well over the 10 s of
speech a baseline needs (also after a transfer to a new agent).

Agents take calls back to back (5-30 s wrap-up between them). An agent who
transfers a call away is free at the transfer and takes the next call; the
call goes on with the new voice. A floor runs from `start` for `duration_s`:
calls still in progress then are cut (no `call_end`); `CallPlan.stop` is
where their messages stop.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

#: 2026-01-01 09:00 UTC: the default start of a generated floor.
DEMO_EPOCH = 1767258000.0

TEAMS = ("billing", "tech", "sales", "retention", "orders", "claims", "travel", "energy")
#: Teams of the specialists a warm transfer reaches (not on the generated floor).
SPECIALIST_TEAMS = ("tier2", "escalations", "fraud")

FIRST_NAMES = (
    "Ada", "Ben", "Chloe", "Dev", "Elif", "Farah", "Gus", "Hana", "Ivan", "Jade", "Kofi", "Lena",
    "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Uma", "Victor", "Wen",
    "Ximena", "Yusuf", "Zoe", "Aiko", "Bruno", "Carmen", "Dario", "Esme", "Felix", "Greta",
    "Hugo", "Ines", "Jonas", "Kira", "Luca", "Maya", "Noor",
)
LAST_NAMES = (
    "Abbott", "Baptiste", "Chen", "Diallo", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
    "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel", "Quintero", "Rossi",
    "Santos", "Tanaka", "Ulrich", "Varga", "Weber", "Xu", "Yilmaz", "Zhang",
)

#: Scenario mix: each call draws one scenario from each group (weights need not sum to 1).
MIX: dict[str, dict[str, float]] = {
    "voice": {
        "none": 0.45,
        "distress_calmed": 0.17,  # escalation 15-40 s, calmed: distress then kudos
        "distress_long": 0.07,  # escalation 80-120 s: distress, no kudos
        "distress_3min": 0.03,  # loud for three minutes: one distress episode
        "distress_shout": 0.07,  # calmed in 35-45 s but the agent shouted too: no kudos
        "agent_shout": 0.11,  # agent +12..+15 dB for 10-25 s
    },
    "excite": {"none": 0.5, "excite_customer": 0.25, "excite_agent": 0.25},
    "hold": {
        "none": 0.50,
        "hold_short": 0.12,  # one hold of 30-100 s
        "hold_two": 0.10,  # two holds of 30-70 s
        "hold_long": 0.10,  # one hold of 130-150 s: hold_long only
        "hold_very_long": 0.08,  # one hold of 210-240 s: hold_long and hold_total
        "hold_many": 0.10,  # three holds of 70-95 s: hold_total only
    },
    "transfer": {"none": 0.62, "transfer_1": 0.18, "transfer_2": 0.13, "transfer_3": 0.07},
    "talk_over": {
        "none": 0.62,
        "talk_over": 0.18,  # 3-4 agent talk-overs 15-40 s apart: flagged
        "talk_over_two": 0.12,  # only 2 within 120 s: not flagged
        "talk_over_spread": 0.08,  # 3 spread over 130-150 s: not flagged
    },
}

_VOICE_BLOCKS = frozenset(
    {"distress_calmed", "distress_long", "distress_3min", "distress_shout", "agent_shout",
     "excite_customer", "excite_agent"}
)


@dataclass(frozen=True, slots=True)
class Voice:
    """A speaker's normal voice: loudness in dBFS and fundamental frequency in Hz."""

    db: float
    hz: float


@dataclass(frozen=True, slots=True)
class Effect:
    """From t0 to t1 one party speaks `db` louder and `st` semitones higher than normal.

    kind: "escalation" (customer), "shout" (agent) or "excitement" (either, sub-threshold).
    """

    kind: str
    party: str
    t0: float
    t1: float
    db: float
    st: float


@dataclass(frozen=True, slots=True)
class Hold:
    t0: float
    t1: float


@dataclass(frozen=True, slots=True)
class Transfer:
    """A transfer at `t`; `voice` is the agent voice heard from then on."""

    t: float
    to: str
    mode: str
    agent: str | None
    team: str | None
    voice: Voice


@dataclass(frozen=True, slots=True)
class TalkOver:
    """An agent-initiated overlap of `dur` s (>= 1 s) ending at `t`, when its event is sent."""

    t: float
    dur: float


@dataclass(frozen=True, slots=True)
class CallPlan:
    call: str
    agent: str
    agent_name: str
    team: str
    queue: str
    customer: str
    start: float
    end: float
    stop: float  # end, or the floor's end if the call is still going then
    seed: int  # for the call's turn-taking and noise
    scenarios: tuple[str, ...]
    customer_voice: Voice
    agent_voice: Voice
    effects: tuple[Effect, ...] = ()
    holds: tuple[Hold, ...] = ()
    transfers: tuple[Transfer, ...] = ()
    talk_overs: tuple[TalkOver, ...] = ()

    @property
    def ended(self) -> bool:
        """True when the call ends (with a call_end) before the floor does."""
        return self.stop >= self.end

    def agent_voice_at(self, t: float) -> Voice:
        voice = self.agent_voice
        for transfer in self.transfers:
            if transfer.t <= t:
                voice = transfer.voice
        return voice


def _ms(t: float) -> float:
    return round(t, 3)


class _Block:
    """One scenario laid out from time 0: its incidents and how long it takes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.effects: list[Effect] = []
        self.holds: list[Hold] = []
        self.transfers: list[tuple[float, bool]] = []  # (offset, warm)
        self.talk_overs: list[TalkOver] = []
        self.span = 0.0

    def shifted(self, t: float) -> _Block:
        out = _Block(self.name)
        out.effects = [
            Effect(e.kind, e.party, _ms(t + e.t0), _ms(t + e.t1), e.db, e.st) for e in self.effects
        ]
        out.holds = [Hold(_ms(t + h.t0), _ms(t + h.t1)) for h in self.holds]
        out.transfers = [(_ms(t + at), warm) for at, warm in self.transfers]
        out.talk_overs = [TalkOver(_ms(t + o.t), o.dur) for o in self.talk_overs]
        out.span = self.span
        return out


def _unused_name(name: str, taken: set[str]) -> str:
    """`name`, or the next surname after it that no agent on the floor has: two agents
    with one name would be one person to a supervisor. Draws nothing at random, so every
    floor's random stream (and its flags) stays as it was."""
    first, last = name.split(" ", 1)
    at = LAST_NAMES.index(last)
    for step in range(len(LAST_NAMES)):
        candidate = f"{first} {LAST_NAMES[(at + step) % len(LAST_NAMES)]}"
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    taken.add(name)
    return name  # more agents than surnames for this first name: keep it


def specialist_name(agent: str) -> str:
    """A warm transfer's specialist (`s039`) by name, the same each time it is drawn."""
    number = int(agent.lstrip("s"))
    return f"{FIRST_NAMES[number % len(FIRST_NAMES)]} {LAST_NAMES[(7 * number) % len(LAST_NAMES)]}"


class _Agent:
    """One floor agent: their voice, and the random stream their calls are planned from."""

    def __init__(self, seed: int, index: int, width: int, teams: int) -> None:
        self.rng = np.random.default_rng([seed, index])
        rng = self.rng
        self.number = f"{index + 1:0{width}d}"
        self.id = f"a{self.number}"
        self.name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        self.team = TEAMS[index % teams]
        self.teams = teams
        self.voice = _voice(rng)
        self.calls = 0

    def u(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def pick(self, group: str) -> str:
        weights = MIX[group]
        names = list(weights)
        p = np.array([weights[n] for n in names], dtype=float)
        return names[int(self.rng.choice(len(names), p=p / p.sum()))]

    def plan_call(self, start: float, floor_end: float) -> tuple[CallPlan, float]:
        """Plan the agent's next call at `start`; also return when the agent is free again."""
        self.calls += 1
        rng = self.rng
        names = [self.pick(group) for group in ("voice", "excite", "hold", "transfer", "talk_over")]
        voice, excite = names[0], names[1]
        if (excite == "excite_customer" and voice.startswith("distress")) or (
            excite == "excite_agent" and voice in ("agent_shout", "distress_shout")
        ):
            excite = "none"
        names[1] = excite
        chosen = [n for n in names if n != "none"]
        blocks = [self.block(n) for n in chosen]
        order = [blocks[i] for i in rng.permutation(len(blocks))]
        cursor = start
        placed: list[_Block] = []
        for block in order:
            cursor += self.u(50, 70) if block.name in _VOICE_BLOCKS else self.u(25, 55)
            placed.append(block.shifted(cursor))
            cursor += block.span
        end = max(cursor + self.u(25, 60), start + self.u(120, 480))
        end = _ms(end)
        customer_voice = _voice(rng)
        transfers = []
        current = self.voice
        for at, warm in sorted(t for b in placed for t in b.transfers):
            transfers.append(self.transfer(at, warm, current))
            current = transfers[-1].voice
        plan = CallPlan(
            call=f"c{self.calls:04d}-{self.number}",
            agent=self.id,
            agent_name=self.name,
            team=self.team,
            queue=f"{self.team}.{rng.choice(('main', 'vip', 'callback'))}",
            customer=f"cus{int(rng.integers(10**6)):06d}",
            start=start,
            end=end,
            stop=min(end, floor_end),
            seed=int(rng.integers(2**62)),
            scenarios=tuple(chosen),
            customer_voice=customer_voice,
            agent_voice=self.voice,
            effects=tuple(sorted((e for b in placed for e in b.effects), key=lambda e: e.t0)),
            holds=tuple(sorted((h for b in placed for h in b.holds), key=lambda h: h.t0)),
            transfers=tuple(transfers),
            talk_overs=tuple(sorted((o for b in placed for o in b.talk_overs), key=lambda o: o.t)),
        )
        free = transfers[0].t if transfers else end
        return plan, _ms(free + self.u(5, 30))

    def transfer(self, at: float, warm: bool, current: Voice) -> Transfer:
        rng = self.rng
        if warm:
            agent = f"s{int(rng.integers(1, 100)):03d}"
            team = str(rng.choice(SPECIALIST_TEAMS))
            return Transfer(at, agent, "warm", agent, team, _voice(rng))
        # A blind transfer names no agent, so the engine keeps the old baseline:
        # the voice that takes over is within 2 dB of the one before.
        queue = f"{TEAMS[int(rng.integers(self.teams))]}.main"
        voice = Voice(round(current.db + self.u(-2.0, 2.0), 1), _hz(rng))
        return Transfer(at, queue, "blind", None, None, voice)

    def block(self, name: str) -> _Block:
        """Lay out one scenario from time 0."""
        u = self.u
        b = _Block(name)
        if name.startswith("distress"):
            lo, hi = {"distress_calmed": (15, 40), "distress_long": (80, 120),
                      "distress_3min": (180, 200), "distress_shout": (35, 45)}[name]
            dur = u(lo, hi)
            db, st = self.escalation()
            b.effects.append(Effect("escalation", "customer", 0.0, dur, db, st))
            if name == "distress_shout":
                s0 = u(10, 13)
                b.effects.append(
                    Effect("shout", "agent", s0, s0 + u(8, 11), round(u(12, 15), 1),
                           round(u(0, 1.5), 2)))
            b.span = dur
        elif name == "agent_shout":
            b.span = u(10, 25)
            b.effects.append(
                Effect("shout", "agent", 0.0, b.span, round(u(12, 15), 1), round(u(0, 1.5), 2)))
        elif name.startswith("excite_"):
            b.span = u(10, 40)
            party = "customer" if name == "excite_customer" else "agent"
            # The agent's level is judged over 2 s of speech (the customer's over 3 s),
            # a noisier median, so their excitement stays further below the line.
            lo, hi = (3, 4) if party == "customer" else (2, 3)
            b.effects.append(
                Effect("excitement", party, 0.0, b.span, round(u(lo, hi), 1), round(u(1, 2), 2)))
        elif name.startswith("hold"):
            lengths = {
                "hold_short": lambda: [u(30, 100)],
                "hold_two": lambda: [u(30, 70), u(30, 70)],
                "hold_long": lambda: [u(130, 150)],
                "hold_very_long": lambda: [u(210, 240)],
                "hold_many": lambda: [u(70, 95), u(70, 95), u(70, 95)],
            }[name]()
            t = 0.0
            for i, length in enumerate(lengths):
                if i:
                    t += u(25, 50)
                b.holds.append(Hold(t, t + length))
                t += length
            b.span = t
        elif name.startswith("transfer_"):
            t = 0.0
            for i in range(int(name[-1])):
                if i:
                    t += u(25, 60)
                b.transfers.append((t, bool(self.rng.random() < 0.6)))
            b.span = t
        else:  # talk-over blocks
            n, gap = {"talk_over": (int(self.rng.integers(3, 5)), (15, 40)),
                      "talk_over_two": (2, (20, 60)),
                      "talk_over_spread": (3, (65, 75))}[name]
            t = 5.0
            for i in range(n):
                if i:
                    t += u(*gap)
                b.talk_overs.append(TalkOver(t, round(u(1.2, 3.0), 2)))
            b.span = t + 5.0
        return b

    def escalation(self) -> tuple[float, float]:
        """(dB, semitones) of an escalation: loud, high-pitched, or both."""
        u = self.u
        mode = self.rng.choice(("loud", "pitch", "both"), p=(0.45, 0.25, 0.30))
        if mode == "loud":
            return round(u(11, 15), 1), round(u(0, 1.5), 2)
        if mode == "pitch":
            return round(u(0, 2.5), 1), round(u(5.5, 7), 2)
        return round(u(11, 15), 1), round(u(5.5, 7), 2)


def _hz(rng: np.random.Generator) -> float:
    """A speaking f0 between 95 and 240 Hz, spread evenly in semitones."""
    return round(float(95.0 * 2.0 ** (rng.uniform(0.0, math.log2(240.0 / 95.0)))), 1)


def _voice(rng: np.random.Generator) -> Voice:
    return Voice(round(float(rng.uniform(-32.0, -18.0)), 1), _hz(rng))


def iter_plans(
    seed: int,
    agents: int = 40,
    duration_s: float = 900.0,
    start: float = DEMO_EPOCH,
    teams: int = 4,
) -> Iterator[CallPlan]:
    """The floor's calls in order of start time, planned lazily (memory ~ the agents).

    `duration_s` may be `math.inf` for an endless live floor.
    """
    if agents < 1:
        raise ValueError(f"agents: expected a whole number >= 1, got {agents!r}")
    if not 1 <= teams <= len(TEAMS):
        raise ValueError(f"teams: expected 1 to {len(TEAMS)}, got {teams!r}")
    if not duration_s > 0:
        raise ValueError(f"duration_s: expected a number > 0, got {duration_s!r}")
    floor_end = start + duration_s
    width = max(3, len(str(agents)))
    heap: list[tuple[float, int, _Agent]] = []
    names: set[str] = set()
    for index in range(agents):
        agent = _Agent(seed, index, width, teams)
        agent.name = _unused_name(agent.name, names)
        heap.append((_ms(start + agent.u(0.0, 8.0)), index, agent))
    heapq.heapify(heap)
    while heap:
        t, index, agent = heapq.heappop(heap)
        if t >= floor_end:
            continue
        plan, free = agent.plan_call(t, floor_end)
        yield plan
        heapq.heappush(heap, (free, index, agent))
