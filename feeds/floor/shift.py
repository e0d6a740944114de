"""This shift so far: ended calls for the coaching queue, and per-agent totals.

The hub's `history` answer (its store's call summaries, with flags and notes)
and the calls seen ending in this session become `EndedCall`s; `agent_stats`
sums them with the live calls per agent, alphabetically and never ranked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from feeds.core.flags import KINDS, RULE_KINDS
from feeds.floor.view import NUM, CallRow, need_field, number


@dataclass(frozen=True, slots=True)
class EndedCall:
    """A finished call for the coaching queue and the agent summary."""

    call: str
    agent: str
    agent_name: str | None
    team: str
    queue: str | None
    started: float
    ended: float
    hold_total: float
    transfers: int
    talk_overs: int
    flags: tuple[tuple[str, str, str], ...]  # (kind, rule, evidence)
    notes: tuple[tuple[float, str, str], ...]  # (t, by, text)

    @property
    def name(self) -> str:
        return self.agent_name or self.agent

    @property
    def coaching(self) -> bool:
        return bool(self.notes) or any(kind in ("coach", "kudos") for kind, _, _ in self.flags)

    @classmethod
    def from_summary(cls, msg: Mapping[str, Any]) -> EndedCall:
        flags = []
        for item in msg.get("flags") or ():
            if isinstance(item, str):
                flags.append((RULE_KINDS.get(item, ""), item, ""))
            elif isinstance(item, Mapping):
                rule = str(item.get("rule", ""))
                kind = str(item.get("kind") or RULE_KINDS.get(rule, ""))
                flags.append((kind, rule, str(item.get("evidence") or "")))
        notes = []
        for item in msg.get("notes") or ():
            if isinstance(item, str):
                notes.append((0.0, "", item))
            elif isinstance(item, Mapping):
                t = item.get("t")
                notes.append((float(t) if isinstance(t, NUM) else 0.0,
                              str(item.get("by") or ""), str(item.get("text") or "")))
        where = "history.calls[]"
        call = need_field(msg, "call", str, where)
        agent = need_field(msg, "agent", str, where)
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
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "call": self.call, "agent": self.agent, "agent_name": self.agent_name,
            "team": self.team, "queue": self.queue, "started": self.started,
            "ended": self.ended, "duration": round(self.ended - self.started, 3),
            "hold_total": self.hold_total, "transfers": self.transfers,
            "talk_overs": self.talk_overs,
            "flags": [{"kind": k, "rule": r, "evidence": e} for k, r, e in self.flags],
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
                live: Iterable[tuple[CallRow, Iterable[str]]]) -> list[AgentStats]:
    """Per-agent totals over ended and live calls, sorted by name (not by any score).

    A live call comes with the kind of every flag it has had this shift (cleared ones
    too: a distress the agent calmed is part of the shift), and its holds so far count,
    the running one included."""
    acc: dict[str, dict[str, Any]] = {}

    def slot(agent: str, name: str, team: str) -> dict[str, Any]:
        return acc.setdefault(agent, {"name": name, "team": team, "calls": 0, "live": 0,
                                      "hold": 0.0, "transfers": 0, "talk_overs": 0,
                                      "flags": dict.fromkeys(KINDS, 0)})

    for call in ended:
        s = slot(call.agent, call.name, call.team)
        s["calls"] += 1
        s["hold"] += call.hold_total
        s["transfers"] += call.transfers
        s["talk_overs"] += call.talk_overs
        for kind, _, _ in call.flags:
            if kind in s["flags"]:
                s["flags"][kind] += 1
    for row, kinds in live:
        s = slot(row.agent, row.name, row.team)
        s["calls"] += 1
        s["live"] += 1
        s["hold"] += row.hold_sum()
        s["transfers"] += row.transfers
        s["talk_overs"] += row.talk_overs
        for kind in kinds:
            if kind in s["flags"]:
                s["flags"][kind] += 1
    out = [
        AgentStats(agent, s["name"], s["team"], s["calls"], s["live"],
                   s["hold"] / s["calls"], s["transfers"], s["talk_overs"] / s["calls"],
                   MappingProxyType(s["flags"]))
        for agent, s in acc.items()
    ]
    return sorted(out, key=lambda a: (a.name.casefold(), a.agent))
