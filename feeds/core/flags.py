"""Flags: what the detection engine tells a supervisor, with the numbers behind it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
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
    """One flag transition: the fields of the protocol's `flag` message, and `values`.

    `values` (a documented extension) holds the numbers the evidence sentence states,
    by name (docs/rules.md lists them per rule), so a UI shows them without reading
    the sentence: the engine fills both in the same place.
    """

    id: str
    call: str
    t: float
    kind: str
    rule: str
    severity: int
    state: str
    evidence: str
    values: Mapping[str, float] = field(default_factory=dict, hash=False)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def with_state(self, state: str, t: float, evidence: str,
                   values: Mapping[str, float]) -> Flag:
        return replace(self, state=state, t=t, evidence=evidence, values=values)

    def to_message(self) -> dict[str, Any]:
        """The protocol's `flag` message (with `values`)."""
        message: dict[str, Any] = {"type": "flag"}
        message.update((f.name, getattr(self, f.name)) for f in fields(Flag))
        message["values"] = dict(self.values)
        return message

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Flag:
        """A flag from a valid `flag` message (one without `values` has none)."""
        names = [f.name for f in fields(Flag) if f.name != "values"]
        return cls(**{name: message[name] for name in names},
                   values=dict(message.get("values") or {}))
