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

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

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


@dataclass(frozen=True, slots=True)
class CallRow:
    """One live call on the board: its running state, short trends and open flags."""

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
    levels: Mapping[str, float | None]
    baselines: Mapping[str, float | None]
    cust_spike: bool
    agent_spike: bool
    trends: Mapping[str, Trend]
    flags: tuple[FlagView, ...]

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

    def need(self) -> tuple[int, int, float, str]:
        """Sort key: raised intervene first, then acked intervene, then other open flags;
        within a tier the highest severity, then the oldest call."""
        tier, severity = 3, 0
        for flag in self.flags:
            if flag.state == "snoozed":
                continue
            rank = (0 if flag.state == "raised" else 1) if flag.kind == "intervene" else 2
            if rank < tier or (rank == tier and flag.severity > severity):
                tier, severity = rank, flag.severity
        return (tier, -severity, self.started, self.call)

    def by_agent(self) -> tuple[str, str]:
        return (self.name.casefold(), self.call)


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

    def live(self, wall: float) -> bool:
        return self.state == "connected" and self.stale_for(wall) < STALE_AFTER


@dataclass(frozen=True, slots=True)
class Counts:
    live: int = 0
    on_hold: int = 0
    flags: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Frame:
    """What changed since the last frame, and the whole floor as it is now."""

    rows: Mapping[str, CallRow]
    changed: frozenset[str]
    removed: frozenset[str]
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

    __slots__ = ("detail", "ended", "fields", "flags", "raw", "timeline", "trends")

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        self.trends = {name: deque(maxlen=TREND_LEN) for name in LEVELS}
        self.detail: deque[Point] = deque(maxlen=DETAIL_LEN)
        self.timeline: deque[TimelineEntry] = deque(maxlen=EVENTS_LEN)
        self.flags: dict[str, FlagView] = {}
        self.raw = False  # raw samples seen: trends come from them, not from call_update
        self.ended = False

    def push_levels(self, t: float, levels: Mapping[str, Any]) -> None:
        f = self.fields
        for name in LEVELS:
            value = levels.get(name)
            value = float(value) if isinstance(value, NUM) else None
            f[name] = value
            self.trends[name].append(value)
        self.detail.append(Point(t, f["cust_db"], f["cust_pitch"], f["agent_db"],
                                 f["agent_pitch"], bool(f.get("cust_spike")),
                                 bool(f.get("agent_spike"))))

    def row(self, call_id: str) -> CallRow:
        f = self.fields
        return CallRow(
            call=call_id,
            agent=f["agent"],
            agent_name=f.get("agent_name"),
            team=f["team"],
            queue=f.get("queue"),
            started=f["started"],
            t=f["t"],
            state=f.get("state") or "talking",
            hold_started=f.get("hold_started"),
            hold_done=float(f.get("hold_done") or 0.0),
            transfers=int(f.get("transfers") or 0),
            talk_overs=int(f.get("talk_overs") or 0),
            levels=MappingProxyType({n: f.get(n) for n in LEVELS}),
            baselines=MappingProxyType({n: f.get(n + "_base") for n in LEVELS}),
            cust_spike=bool(f.get("cust_spike")),
            agent_spike=bool(f.get("agent_spike")),
            trends=MappingProxyType({n: tuple(v) for n, v in self.trends.items()}),
            flags=tuple(sorted((fl for fl in self.flags.values() if fl.is_open),
                               key=lambda fl: (fl.kind != "intervene", -fl.severity, fl.t))),
        )


