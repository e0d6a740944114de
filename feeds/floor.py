"""A UI-free model of the floor as a supervisor client sees it.

The TUI never touches raw messages: a worker feeds every hub message to
`Floor.apply`, which folds it into per-call state (so 20 updates of one call
between two repaints cost one row rebuild), and the app asks `Floor.take`
for an immutable `Frame` at a fixed rate. A frame holds the current rows, the
ids that changed or went away since the last frame, the flag transitions
that arrived, and the feed's status, so the app repaints only what changed.

Time shown on the board is event time: the newest `t` seen on the feed, run
forward by the wall clock only while the feed is connected and fresh, so
timers stop ageing when the feed is down instead of pretending to be live.
The wall clock is always passed in; this module reads no clock.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, NamedTuple

from feeds.flags import KINDS, OPEN_STATES, RULE_KINDS

#: Points kept per call for the board's sparklines, and for the detail plots.
TREND_LEN = 12
DETAIL_LEN = 240
#: Flag transitions, events and errors kept for the alerts screen and timelines.
ALERTS_LEN = 500
EVENTS_LEN = 200
#: Seconds without any message after which a connected feed counts as stale.
STALE_AFTER = 5.0

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

CALL_FIELDS = (
    "agent", "agent_name", "team", "queue", "started", "t", "state", "hold_started",
    "hold_total", "transfers", "talk_overs", "cust_db", "cust_pitch", "agent_db",
    "agent_pitch", "cust_db_base", "cust_pitch_base", "agent_db_base", "agent_pitch_base",
    "cust_spike", "agent_spike",
)  # fmt: skip
LEVELS = ("cust_db", "cust_pitch", "agent_db", "agent_pitch")
#: Fields the board filters or sorts on besides flags: a change may move the call.
RANKED_FIELDS = ("agent", "agent_name", "team", "queue")


class FloorError(ValueError):
    """A hub message the model cannot use; the text names the field and the problem."""


def _need(
    msg: Mapping[str, Any], name: str, kinds: type | tuple[type, ...], where: str | None = None
) -> Any:
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


def _num(value: Any) -> float:
    """A number from the hub, or 0 when absent or not a number."""
    return float(value) if isinstance(value, NUM) and not isinstance(value, bool) else 0.0


@dataclass(frozen=True, slots=True)
class FlagView:
    """One flag as the supervisor sees it, with who acked or snoozed it."""

    id: str
    call: str
    t: float
    kind: str
    rule: str
    severity: int
    state: str
    evidence: str
    by: str | None = None
    note: str | None = None
    until: float | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def badge(self) -> str:
        """Two characters: kind prefix (! ? +) and rule letter."""
        return KIND_PREFIX.get(self.kind, "*") + RULE_LETTERS.get(self.rule, "?")

    @classmethod
    def from_message(cls, msg: Mapping[str, Any]) -> FlagView:
        kind = msg.get("kind") or RULE_KINDS.get(str(msg.get("rule")), "")
        if kind not in KINDS:
            raise FloorError(f"flag.kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        state = _need(msg, "state", str)
        if state not in ("raised", "cleared", "acked", "snoozed"):
            raise FloorError(f"flag.state: unknown state {state!r}")
        until = msg.get("until")
        return cls(
            id=_need(msg, "id", str),
            call=_need(msg, "call", str),
            t=float(_need(msg, "t", NUM)),
            kind=kind,
            rule=_need(msg, "rule", str),
            severity=int(_need(msg, "severity", int)),
            state=state,
            evidence=str(msg.get("evidence") or ""),
            by=msg.get("by") if isinstance(msg.get("by"), str) else None,
            note=msg.get("note") if isinstance(msg.get("note"), str) else None,
            until=float(until) if isinstance(until, NUM) and not isinstance(until, bool) else None,
        )


Trend = tuple[float | None, ...]
#: Position of each level in CallRow.levels, .baselines and .trends.
LEVEL_INDEX = {name: i for i, name in enumerate(LEVELS)}


class CallRow(NamedTuple):
    """One live call on the board: its running state, short trends and open flags.

    A named tuple, not a dataclass: thousands are built per second on a busy floor,
    and a tuple is the cheapest immutable record Python has."""

    call: str
    agent: str
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
    flags: tuple[FlagView, ...]

    def baseline(self, name: str) -> float | None:
        return self.baselines[LEVEL_INDEX[name]]

    def trend(self, name: str) -> Trend:
        return self.trends[LEVEL_INDEX[name]]

    @property
    def name(self) -> str:
        return self.agent_name or self.agent

    @property
    def on_hold(self) -> bool:
        return self.state == "hold"

    def call_time(self, now: float) -> float:
        return max(0.0, max(now, self.t) - self.started)

    def hold_time(self, now: float) -> float:
        """The current hold so far (0 when talking)."""
        if not self.on_hold or self.hold_started is None:
            return 0.0
        return max(0.0, max(now, self.t) - self.hold_started)

    def hold_sum(self, now: float) -> float:
        """All holds so far, the running one included."""
        return self.hold_done + self.hold_time(now)



def need_key(flags: Iterable[FlagView], started: float, call: str) -> tuple[int, int, float, str]:
    """Board order: raised intervene first, then acked intervene, then other open flags
    (snoozed ones do not count); within a tier the highest severity, then the oldest call."""
    tier, severity = 3, 0
    for flag in flags:
        if flag.state == "snoozed":
            continue
        rank = (0 if flag.state == "raised" else 1) if flag.kind == "intervene" else 2
        if rank < tier or (rank == tier and flag.severity > severity):
            tier, severity = rank, flag.severity
    return (tier, -severity, started, call)


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
        call = _need(msg, "call", str, where)
        agent = _need(msg, "agent", str, where)
        started = float(_need(msg, "started", NUM, where))
        ended = msg.get("ended")
        return cls(
            call=call,
            agent=agent,
            agent_name=msg.get("agent_name") if isinstance(msg.get("agent_name"), str) else None,
            team=str(msg.get("team") or ""),
            queue=msg.get("queue") if isinstance(msg.get("queue"), str) else None,
            started=started,
            ended=float(ended) if isinstance(ended, NUM) else started,
            hold_total=_num(msg.get("hold_total")),
            transfers=int(_num(msg.get("transfers"))),
            talk_overs=int(_num(msg.get("talk_overs"))),
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


def _hub_hold(fields: dict[str, Any]) -> None:
    """The hub's hold_total includes the running hold up to `t`; keep the ended holds."""
    total = fields.get("hold_total")
    total = float(total) if isinstance(total, NUM) else 0.0
    if fields.get("state") == "hold" and isinstance(fields.get("hold_started"), NUM):
        total -= max(0.0, float(fields["t"]) - fields["hold_started"])
    fields["hold_done"] = max(0.0, total)


