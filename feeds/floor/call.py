"""One live call inside the supervisor's floor model: its fields, trends, flags, timeline.

feeds.floor.model keeps one `LiveCall` per call and builds the board's immutable rows
from it only when it changed; `check_types` guards the hub's fields on the way in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from feeds.core.trace import LAST_FIELDS, Trace
from feeds.floor.shift import CallFlag, EndedCall
from feeds.floor.view import (
    LEVELS,
    NUM,
    CallRow,
    FlagView,
    FloorError,
    NeedKey,
    Point,
    TimelineEntry,
    need_key,
)

#: Seconds kept per call for the board's sparklines (the detail plots use a `Trace`).
TREND_LEN = 40
#: Events kept per call for its timeline.
EVENTS_LEN = 200
CALL_FIELDS = (
    "agent", "agent_name", "team", "queue", "started", "t", "state", "hold_started",
    "hold_total", "transfers", "talk_overs", "cust_db", "cust_pitch", "agent_db",
    "agent_pitch", "cust_db_base", "cust_pitch_base", "agent_db_base", "agent_pitch_base",
    "cust_spike", "agent_spike",
)  # fmt: skip
_OPT_NUM = (int, float, type(None))
_OPT_STR = (str, type(None))
#: Types of the call fields rows are built from; anything else is an error, not a crash.
FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "agent": _OPT_STR, "agent_name": _OPT_STR, "team": str, "queue": _OPT_STR,
    "started": (int, float), "t": (int, float), "state": str, "hold_started": _OPT_NUM,
    "hold_total": _OPT_NUM, "transfers": int, "talk_overs": int,
    "cust_db": _OPT_NUM, "cust_pitch": _OPT_NUM, "agent_db": _OPT_NUM, "agent_pitch": _OPT_NUM,
    "cust_db_base": _OPT_NUM, "cust_pitch_base": _OPT_NUM, "agent_db_base": _OPT_NUM,
    "agent_pitch_base": _OPT_NUM, "cust_spike": bool, "agent_spike": bool,
    **dict.fromkeys(LAST_FIELDS, _OPT_NUM),
}  # fmt: skip


#: The same as exact type sets: one set lookup a field on the hot path, no isinstance walk.
_EXACT_TYPES: dict[str, frozenset[type]] = {
    name: frozenset(kinds if isinstance(kinds, tuple) else (kinds,))
    for name, kinds in FIELD_TYPES.items()
}


def check_types(msg: Mapping[str, Any], where: str) -> None:
    exact = _EXACT_TYPES
    for name, value in msg.items():
        kinds = exact.get(name)
        if kinds is not None and type(value) not in kinds:
            declared = FIELD_TYPES[name]
            names = "/".join(k.__name__ for k in
                             (declared if isinstance(declared, tuple) else (declared,)))
            raise FloorError(f"{where}.{name}: expected {names}, got {value!r}"[:120])


#: Fields the board filters or sorts on besides flags: a change may move the call.
RANKED_FIELDS = ("agent", "agent_name", "team", "queue")


def hub_hold(fields: dict[str, Any]) -> None:
    """The hub's hold_total includes the running hold up to `t`; keep the ended holds."""
    total = fields.get("hold_total")
    total = float(total) if isinstance(total, NUM) else 0.0
    if fields.get("state") == "hold" and isinstance(fields.get("hold_started"), NUM):
        total -= max(0.0, float(fields["t"]) - fields["hold_started"])
    fields["hold_done"] = max(0.0, total)