class Floor:
    """Folds hub messages into per-call state; hands out immutable frames."""

    def __init__(self) -> None:
        self._calls: dict[str, _Call] = {}
        self._rows: dict[str, CallRow] = {}
        self._dirty: set[str] = set()
        self._removed: set[str] = set()
        self._alerts: list[FlagView] = []
        self._errors: list[str] = []
        self._resync = False
        self._history_changed = False
        self._ended: dict[str, _Call] = {}  # calls ended this session, for detail and coaching
        self._orphan_flags: dict[str, FlagView] = {}  # flags of calls not (yet) on the board
        self.history: dict[str, EndedCall] = {}
        self.status = FeedStatus()
        self.t = 0.0  # newest event time seen
        self._t_wall: float | None = None  # wall time when `t` last moved
        self.alerts: deque[FlagView] = deque(maxlen=ALERTS_LEN)
        self.messages = 0

    # --- input -------------------------------------------------------------

    def apply(self, msg: Mapping[str, Any], wall: float) -> None:
        """Fold one hub message in. A message the model cannot use is recorded as an
        error naming the field; nothing else is lost."""
        kind = msg.get("type")
        if kind not in ("status", "batch"):
            self.messages += 1
            self.status = replace(self.status, last_message=wall)
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
        self.status = replace(
            self.status,
            state=state,
            url=str(msg.get("url") or self.status.url),
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
                    open_ids = {f.get("id") for f in flags if isinstance(f, Mapping)}
                    for flag_id in [i for i, f in entry.flags.items()
                                    if f.is_open and i not in open_ids]:
                        del entry.flags[flag_id]  # closed while we were not subscribed
                fresh[call_id] = entry
                self._advance(float(fields["t"]), wall)
            except FloorError as exc:
                self._errors.append(str(exc))
        for call_id in old - set(fresh):
            self._end(call_id, None)
        self._calls = fresh
        self._orphan_flags.clear()
        for item in flags:
            try:
                self._take_flag(FlagView.from_message(item), alert=False)
            except FloorError as exc:
                self._errors.append(str(exc))
        self._rows = {}
        self._dirty = set(fresh)
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
            entry.flags[flag.id] = flag
        self._dirty.add(call_id)

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
        call_id = _need(msg, "call", str)
        t = float(_need(msg, "t", NUM))
        entry = self._calls.get(call_id)
        if entry is None:
            # A summary subscription may start a call with its first update.
            entry = _Call(self._call_fields(msg, "call_update"))
            self._adopt(call_id, entry)
        fields = entry.fields
        for name in CALL_FIELDS:
            if name in msg and name not in LEVELS:
                fields[name] = msg[name]
        _hub_hold(fields)
        if not entry.raw:
            entry.push_levels(t, msg)
        self._dirty.add(call_id)
        self._advance(t, wall)

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
        self._rows.pop(call_id, None)
        self._dirty.discard(call_id)
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
            entry.flags[flag.id] = flag
            if known is None or (known.state, known.by) != (flag.state, flag.by):
                # A resubscribe's snapshot repeats open flags: the timeline keeps changes only.
                by = f" by {flag.by}" if flag.by else ""
                entry.timeline.append(
                    TimelineEntry(flag.t, "flag", f"{flag.badge} {flag.rule} {flag.state}{by}"))
            if flag.call in self._calls:
                self._dirty.add(flag.call)
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

    def now(self, wall: float) -> float:
        """Event time on the floor now: runs with the wall clock only while the feed is live."""
        if self._t_wall is None or self.status.state != "connected":
            return self.t
        return self.t + min(max(0.0, wall - self._t_wall), STALE_AFTER)

    def take(self, wall: float) -> Frame:
        """The floor as it is, and what changed since the last call."""
        for call_id in self._dirty:
            self._rows[call_id] = self._calls[call_id].row(call_id)
        changed = frozenset(self._dirty)
        flags: dict[str, int] = dict.fromkeys(KINDS, 0)
        on_hold = 0
        for row in self._rows.values():
            on_hold += row.on_hold
            for flag in row.flags:
                flags[flag.kind] += 1
        frame = Frame(
            rows=MappingProxyType(dict(self._rows)),
            changed=changed,
            removed=frozenset(self._removed),
            alerts=tuple(self._alerts),
            status=self.status,
            counts=Counts(len(self._rows), on_hold, MappingProxyType(flags)),
            now=self.now(wall),
            errors=tuple(self._errors),
            history_changed=self._history_changed,
            resync=self._resync,
        )
        self._dirty = set()
        self._removed = set()
        self._alerts = []
        self._errors = []
        self._history_changed = False
        self._resync = False
        return frame

    def detail(self, call_id: str) -> CallDetail | None:
        entry = self._calls.get(call_id) or self._ended.get(call_id)
        if entry is None:
            return None
        flags = sorted(entry.flags.values(), key=lambda f: f.t)
        return CallDetail(entry.row(call_id), tuple(entry.detail), tuple(entry.timeline),
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


def visible(
    rows: Mapping[str, CallRow],
    teams: frozenset[str] = frozenset(),
    kinds: frozenset[str] = frozenset(),
    text: str = "",
) -> list[CallRow]:
    """Rows passing the board's filters: any of `teams`, any open flag of `kinds`, and
    `text` found in agent, name, team, queue or call id (case-insensitive)."""
    needle = text.casefold().strip()
    out = []
    for row in rows.values():
        if teams and row.team not in teams:
            continue
        if kinds and not any(f.kind in kinds for f in row.flags):
            continue
        if needle and needle not in (
            f"{row.agent} {row.agent_name or ''} {row.team} {row.queue or ''} {row.call}"
        ).casefold():
            continue
        out.append(row)
    return out


def ordered(rows: Iterable[CallRow], by_agent: bool = False) -> list[str]:
    """Call ids in board order: by need (see CallRow.need), or plainly by agent."""
    key = CallRow.by_agent if by_agent else CallRow.need
    return [row.call for row in sorted(rows, key=key)]


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
