"""What the supervisor UI reads about the floor: immutable views built by feeds.floor.

Flags with who acted on them (`FlagView`), one row per live call (`CallRow`),
a call's detail (`CallDetail`), the feed's status (`FeedStatus`) and the
`Frame` the app takes at a fixed rate. Everything here is immutable, so a
screen can hold on to what it was given while the model moves on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from feeds.core.flags import KINDS, RULE_KINDS, STATES, Flag
from feeds.core.roles import may

#: Seconds without any message after which a connected feed counts as stale.
STALE_AFTER = 5.0
#: Wall seconds without a message for a call, not on hold, after which it shows "no feed".
#: A live call's producer sends a sample at least every second (the hub a call_update).
NO_FEED_AFTER = 5.0

#: Badge letter per rule: kind is shown by the prefix, so color is never the only cue.
RULE_LETTERS = {
    "hold_long": "H",
    "transfers": "T",
    "customer_distress": "D",
    "hold_total": "H",
    "agent_raised_voice": "V",
    "talk_over": "O",
    "deescalated": "K",
}
KIND_PREFIX = {"intervene": "!", "coach": "?", "kudos": "+"}

#: The levels of a sample, in the order of CallRow.levels, .baselines and .trends.
LEVELS = ("cust_db", "cust_pitch", "agent_db", "agent_pitch")


class FloorError(ValueError):
    """A hub message the model cannot use; the text names the field and the problem."""


#: What a character that cannot be shown becomes.
UNPRINTABLE = "\ufffd"


def printable(value: Any) -> Any:
    """`value` with every string in it (in maps and lists too) made printable: control
    characters (an escape sequence's ESC, a newline) become UNPRINTABLE, so text from
    the wire is shown as text and never moves a terminal's cursor or retitles it. The
    same object when there was nothing to change, which is nearly always."""
    kind = type(value)
    if kind is str:
        if value.isprintable():
            return value
        return "".join(c if c.isprintable() else UNPRINTABLE for c in value)
    if kind is not dict and kind is not list:
        return value
    out = None
    for key, item in (value.items() if kind is dict else enumerate(value)):
        clean = printable(item)
        if clean is not item:
            if out is None:
                out = kind(value)  # a copy: the message as received stays as it was
            out[key] = clean
    return value if out is None else out


def need_agent(msg: Mapping[str, Any], where: str | None = None) -> str | None:
    """`msg["agent"]`: an id, or null for a call transferred blind that nobody has yet."""
    return None if "agent" in msg and msg["agent"] is None else need_field(msg, "agent", str,
                                                                           where)


def need_field(
    msg: Mapping[str, Any], name: str, kinds: type | tuple[type, ...], where: str | None = None
) -> Any:
    """`msg[name]` if it has one of `kinds`, else a FloorError naming the field."""
    value = msg.get(name)
    if value is None or (isinstance(value, bool) and kinds is not bool) or not isinstance(
        value, kinds
    ):
        shown = "missing" if value is None else f"got {value!r}"[:60]
        expected = "/".join(k.__name__ for k in (kinds if isinstance(kinds, tuple) else (kinds,)))
        where = where or str(msg.get("type", "message"))
        raise FloorError(f"{where}.{name}: expected {expected}, {shown}")
    return value


NUM = (int, float)


def number(value: Any) -> float:
    """A number from the hub, or 0 when absent or not a number."""
    return float(value) if isinstance(value, NUM) and not isinstance(value, bool) else 0.0


@dataclass(frozen=True, slots=True)
class FlagView(Flag):
    """A flag as the supervisor sees it: the flag, plus who acked or snoozed it."""

    by: str | None = None
    note: str | None = None
    until: float | None = None
    #: Event time the flag's episode began (a hold: the hold's start), kept from the
    #: raise through acks and snoozes, whose `t` is the time of the ack.
    since: float = 0.0
    #: The agent the flag is credited to: who had the call when it was raised (the hub
    #: says; None after a transfer that named nobody), and how to show them (name, else
    #: id, else AWAITING; "" until known: the model fills it in from the call).
    agent: str | None = None
    who: str = ""

    @property
    def badge(self) -> str:
        """Two characters: kind prefix (! ? +) and rule letter."""
        return KIND_PREFIX.get(self.kind, "*") + RULE_LETTERS.get(self.rule, "?")

    @classmethod
    def from_message(cls, msg: Mapping[str, Any]) -> FlagView:
        """A flag message from the hub, checked: a field the view needs that is missing or
        of the wrong type is a FloorError naming it; `values` keeps only its numbers."""
        kind = msg.get("kind") or RULE_KINDS.get(str(msg.get("rule")), "")
        if kind not in KINDS:
            raise FloorError(f"flag.kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        state = need_field(msg, "state", str)
        if state not in STATES:
            raise FloorError(f"flag.state: unknown state {state!r}")
        until = msg.get("until")
        values = msg.get("values")
        numbers = {str(k): float(v) for k, v in values.items() if _is_number(v)} if isinstance(
            values, Mapping) else {}
        return cls(
            id=need_field(msg, "id", str),
            call=need_field(msg, "call", str),
            t=float(need_field(msg, "t", NUM)),
            kind=kind,
            rule=need_field(msg, "rule", str),
            severity=int(need_field(msg, "severity", int)),
            state=state,
            evidence=str(msg.get("evidence") or ""),
            values=MappingProxyType(numbers),
            agent=msg.get("agent") if isinstance(msg.get("agent"), str) else None,
            who=("" if "agent" not in msg else msg["agent"] if isinstance(msg["agent"], str)
                 and msg["agent"] else AWAITING),
            by=msg.get("by") if isinstance(msg.get("by"), str) else None,
            note=msg.get("note") if isinstance(msg.get("note"), str) else None,
            until=float(until) if _is_number(until) else None,
            since=float(msg["t"]) - numbers.get("hold_s", 0.0),
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, NUM) and not isinstance(value, bool) and math.isfinite(value)


Trend = tuple[float | None, ...]
#: Who has a call transferred blind until someone answers it: nobody.
AWAITING = "awaiting agent"
#: Position of each level in CallRow.levels, .baselines and .trends.
LEVEL_INDEX = {name: i for i, name in enumerate(LEVELS)}


class CallRow(NamedTuple):
    """One live call on the board: its running state, short trends and open flags.

    A named tuple, not a dataclass: thousands are built per second on a busy floor,
    and a tuple is the cheapest immutable record Python has."""

    call: str
    agent: str | None  # None: transferred blind and not answered yet
    agent_name: str | None
    team: str
    queue: str | None
    started: float
    t: float
    state: str
    hold_started: float | None
    hold_done: float  # holds that have ended; the running one is added at display time
    transfers: int
    talk_overs: int
    levels: tuple[float | None, ...]  # in LEVELS order
    baselines: tuple[float | None, ...]
    cust_spike: bool
    agent_spike: bool
    trends: tuple[Trend, ...]
    trend_t: int | None  # the second the trends end with (None: a hub without 1 s means)
    flags: tuple[FlagView, ...]
    no_feed: bool  # not on hold and no message for NO_FEED_AFTER s: its clock has stopped

    def baseline(self, name: str) -> float | None:
        return self.baselines[LEVEL_INDEX[name]]

    def trend(self, name: str) -> Trend:
        return self.trends[LEVEL_INDEX[name]]

    @property
    def name(self) -> str:
        if self.agent is None:  # the board's STATE says AWAITING
            return f"→ {self.queue or 'queue'}"
        return self.agent_name or self.agent

    @property
    def on_hold(self) -> bool:
        return self.state == "hold"

    # Every duration is the call's own event time: its latest `t` minus when the thing
    # began. Never the viewer's clock, nor another call's: a recording published today
    # shows the durations it had, and a call whose feed stops stops ageing.

    def call_time(self) -> float:
        return max(0.0, self.t - self.started)

    def hold_time(self) -> float:
        """The current hold so far (0 when talking)."""
        if not self.on_hold or self.hold_started is None:
            return 0.0
        return max(0.0, self.t - self.hold_started)

    def hold_sum(self) -> float:
        """All holds so far, the running one included."""
        return self.hold_done + self.hold_time()

    def flag_age(self, flag: FlagView) -> float:
        """How long `flag`'s episode has lasted, in the call's event time."""
        return max(0.0, self.t - flag.since)



#: A call's place in the board's need order (`need_key`); its last item is the call id.
NeedKey = tuple[int, int, float, str]
#: The tier of a call with no open flag that counts: the calm calls, after all others.
CALM = 3


def need_key(flags: Iterable[FlagView], started: float, call: str) -> NeedKey:
    """Board order, answering "who needs me now": raised intervene first, then acked
    intervene, then other open flags (snoozed ones do not count); within a tier the
    highest severity, then whoever has waited longest: the earliest start of such a
    flag's episode (a hold counts from its start). Calls with no flag: the oldest first."""
    tier, severity, since = CALM, 0, started
    for flag in flags:
        if flag.state == "snoozed":
            continue
        rank = (0 if flag.state == "raised" else 1) if flag.kind == "intervene" else 2
        if rank < tier or (rank == tier and flag.severity > severity):
            tier, severity, since = rank, flag.severity, flag.since
        elif rank == tier and flag.severity == severity:
            since = min(since, flag.since)
    return (tier, -severity, since, call)


@dataclass(frozen=True, slots=True)
class Point:
    """One point of a call's detail plots."""

    t: float
    cust_db: float | None
    cust_pitch: float | None
    agent_db: float | None
    agent_pitch: float | None
    cust_spike: bool
    agent_spike: bool


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    t: float
    kind: str  # "event", "flag", "note", "start", "end"
    text: str


@dataclass(frozen=True, slots=True)
class CallDetail:
    """Everything the detail screen shows for one call."""

    row: CallRow
    points: tuple[Point, ...]
    timeline: tuple[TimelineEntry, ...]
    flags: tuple[FlagView, ...]  # every flag seen on the call, newest state of each
    ended: bool


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """What the feed is doing; the status line renders it as it is."""

    state: str = "connecting"
    url: str = ""
    attempt: int = 0
    detail: str = ""
    last_message: float | None = None  # wall time of the last hub message
    producers: int | None = None  # producers connected to the hub (None: it does not say)
    teams: tuple[str, ...] | None = None  # the teams subscribed to (None: every team)
    user: str = ""  # the user the hub admitted ("" when it does not say)
    role: str | None = None  # their role (None: the hub does not authenticate)

    @property
    def who(self) -> str:
        """"lee (lead)", or "" before (or without) an authenticating hub's hello."""
        return f"{self.user} ({self.role})" if self.user and self.role else ""

    @property
    def read_only(self) -> bool:
        """The role may not ack (a viewer): the board offers nothing to do."""
        return not may(self.role, "ack")

    def may(self, request: str) -> bool:
        """Whether the hub will take `request` from this user (None role: it decides)."""
        return may(self.role, request)

    def stale_for(self, wall: float) -> float:
        if self.last_message is None:
            return 0.0
        return max(0.0, wall - self.last_message)

    def live(self, wall: float, expecting: bool = True) -> bool:
        """Connected, and heard from lately if messages are `expecting` (live calls get
        an update every second; a floor with no calls may be silent and still be fine)."""
        return self.state == "connected" and (
            not expecting or self.stale_for(wall) < STALE_AFTER)


@dataclass(frozen=True, slots=True)
class Counts:
    live: int = 0
    on_hold: int = 0
    flags: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    no_feed: int = 0  # live calls whose feed has stopped (CallRow.no_feed)


class RowView(Mapping[str, CallRow]):
    """The live calls of a frame. A row is built (`build`) the first time it is read after
    its call changed, so a repaint that shows 40 of 5,000 calls builds at most 40 rows."""

    __slots__ = ("_build", "_ids")

    def __init__(self, build: Callable[[str], CallRow], ids: Mapping[str, Any]) -> None:
        self._build = build
        self._ids = ids

    def __getitem__(self, call_id: str) -> CallRow:
        if call_id not in self._ids:
            raise KeyError(call_id)
        return self._build(call_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


@dataclass(frozen=True, slots=True)
class Frame:
    """What changed since the last frame, and the whole floor as it is now."""

    rows: Mapping[str, CallRow]  # every live call; a row is built when first read
    changed: frozenset[str]
    reranked: frozenset[str]  # new calls, and calls whose flags, agent, team or queue changed
    removed: frozenset[str]
    teams: frozenset[str]
    alerts: tuple[FlagView, ...]
    status: FeedStatus
    counts: Counts
    now: float
    errors: tuple[str, ...]
    history_changed: bool
    resync: bool  # a snapshot replaced the floor: the app rebuilds everything