class _Call:
    """Mutable per-call state inside the model; rows are built from it when dirty."""

    __slots__ = ("detail", "ended", "fields", "flags", "need_key", "open_flags", "raw",
                 "timeline", "trends")

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        self.trends = tuple(deque(maxlen=TREND_LEN) for _ in LEVELS)
        # Detail points are kept only for calls someone is looking at (Floor.focus):
        # 240 points for each of 5,000 calls would cost ~100 MB.
        self.detail: deque[Point] | None = None
        self.timeline: deque[TimelineEntry] = deque(maxlen=EVENTS_LEN)
        self.flags: dict[str, FlagView] = {}
        self.open_flags: tuple[FlagView, ...] | None = ()  # None: recompute from flags
        self.need_key: tuple[int, int, float, str] | None = None  # None: recompute
        self.raw = False  # raw samples seen: trends come from them, not from call_update
        self.ended = False

    def set_flag(self, flag: FlagView) -> None:
        self.flags[flag.id] = flag
        self.open_flags = self.need_key = None

    def push_levels(self, t: float, levels: Mapping[str, Any]) -> None:
        f = self.fields
        values = []
        for name, trend in zip(LEVELS, self.trends, strict=True):
            value = levels.get(name)
            value = float(value) if isinstance(value, NUM) else None
            f[name] = value
            trend.append(value)
            values.append(value)
        if self.detail is not None:
            self.detail.append(Point(t, *values, bool(f.get("cust_spike")),
                                     bool(f.get("agent_spike"))))

    def watch(self) -> None:
        """Start keeping detail points, seeded from the short trends."""
        if self.detail is not None:
            return
        self.detail = deque(maxlen=DETAIL_LEN)
        t = float(self.fields.get("t") or 0.0)
        series = list(zip(*self.trends, strict=True))
        for i, (c_db, c_hz, a_db, a_hz) in enumerate(series):
            self.detail.append(Point(t - (len(series) - 1 - i), c_db, c_hz, a_db, a_hz,
                                     False, False))

    def open(self) -> tuple[FlagView, ...]:
        """Open flags, most urgent first (cached until a flag changes)."""
        flags = self.open_flags
        if flags is None:
            flags = self.open_flags = tuple(sorted(
                (fl for fl in self.flags.values() if fl.is_open),
                key=lambda fl: (fl.kind != "intervene", -fl.severity, fl.t)))
        return flags

    def row(self, call_id: str) -> CallRow:
        f = self.fields
        get = f.get
        flags = self.open()
        return CallRow(
            call_id, f["agent"], get("agent_name"), f["team"], get("queue"), f["started"],
            f["t"], get("state") or "talking", get("hold_started"),
            float(get("hold_done") or 0.0), int(get("transfers") or 0),
            int(get("talk_overs") or 0),
            (get("cust_db"), get("cust_pitch"), get("agent_db"), get("agent_pitch")),
            (get("cust_db_base"), get("cust_pitch_base"), get("agent_db_base"),
             get("agent_pitch_base")),
            bool(get("cust_spike")), bool(get("agent_spike")),
            tuple(tuple(trend) for trend in self.trends), flags,
        )


