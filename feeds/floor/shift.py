"""This shift so far: ended calls for the coaching queue, and per-agent totals.

The hub's `history` answer (its store's call summaries, with flags and notes)
and the calls seen ending in this session become `EndedCall`s; `agent_stats`
sums them with the live calls per agent, alphabetically and never ranked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from feeds.core.flags import KINDS, RULE_KINDS
from feeds.floor.view import AWAITING, NUM, CallRow, need_agent, need_field, number


class CallFlag(NamedTuple):
    """A flag a call had, and the agent it is credited to: whoever had the call when it
    was raised (None after a transfer that named nobody)."""

    kind: str
    rule: str
    evidence: str
    agent: str | None


@dataclass(frozen=True, slots=True)
class EndedCall:
    """A finished call for the coaching queue and the agent summary."""

    call: str
    agent: str | None  # None: it ended waiting for an agent after a blind transfer
    agent_name: str | None
    team: str
    queue: str | None
    started: float
    ended: float
    hold_total: float
    transfers: int
    talk_overs: int
    flags: tuple[CallFlag, ...]
    notes: tuple[tuple[float, str, str], ...]  # (t, by, text)
    agents: tuple[str, ...] = ()  # every agent who had the call, in order

    @property
    def name(self) -> str:
        return self.agent_name or self.agent or AWAITING

    @property
    def coaching(self) -> bool:
        return bool(self.notes) or any(f.kind in ("coach", "kudos") for f in self.flags)

    @classmethod
    def from_summary(cls, msg: Mapping[str, Any]) -> EndedCall:
        where = "history.calls[]"
        agent = need_agent(msg, where)
        flags = []
        for item in msg.get("flags") or ():
            if isinstance(item, str):
                flags.append(CallFlag(RULE_KINDS.get(item, ""), item, "", agent))
            elif isinstance(item, Mapping):
                rule = str(item.get("rule", ""))
                kind = str(item.get("kind") or RULE_KINDS.get(rule, ""))
                # the hub's flags say who had the call when each was raised
                credited = item.get("agent", agent)
                flags.append(CallFlag(kind, rule, str(item.get("evidence") or ""),
                                      credited if isinstance(credited, str) else None))
        agents = tuple(a for a in msg.get("agents") or () if isinstance(a, str)) or (
            (agent,) if agent else ())
        notes = []
        for item in msg.get("notes") or ():
            if isinstance(item, str):
                notes.append((0.0, "", item))
            elif isinstance(item, Mapping):
                t = item.get("t")
                notes.append((float(t) if isinstance(t, NUM) else 0.0,
                              str(item.get("by") or ""), str(item.get("text") or "")))
        call = need_field(msg, "call", str, where)
        started = float(need_field(msg, "started", NUM, where))
        ended = msg.get("ended")
        return cls(
            call=call,
            agent=agent,
            agent_name=msg.get("agent_name") if isinstance(msg.get("agent_name"), str) else None,
            team=str(msg.get("team") or ""),
            queue=msg.get("queue") if isinstance(msg.get("queue"), str) else None,
            started=started,
            ended=float(ended) if isinstance(ended, NUM) else started,
            hold_total=number(msg.get("hold_total")),
            transfers=int(number(msg.get("transfers"))),
            talk_overs=int(number(msg.get("talk_overs"))),
            flags=tuple(flags),
            notes=tuple(notes),
            agents=agents,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "call": self.call, "agent": self.agent, "agent_name": self.agent_name,
            "team": self.team, "queue": self.queue, "started": self.started,
            "ended": self.ended, "duration": round(self.ended - self.started, 3),
            "hold_total": self.hold_total, "transfers": self.transfers,
            "talk_overs": self.talk_overs,
            "agents": list(self.agents),
            "flags": [f._asdict() for f in self.flags],
            "notes": [{"t": t, "by": b, "text": x} for t, b, x in self.notes],
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class AgentStats:
    """One agent's shift so far; patterns to talk about, never a ranking."""

    agent: str
    name: str
    team: str
    calls: int
    live: int
    avg_hold: float
    transfers: int
    talk_over_rate: float  # talk-overs per call
    flags: Mapping[str, int]


def agent_stats(ended: Iterable[EndedCall],
                live: Iterable[tuple[CallRow, Sequence[str], Iterable[CallFlag]]]
                ) -> list[AgentStats]:
    """Per-agent totals over ended and live calls, sorted by name (not by any score).

    A call counts for every agent who had it; its holds, transfers and talk-overs for
    the last of them; each flag for whoever had the call when it was raised, and none for
    a call waiting in a queue after a transfer that named nobody. A live call comes with
    its agents and every flag it has had this shift (cleared ones too: a distress the
    agent calmed is part of the shift); its holds so far count, the running one too."""
    acc: dict[str, dict[str, Any]] = {}

    def slot(agent: str, name: str | None, team: str) -> dict[str, Any]:
        s = acc.setdefault(agent, {"name": agent, "team": team, "calls": 0, "live": 0,
                                   "hold": 0.0, "transfers": 0, "talk_overs": 0,
                                   "flags": dict.fromkeys(KINDS, 0)})
        if name:
            s["name"] = name
        return s

    def add(agents: Sequence[str], current: str | None, name: str | None, team: str,
            hold: float, transfers: int, talk_overs: int, flags: Iterable[CallFlag],
            is_live: bool) -> None:
        for agent in agents:
            s = slot(agent, name if agent == current else None, team)
            s["calls"] += 1
            s["live"] += is_live and agent == current
        if agents:
            s = acc[agents[-1]]
            s["hold"] += hold
            s["transfers"] += transfers
            s["talk_overs"] += talk_overs
        for flag in flags:
            if flag.agent is not None and flag.kind in KINDS:
                slot(flag.agent, None, team)["flags"][flag.kind] += 1

    for call in ended:
        add(call.agents, call.agent, call.agent_name, call.team, call.hold_total,
            call.transfers, call.talk_overs, call.flags, False)
    for row, agents, flags in live:
        add(agents, row.agent, row.agent_name, row.team, row.hold_sum(), row.transfers,
            row.talk_overs, flags, True)
    out = [
        AgentStats(agent, s["name"], s["team"], s["calls"], s["live"],
                   s["hold"] / max(1, s["calls"]), s["transfers"],
                   s["talk_overs"] / max(1, s["calls"]), MappingProxyType(s["flags"]))
        for agent, s in acc.items()
    ]
    return sorted(out, key=lambda a: (a.name.casefold(), a.agent))
