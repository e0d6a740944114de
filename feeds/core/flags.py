"""Flags: what the detection engine tells a supervisor, with the numbers behind it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

#: Rule id -> kind. Rule ids are stable: recordings, tests and headless output name them.
RULE_KINDS: dict[str, str] = {
    "hold_long": "intervene",
    "hold_total": "coach",
    "transfers": "intervene",
    "customer_distress": "intervene",
    "agent_raised_voice": "coach",
    "talk_over": "coach",
    "deescalated": "kudos",
}

KINDS = ("intervene", "coach", "kudos")
STATES = ("raised", "cleared", "acked", "snoozed")
#: States in which a flag is still open (shown on the board).
OPEN_STATES = frozenset({"raised", "acked", "snoozed"})


@dataclass(frozen=True, slots=True)
class Flag:
    """One flag transition, exactly the fields of the protocol's `flag` message."""

    id: str
    call: str
    t: float
    kind: str
    rule: str
    severity: int
    state: str
    evidence: str

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def with_state(self, state: str, t: float, evidence: str | None = None) -> Flag:
        if evidence is None:
            evidence = self.evidence
        return replace(self, state=state, t=t, evidence=evidence)

    def to_message(self) -> dict[str, Any]:
        message = {"type": "flag"}
        message.update(asdict(self))
        return message

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Flag:
        return cls(**{name: message[name] for name in cls.__slots__})