class RowView(Mapping[str, CallRow]):
    """The live calls of a frame. A row is built the first time it is read after its
    call changed, so a repaint that shows 40 of 5,000 calls builds at most 40 rows."""

    __slots__ = ("_floor", "_ids")

    def __init__(self, floor: Floor, ids: Mapping[str, Any]) -> None:
        self._floor = floor
        self._ids = ids

    def __getitem__(self, call_id: str) -> CallRow:
        if call_id not in self._ids:
            raise KeyError(call_id)
        return self._floor._row(call_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


class Floor:
    """Folds hub messages into per-call state; hands out immutable frames."""

    def __init__(self) -> None:
        self._calls: dict[str, _Call] = {}
        self._rows: dict[str, CallRow] = {}  # last built row per call
        self._stale: set[str] = set()  # calls whose row must be rebuilt before it is read
        self._dirty: set[str] = set()  # calls changed since the last frame
        self._reranked: set[str] = set()  # calls whose order or filter fields changed
        # The unfiltered need order, kept sorted incrementally: a flag on one call of
        # 5,000 moves one entry instead of sorting them all.
        self._need_sorted: list[tuple[int, int, float, str]] = []
        self._need_of: dict[str, tuple[int, int, float, str]] = {}
        self._need_moved: set[str] | None = None  # None: rebuild from scratch
        self._removed: set[str] = set()
        self._alerts: list[FlagView] = []
        self._errors: list[str] = []
        self._resync = False
        self._history_changed = False
        self._ended: dict[str, _Call] = {}  # calls ended this session, for detail and coaching
        self._orphan_flags: dict[str, FlagView] = {}  # flags of calls not (yet) on the board
        self.history: dict[str, EndedCall] = {}
        self._status = FeedStatus()
        self._last_wall: float | None = None  # wall time of the last hub message
        self.t = 0.0  # newest event time seen
        self._t_wall: float | None = None  # wall time when `t` last moved
        self.alerts: deque[FlagView] = deque(maxlen=ALERTS_LEN)

    # --- input -------------------------------------------------------------

    def apply(self, msg: Mapping[str, Any], wall: float) -> None:
        """Fold one hub message in. A message the model cannot use is recorded as an
        error naming the field; nothing else is lost."""
        kind = msg.get("type")
        if kind not in ("status", "batch"):
            self._last_wall = wall
        try:
            handler = self._handlers.get(kind) if isinstance(kind, str) else None
            if handler is None:
                raise FloorError(f"message.type: unknown type {kind!r}")
            handler(self, msg, wall)
        except FloorError as exc:
            self._errors.append(str(exc))

    def apply_all(self, msgs: Iterable[Mapping[str, Any]], wall: float) -> None:
        for msg in msgs:
            self.apply(msg, wall)

    def _advance(self, t: float, wall: float) -> None:
        if t > self.t:
            self.t = t
            self._t_wall = wall

    def _on_hello(self, msg: Mapping[str, Any], wall: float) -> None:
        t = msg.get("t")
        if isinstance(t, NUM):
            self._advance(float(t), wall)

    def _on_status(self, msg: Mapping[str, Any], wall: float) -> None:
        state = _need(msg, "state", str)
        attempt = msg.get("attempt")
        self._status = replace(
            self._status,
            state=state,
            url=str(msg.get("url") or self._status.url),
            attempt=int(attempt) if isinstance(attempt, int) else 0,
            detail=str(msg.get("detail") or ""),
        )
        if state != "connected":
            # Freeze the floor clock where the feed left it.
            self._t_wall = None

    def _on_snapshot(self, msg: Mapping[str, Any], wall: float) -> None:
        calls = _need(msg, "calls", list)
        flags = msg.get("flags") or []
        old = set(self._calls)
        fresh: dict[str, _Call] = {}
        for item in calls:
            try:
                call_id = _need(item, "call", str)
                entry = self._calls.get(call_id)
                fields = self._call_fields(item, "snapshot.calls[]")
                if entry is None:
                    entry = _Call(fields)
                else:
                    entry.fields.update(fields)
                    entry.need_key = None
                    open_ids = {f.get("id") for f in flags if isinstance(f, Mapping)}
                    for flag_id in [i for i, f in entry.flags.items()
                                    if f.is_open and i not in open_ids]:
                        del entry.flags[flag_id]  # closed while we were not subscribed
                        entry.open_flags = entry.need_key = None
                fresh[call_id] = entry
                self._advance(float(fields["t"]), wall)
            except FloorError as exc:
                self._errors.append(str(exc))
        for call_id in old - set(fresh):
            self._end(call_id, None)
        self._calls = fresh
        self._orphan_flags.clear()
        taken = []
        for item in flags:
            try:
                taken.append(FlagView.from_message(item))
            except FloorError as exc:
                self._errors.append(str(exc))
        for flag in sorted(taken, key=lambda f: f.t):
            self._take_flag(flag, alert=False)
        self._rows = {}
        self._stale = set(fresh)
        self._dirty = set(fresh)
        self._reranked = set(fresh)
        self._need_moved = None
        self._resync = True

    def _call_fields(self, msg: Mapping[str, Any], where: str) -> dict[str, Any]:
        fields = {name: msg[name] for name in CALL_FIELDS if name in msg}
        for name, kinds in (("agent", str), ("team", str), ("started", NUM)):
            _need(msg, name, kinds, where)
        fields.setdefault("t", fields["started"])
        _hub_hold(fields)
        return fields

    def _on_call_start(self, msg: Mapping[str, Any], wall: float) -> None:
        call_id = _need(msg, "call", str)
        t = float(_need(msg, "t", NUM))
        fields = {
            "agent": _need(msg, "agent", str),
            "agent_name": msg.get("agent_name"),
            "team": _need(msg, "team", str),
            "queue": msg.get("queue"),
            "started": t,
            "t": t,
            "state": "talking",
            "hold_started": None,
            "hold_done": 0.0,
            "transfers": 0,
            "talk_overs": 0,
        }
        entry = _Call(fields)
        entry.timeline.append(TimelineEntry(t, "start", f"call started with {fields['agent']}"))
        self._adopt(call_id, entry)
        self._advance(t, wall)

    def _adopt(self, call_id: str, entry: _Call) -> None:
        """Put a new call on the board, with any flags that arrived before it."""
        self._calls[call_id] = entry
        self._ended.pop(call_id, None)
        self._removed.discard(call_id)
        for flag in [f for f in self._orphan_flags.values() if f.call == call_id]:
            self._orphan_flags.pop(flag.id)
            entry.set_flag(flag)
        self._dirty.add(call_id)
        self._reranked.add(call_id)
        self._moved(call_id)

    def _live(self, msg: Mapping[str, Any]) -> tuple[str, _Call, float]:
        call_id = _need(msg, "call", str)
        t = float(_need(msg, "t", NUM))
        entry = self._calls.get(call_id)
        if entry is None:
            raise FloorError(f"{msg.get('type')}.call: unknown call {call_id!r}")
        return call_id, entry, t

    def _on_sample(self, msg: Mapping[str, Any], wall: float) -> None:
        call_id, entry, t = self._live(msg)
        entry.raw = True
        entry.fields["t"] = max(t, entry.fields["t"])
        entry.push_levels(t, msg)
        self._dirty.add(call_id)
        self._advance(t, wall)

    def _on_call_update(self, msg: Mapping[str, Any], wall: float) -> None:
        """The hot path of a summary subscription: thousands a second on a big floor."""
        call_id = msg.get("call")
        t = msg.get("t")
        if type(call_id) is not str or type(t) is not float:
            call_id = _need(msg, "call", str)
            t = float(_need(msg, "t", NUM))
        entry = self._calls.get(call_id)
        if entry is None:
            # A summary subscription may start a call with its first update.
            entry = _Call(self._call_fields(msg, "call_update"))
            self._adopt(call_id, entry)
        fields = entry.fields
        for name in RANKED_FIELDS:
            if name in msg and msg[name] != fields.get(name):
                self._reranked.add(call_id)
                self._moved(call_id)
                break
        raw_levels = entry.raw and {n: fields.get(n) for n in LEVELS}
        fields.update(msg)  # unknown keys are harmless: rows read only the fields they know
        if raw_levels:
            fields.update(raw_levels)  # a focused call's levels come from its raw samples
        _hub_hold(fields)
        if not entry.raw:
            entry.push_levels(t, msg)
        self._dirty.add(call_id)
        if t > self.t:
            self.t = t
            self._t_wall = wall

    def _on_event(self, msg: Mapping[str, Any], wall: float) -> None:
        call_id, entry, t = self._live(msg)
        event = _need(msg, "event", str)
        f = entry.fields
        f["t"] = max(t, f["t"])
        if event == "hold_start":
            f["state"], f["hold_started"] = "hold", t
            text = "customer put on hold"
        elif event == "hold_end":
            if f.get("state") == "hold" and f.get("hold_started") is not None:
                held = t - f["hold_started"]
                f["hold_done"] = float(f.get("hold_done") or 0.0) + held
                text = f"customer back from hold after {held:.0f} s"
            else:
                text = "customer back from hold"
            f["state"], f["hold_started"] = "talking", None
        elif event == "transfer":
            f["transfers"] = int(f.get("transfers") or 0) + 1
            for name in ("agent", "team"):
                if isinstance(msg.get(name), str):
                    f[name] = msg[name]
            self._reranked.add(call_id)
            self._moved(call_id)
            mode = f" ({msg['mode']})" if isinstance(msg.get("mode"), str) else ""
            text = f"transferred to {msg.get('to', '?')}{mode}"
        elif event == "talk_over":
            dur = msg.get("dur")
            dur = float(dur) if isinstance(dur, NUM) else 0.0
            text = f"{msg.get('by', '?')} talked over for {dur:.1f} s"
        else:
            text = event
        entry.timeline.append(TimelineEntry(t, "event", text))
        self._dirty.add(call_id)
        self._advance(t, wall)

    def _on_call_end(self, msg: Mapping[str, Any], wall: float) -> None:
        call_id = _need(msg, "call", str)
        t = float(_need(msg, "t", NUM))
        if call_id not in self._calls:
            raise FloorError(f"call_end.call: unknown call {call_id!r}")
        self._end(call_id, t, msg.get("reason"))
        self._advance(t, wall)

    def _end(self, call_id: str, t: float | None, reason: Any = None) -> None:
        entry = self._calls.pop(call_id)
        entry.ended = True
        if t is not None:
            entry.fields["t"] = max(t, entry.fields["t"])
            why = f" ({reason})" if isinstance(reason, str) else ""
            entry.timeline.append(TimelineEntry(t, "end", f"call ended{why}"))
        self._ended[call_id] = entry
        if len(self._ended) > 5000:
            self._ended.pop(next(iter(self._ended)))
        self._dirty.discard(call_id)
        self._reranked.discard(call_id)
        self._moved(call_id)
        self._removed.add(call_id)
        self._history_changed = True

    def _on_flag(self, msg: Mapping[str, Any], wall: float) -> None:
        flag = FlagView.from_message(msg)
        self._take_flag(flag, alert=True)
        self._advance(flag.t, wall)

    def _take_flag(self, flag: FlagView, alert: bool) -> None:
        entry = self._calls.get(flag.call) or self._ended.get(flag.call)
        if entry is None:
            if flag.is_open:
                self._orphan_flags[flag.id] = flag
            else:
                self._orphan_flags.pop(flag.id, None)
        else:
            known = entry.flags.get(flag.id)
            entry.set_flag(flag)
            if known is None and not alert:
                # Open when we connected: listed under alerts, but it rings no bell.
                self.alerts.appendleft(flag)
            if known is None or (known.state, known.by) != (flag.state, flag.by):
                # A resubscribe's snapshot repeats open flags: the timeline keeps changes only.
                by = f" by {flag.by}" if flag.by else ""
                entry.timeline.append(
                    TimelineEntry(flag.t, "flag", f"{flag.badge} {flag.rule} {flag.state}{by}"))
            if flag.call in self._calls:
                self._dirty.add(flag.call)
                self._reranked.add(flag.call)
                self._moved(flag.call)
        if alert:
            self.alerts.appendleft(flag)
            self._alerts.append(flag)

    def _on_note(self, msg: Mapping[str, Any], wall: float) -> None:
        call_id = _need(msg, "call", str)
        text = _need(msg, "text", str)
        t = msg.get("t")
        t = float(t) if isinstance(t, NUM) else self.t
        entry = self._calls.get(call_id) or self._ended.get(call_id)
        if entry is None:
            raise FloorError(f"note.call: unknown call {call_id!r}")
        by = msg.get("by")
        who = f"{by}: " if isinstance(by, str) and by else ""
        entry.timeline.append(TimelineEntry(t, "note", f"note {who}{text}"))
        self._history_changed = True

    def _on_control(self, msg: Mapping[str, Any], wall: float) -> None:
        """A listen/whisper/barge request someone made: it goes on the call's timeline."""
        call_id = _need(msg, "call", str)
        action = _need(msg, "action", str)
        entry = self._calls.get(call_id)
        if entry is None:
            raise FloorError(f"control.call: unknown call {call_id!r}")
        by = msg.get("by")
        who = f" by {by}" if isinstance(by, str) and by else ""
        entry.timeline.append(TimelineEntry(entry.fields["t"], "action",
                                            f"{action} requested{who}"))

    def _on_history(self, msg: Mapping[str, Any], wall: float) -> None:
        calls = _need(msg, "calls", list)
        for item in calls:
            if isinstance(item, Mapping) and item.get("live") is True:
                continue  # the hub lists live calls too; those are on the board already
            try:
                ended = EndedCall.from_summary(item)
            except FloorError as exc:
                self._errors.append(str(exc))
                continue
            self.history[ended.call] = ended
        self._history_changed = True

    def _on_error(self, msg: Mapping[str, Any], wall: float) -> None:
        self._errors.append(f"hub: {msg.get('code', 'error')}: {msg.get('detail', '')}")

    def _on_batch(self, msg: Mapping[str, Any], wall: float) -> None:
        for item in _need(msg, "items", list):
            if isinstance(item, Mapping):
                self.apply(item, wall)
            else:
                self._errors.append(f"batch.items[]: expected a message, got {item!r}"[:80])

    _handlers: Mapping[str, Any] = {
        "hello": _on_hello,
        "status": _on_status,
        "snapshot": _on_snapshot,
        "call_start": _on_call_start,
        "sample": _on_sample,
        "call_update": _on_call_update,
        "event": _on_event,
        "call_end": _on_call_end,
        "flag": _on_flag,
        "note": _on_note,
        "history": _on_history,
        "error": _on_error,
        "batch": _on_batch,
        "control": _on_control,
    }

    # --- output ------------------------------------------------------------

    @property
    def status(self) -> FeedStatus:
        return replace(self._status, last_message=self._last_wall)

    def focus(self, call_id: str | None) -> None:
        """Keep detail points for this call (the one on the detail screen) from now on."""
        for call in (*self._calls.values(), *self._ended.values()):
            call.detail = None
        entry = None if call_id is None else (
            self._calls.get(call_id) or self._ended.get(call_id))
        if entry is not None:
            entry.watch()

    def now(self, wall: float) -> float:
        """Event time on the floor now: runs with the wall clock only while the feed is live."""
        if self._t_wall is None or self._status.state != "connected":
            return self.t
        return self.t + min(max(0.0, wall - self._t_wall), STALE_AFTER)

    def take(self, wall: float) -> Frame:
        """The floor as it is, and what changed since the last call."""
        for call_id in self._removed:
            self._rows.pop(call_id, None)
        self._stale |= self._dirty
        flags: dict[str, int] = dict.fromkeys(KINDS, 0)
        on_hold = 0
        teams = set()
        for entry in self._calls.values():
            f = entry.fields
            on_hold += f.get("state") == "hold"
            teams.add(f["team"])
            for flag in entry.open():
                flags[flag.kind] += 1
        frame = Frame(
            rows=RowView(self, dict.fromkeys(self._calls)),
            changed=frozenset(self._dirty),
            reranked=frozenset(self._reranked),
            removed=frozenset(self._removed),
            teams=frozenset(teams),
            alerts=tuple(self._alerts),
            status=self.status,
            counts=Counts(len(self._calls), on_hold, MappingProxyType(flags)),
            now=self.now(wall),
            errors=tuple(self._errors),
            history_changed=self._history_changed,
            resync=self._resync,
        )
        self._dirty = set()
        self._reranked = set()
        self._removed = set()
        self._alerts = []
        self._errors = []
        self._history_changed = False
        self._resync = False
        return frame

    def _row(self, call_id: str) -> CallRow:
        """The call's row, rebuilt if it changed since it was last built."""
        if call_id in self._stale:
            entry = self._calls.get(call_id)
            if entry is not None:
                self._rows[call_id] = entry.row(call_id)
            self._stale.discard(call_id)
        return self._rows[call_id]

    def _moved(self, call_id: str) -> None:
        if self._need_moved is not None:
            self._need_moved.add(call_id)

    def _need_order(self) -> list[str]:
        """All live calls by need, from the incrementally sorted index."""
        moved = self._need_moved
        if moved is None:
            self._need_of = {}
            for call_id, entry in self._calls.items():
                self._need_of[call_id] = self._key(call_id, entry)
            self._need_sorted = sorted(self._need_of.values())
        else:
            ordered, index = self._need_sorted, self._need_of
            for call_id in moved:
                old = index.pop(call_id, None)
                if old is not None:
                    del ordered[bisect_left(ordered, old)]
                entry = self._calls.get(call_id)
                if entry is not None:
                    key = index[call_id] = self._key(call_id, entry)
                    insort(ordered, key)
        self._need_moved = set()
        return [key[3] for key in self._need_sorted]

    @staticmethod
    def _key(call_id: str, entry: _Call) -> tuple[int, int, float, str]:
        key = entry.need_key
        if key is None:
            key = entry.need_key = need_key(entry.open(), entry.fields["started"], call_id)
        return key

    def order(self, teams: frozenset[str] = frozenset(), kinds: frozenset[str] = frozenset(),
              text: str = "", by_agent: bool = False) -> list[str]:
        """Live call ids in board order (by need, see `need_key`, or by agent name),
        keeping those on any of `teams`, with an open flag of any of `kinds`, and with
        `text` in agent, name, team, queue or call id (case-insensitive).

        Works on the model's own state, so sorting 5,000 calls builds no rows."""
        needle = text.casefold().strip()
        if not (teams or kinds or needle or by_agent):
            return self._need_order()
        keyed = []
        for call_id, entry in self._calls.items():
            f = entry.fields
            if teams and f["team"] not in teams:
                continue
            flags = entry.open()
            if kinds and not any(fl.kind in kinds for fl in flags):
                continue
            name = f.get("agent_name") or f["agent"]
            if needle and needle not in (
                f"{f['agent']} {name} {f['team']} {f.get('queue') or ''} {call_id}"
            ).casefold():
                continue
            key = (name.casefold(), call_id) if by_agent else self._key(call_id, entry)
            keyed.append((key, call_id))
        keyed.sort()
        return [call_id for _, call_id in keyed]

    def detail(self, call_id: str) -> CallDetail | None:
        entry = self._calls.get(call_id) or self._ended.get(call_id)
        if entry is None:
            return None
        flags = sorted(entry.flags.values(), key=lambda f: f.t)
        points = tuple(entry.detail) if entry.detail is not None else ()
        return CallDetail(entry.row(call_id), points, tuple(entry.timeline),
                          tuple(flags), entry.ended)

    def flag(self, flag_id: str) -> FlagView | None:
        for entry in (*self._calls.values(), *self._ended.values()):
            if flag_id in entry.flags:
                return entry.flags[flag_id]
        return self._orphan_flags.get(flag_id)

    def ended_calls(self) -> list[EndedCall]:
        """Calls that ended: the store's history, plus those seen ending this session."""
        out = dict(self.history)
        for call_id, entry in self._ended.items():
            if call_id in out:
                continue
            f = entry.fields
            notes = tuple((e.t, "", e.text.removeprefix("note ")) for e in entry.timeline
                          if e.kind == "note")
            flags = tuple((fl.kind, fl.rule, fl.evidence) for fl in entry.flags.values()
                          if fl.state == "raised" or fl.is_open)
            seen = {(k, r) for k, r, _ in flags}
            flags += tuple((fl.kind, fl.rule, fl.evidence) for fl in entry.flags.values()
                           if (fl.kind, fl.rule) not in seen)
            out[call_id] = EndedCall(
                call_id, f["agent"], f.get("agent_name"), f["team"], f.get("queue"),
                float(f["started"]), float(f["t"]), float(f.get("hold_done") or 0.0),
                int(f.get("transfers") or 0), int(f.get("talk_overs") or 0),
                tuple(dict.fromkeys(flags)), notes,
            )
        return sorted(out.values(), key=lambda c: (c.name.casefold(), c.ended))


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


def agent_stats(ended: Iterable[EndedCall], live: Iterable[CallRow]) -> list[AgentStats]:
    """Per-agent totals over ended and live calls, sorted by name (not by any score)."""
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
    for row in live:
        s = slot(row.agent, row.name, row.team)
        s["calls"] += 1
        s["live"] += 1
        s["hold"] += row.hold_done
        s["transfers"] += row.transfers
        s["talk_overs"] += row.talk_overs
        for flag in row.flags:
            s["flags"][flag.kind] += 1
    out = [
        AgentStats(agent, s["name"], s["team"], s["calls"], s["live"],
                   s["hold"] / s["calls"], s["transfers"], s["talk_overs"] / s["calls"],
                   MappingProxyType(s["flags"]))
        for agent, s in acc.items()
    ]
    return sorted(out, key=lambda a: (a.name.casefold(), a.agent))