class LiveCall:
    """Mutable per-call state inside the model; rows are built from it when dirty."""

    __slots__ = ("agents", "ended", "fields", "flags", "need_key", "no_feed",
                 "open_flags", "raw", "timeline", "trace", "trend_t", "trends", "watched")

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        # every agent who has had the call, in order: a transfer that names one adds them
        self.agents: list[str] = [fields["agent"]] if fields.get("agent") else []
        self.no_feed = False  # not on hold and silent for NO_FEED_AFTER: timers stopped
        # One value per second of event time (the hub's `*_1s` means), newest last.
        self.trends = tuple(deque(maxlen=TREND_LEN) for _ in LEVELS)
        self.trend_t: int | None = None  # the second the trends end with
        # 1-second bins of raw samples: kept for the call on the detail screen (seeded by
        # the hub's `trace`) and for calls whose raw samples arrive (samples subscription).
        self.trace: Trace | None = None
        self.watched = False
        self.timeline: deque[TimelineEntry] = deque(maxlen=EVENTS_LEN)
        self.flags: dict[str, FlagView] = {}
        self.open_flags: tuple[FlagView, ...] | None = ()  # None: recompute from flags
        self.need_key: NeedKey | None = None  # None: recompute
        self.raw = False  # raw samples seen: levels come from them, not from call_update
        self.ended = False

    def need(self, call_id: str) -> NeedKey:
        """The call's place in the board's need order, kept until its flags change."""
        if self.need_key is None:
            self.need_key = need_key(self.open(), self.fields["started"], call_id)
        return self.need_key

    def set_flag(self, flag: FlagView) -> None:
        self.flags[flag.id] = flag
        self.open_flags = self.need_key = None

    def push_second(self, sec: int, values: Iterable[Any]) -> None:
        """One second's levels onto the trends; seconds skipped in between stay blank."""
        last = self.trend_t
        if last is not None:
            if sec <= last:
                return
            for _ in range(min(sec - last - 1, TREND_LEN)):
                for trend in self.trends:
                    trend.append(None)
        self.trend_t = sec
        for trend, value in zip(self.trends, values, strict=True):
            trend.append(float(value) if isinstance(value, NUM) else None)

    def push_levels(self, levels: Mapping[str, Any]) -> None:
        """A hub without 1-second means: the trends get the last sample's levels."""
        f = self.fields
        for name, trend in zip(LEVELS, self.trends, strict=True):
            value = levels.get(name)
            value = float(value) if isinstance(value, NUM) else None
            f[name] = value
            trend.append(value)

    def take_last_second(self, msg: Mapping[str, Any]) -> bool:
        """The hub's last complete second onto the trends; False from a hub without them."""
        if "t_1s" not in msg:
            return False
        sec = msg["t_1s"]
        if isinstance(sec, NUM):
            self.push_second(int(sec), (msg.get(f"{name}_1s") for name in LEVELS))
        return True

    def sample(self, msg: Mapping[str, Any]) -> None:
        """A raw sample: into the 1-second trace; a second it completes goes on the trends."""
        f = self.fields
        for name in LEVELS:
            value = msg.get(name)
            f[name] = float(value) if isinstance(value, NUM) else None
        trace = self.trace
        if trace is None:
            trace = self.trace = Trace()
        if trace.add(msg["t"], msg, bool(f.get("cust_spike")), bool(f.get("agent_spike"))):
            last = trace.last()
            self.push_second(trace.end - 1, (last[f"{name}_1s"] for name in LEVELS))

    def watch(self) -> None:
        """Keep a trace for the detail plots, seeded from the board's trends until the
        hub's `trace` replaces it."""
        self.watched = True
        if self.trace is not None or self.trend_t is None:
            return
        n = len(self.trends[0])
        seed: dict[str, Any] = {"t0": self.trend_t - n + 1, "cust_spike": [False] * n,
                                "agent_spike": [False] * n}
        for name, trend in zip(LEVELS, self.trends, strict=True):
            seed[name] = list(trend)
        self.trace = Trace.from_message(seed)

    def points(self) -> tuple[Point, ...]:
        """The detail plots' points: one per second, the second being filled included."""
        if not self.watched or self.trace is None:
            return ()
        t0, levels, spikes = self.trace.bins(open_bin=True)
        return tuple(Point(t0 + i, *lv, *sp)
                     for i, (lv, sp) in enumerate(zip(levels, spikes, strict=True)))

    def open(self) -> tuple[FlagView, ...]:
        """Open flags, most urgent first (cached until a flag changes)."""
        flags = self.open_flags
        if flags is None:
            flags = self.open_flags = tuple(sorted(
                (fl for fl in self.flags.values() if fl.is_open),
                key=lambda fl: (fl.kind != "intervene", -fl.severity, fl.t)))
        return flags

    def ended_call(self, call_id: str) -> EndedCall:
        """What the coaching queue and agent summary keep of this call once it ended."""
        f = self.fields
        notes = tuple((e.t, "", e.text.removeprefix("note ")) for e in self.timeline
                      if e.kind == "note")
        return EndedCall(
            call_id, f["agent"], f.get("agent_name"), f["team"], f.get("queue"),
            float(f["started"]), float(f["t"]), float(f.get("hold_done") or 0.0),
            int(f.get("transfers") or 0), int(f.get("talk_overs") or 0),
            self.shift_flags(), notes, tuple(self.agents),
        )

    def shift_flags(self) -> tuple[CallFlag, ...]:
        """Every flag the call has had, one per episode, as the shift's records keep it."""
        return tuple(CallFlag(fl.kind, fl.rule, fl.evidence, fl.agent)
                     for fl in self.flags.values())

    def take_event(self, event: str, msg: Mapping[str, Any], t: float,
                   backchannel_s: float) -> str:
        """An `event` at event time `t` onto the call's fields; what the timeline says."""
        f = self.fields
        f["t"] = max(t, f["t"])
        if event == "hold_start":
            f["state"], f["hold_started"] = "hold", t
            return "customer put on hold"
        if event == "hold_end":
            text = "customer back from hold"
            if f.get("state") == "hold" and f.get("hold_started") is not None:
                held = t - f["hold_started"]
                f["hold_done"] = float(f.get("hold_done") or 0.0) + held
                text += f" after {held:.0f} s"
            f["state"], f["hold_started"] = "talking", None
            return text
        if event == "transfer":
            f["transfers"] = int(f.get("transfers") or 0) + 1
            agent, name, to = msg.get("agent"), msg.get("agent_name"), msg.get("to")
            if isinstance(agent, str) and agent:  # as the engine does: they have the call
                f["agent"] = agent
                if agent not in self.agents:
                    self.agents.append(agent)
                f["agent_name"] = name if isinstance(name, str) else None
            else:  # blind: the call waits in `to` for whoever answers, credited to nobody
                f["agent"] = f["agent_name"] = None
                if isinstance(to, str):
                    f["queue"] = to
            if isinstance(msg.get("team"), str):
                f["team"] = msg["team"]
            mode = f" ({msg['mode']})" if isinstance(msg.get("mode"), str) else ""
            return f"transferred to {msg.get('to', '?')}{mode}"
        if event == "talk_over":
            dur = msg.get("dur")
            dur = float(dur) if isinstance(dur, NUM) else 0.0
            by = msg.get("by", "?")
            text = f"{by} talked over for {dur:.1f} s"
            # Say what the talk_over rule makes of it, so the timeline does not look
            # like evidence against the agent where there is none.
            if dur < backchannel_s:
                return text + " (a backchannel: not counted)"
            return text + (" (the customer: not counted)" if by != "agent" else "")
        return event

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
            tuple(tuple(trend) for trend in self.trends), self.trend_t, flags, self.no_feed,
        )
