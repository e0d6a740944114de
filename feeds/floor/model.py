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
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from feeds.core.trace import Trace, TraceError
from feeds.floor.call import (
    CALL_FIELDS,
    RANKED_FIELDS,
    LiveCall,
    check_types,
    hub_hold,
)
from feeds.floor.liveness import Liveness
from feeds.floor.needindex import NeedIndex, filtered, keep_places
from feeds.floor.shift import AgentStats, EndedCall, agent_stats
from feeds.floor.tally import Tally
from feeds.floor.view import (
    AWAITING,
    LEVELS,
    NO_FEED_AFTER,
    NUM,
    STALE_AFTER,
    CallDetail,
    CallRow,
    FeedStatus,
    FlagView,
    FloorError,
    Frame,
    RowView,
    TimelineEntry,
    need_agent,
    need_field,
    printable,
)

#: The messages that come thousands of times a second: their text is made printable
#: where the floor takes it (the call id here, names when they change), not by a walk.
HOT = frozenset({"sample", "call_update"})


def _shown_safe(msg: Mapping[str, Any], kind: Any) -> Mapping[str, Any]:
    """`msg` with its text printable (`printable`): every other message whole; a hot
    one's call id here, so it finds the call its (cleaned) call_start made."""
    if kind not in HOT:
        return printable(msg)
    call = msg.get("call")
    return printable(msg) if type(call) is str and not call.isprintable() else msg


#: Flag transitions, events and errors kept for the alerts screen and timelines.
ALERTS_LEN = 500
#: Messages that show a call's producer is still sending (the hub's call_update for it).
_SIGNS_OF_LIFE = frozenset({"call_start", "sample", "event", "call_update"})


class Floor:
    """Folds hub messages into per-call state; hands out immutable frames."""

    def __init__(self, backchannel_s: float = 1.0) -> None:
        #: Overlaps shorter than this are backchannels (rules.talk_over.min_dur_s).
        self.backchannel_s = backchannel_s
        self._calls: dict[str, LiveCall] = {}
        self._rows: dict[str, CallRow] = {}  # last built row per call
        self._stale: set[str] = set()  # calls whose row must be rebuilt before it is read
        self._dirty: set[str] = set()  # calls changed since the last frame
        self._reranked: set[str] = set()  # calls whose order or filter fields changed
        self._need = NeedIndex()  # the unfiltered board order, kept sorted as calls change
        self._liveness = Liveness()  # which calls were heard from when: "no feed" marks
        self._tally = Tally()  # the counts bar's numbers and the teams, kept as calls change
        self._removed: set[str] = set()
        self._alerts: list[FlagView] = []
        self._errors: list[str] = []
        self._resync = False
        self._history_changed = False
        self._ended: dict[str, LiveCall] = {}  # calls ended this session, for detail and coaching
        self._orphan_flags: dict[str, FlagView] = {}  # flags of calls not (yet) on the board
        self.history: dict[tuple[str, float], EndedCall] = {}  # by call id and start
        self._status = FeedStatus()
        self._last_wall: float | None = None  # wall time of the last hub message
        self.t = 0.0  # newest event time seen
        self._hub_clock: tuple[float, float] | None = None  # hub's time at hello, wall then
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
            handler(self, _shown_safe(msg, kind), wall)
        except FloorError as exc:
            self._errors.append(str(exc))
            return
        if kind in _SIGNS_OF_LIFE:
            call_id = msg.get("call")
            entry = self._calls.get(call_id)  # type: ignore[arg-type]
            if entry is not None and self._liveness.heard(call_id, wall):  # type: ignore[arg-type]
                entry.no_feed = False
                self._dirty.add(call_id)  # type: ignore[arg-type]

    def _advance(self, t: float, wall: float) -> None:
        """Move the floor's clock to event time `t`; never past the hub's own clock once
        it is known (its `hello`): one producer with a clock hours ahead must not age
        the whole floor (each call's durations are its own event time anyway)."""
        if self._hub_clock is not None:
            hub_t, at = self._hub_clock
            t = min(t, hub_t + max(0.0, wall - at))
        if t > self.t:
            self.t = t
            self._t_wall = wall

    def _on_hello(self, msg: Mapping[str, Any], wall: float) -> None:
        t = msg.get("t")
        if isinstance(t, NUM):
            self._hub_clock = (float(t), wall)
            self.t, self._t_wall = float(t), wall
        user, role, teams = msg.get("user"), msg.get("role"), msg.get("teams")
        if isinstance(user, str) and isinstance(role, str):  # a hub that authenticates
            # all teams asked for: what the hub holds the subscription to is the user's
            held = self._status.teams
            if held is None and isinstance(teams, list):
                held = tuple(str(team) for team in teams)
            self._status = replace(self._status, user=user, role=role, teams=held)

    def _on_hub_status(self, msg: Mapping[str, Any], wall: float) -> None:
        producers = need_field(msg, "producers", int)
        self._status = replace(self._status, producers=producers)

    def _on_status(self, msg: Mapping[str, Any], wall: float) -> None:
        state = need_field(msg, "state", str)
        attempt = msg.get("attempt")
        teams = msg.get("teams")
        self._status = replace(
            self._status,
            state=state,
            url=str(msg.get("url") or self._status.url),
            attempt=int(attempt) if isinstance(attempt, int) else 0,
            detail=str(msg.get("detail") or ""),
            teams=tuple(str(t) for t in teams) if isinstance(teams, list) else None,
        )
        if state != "connected":
            # Freeze the floor clock where the feed left it.
            self._t_wall = None

    def _on_snapshot(self, msg: Mapping[str, Any], wall: float) -> None:
        calls = need_field(msg, "calls", list)
        flags = msg.get("flags") or []
        old = set(self._calls)
        fresh: dict[str, LiveCall] = {}
        for item in calls:
            try:
                call_id = need_field(item, "call", str)
                entry = self._calls.get(call_id)
                fields = self._call_fields(item, "snapshot.calls[]")
                if entry is None:
                    entry = LiveCall(fields)
                    entry.take_last_second(item)
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
        for call_id in fresh:
            if call_id not in self._liveness:
                self._liveness.heard(call_id, wall)
        self._orphan_flags.clear()
        taken = []
        for item in flags:
            try:
                taken.append(FlagView.from_message(item))
            except FloorError as exc:
                self._errors.append(str(exc))
        for flag in sorted(taken, key=lambda f: f.t):
            self._take_flag(flag, alert=False)
        self._tally.reset(fresh)
        self._rows = {}
        self._stale = set(fresh)
        self._dirty = set(fresh)
        self._reranked = set(fresh)
        self._need.reset()
        self._resync = True

    def _call_fields(self, msg: Mapping[str, Any], where: str) -> dict[str, Any]:
        for name, kinds in (("team", str), ("started", NUM)):
            need_field(msg, name, kinds, where)
        need_agent(msg, where)
        check_types(msg, where)
        fields = {name: msg[name] for name in CALL_FIELDS if name in msg}
        fields.setdefault("t", fields["started"])
        hub_hold(fields)
        return fields

    def _on_call_start(self, msg: Mapping[str, Any], wall: float) -> None:
        call_id = need_field(msg, "call", str)
        t = float(need_field(msg, "t", NUM))
        fields = {
            "agent": need_field(msg, "agent", str),
            "agent_name": msg.get("agent_name"),
            "team": need_field(msg, "team", str),
            "queue": msg.get("queue"),
            "started": t,
            "t": t,
            "state": "talking",
            "hold_started": None,
            "hold_done": 0.0,
            "transfers": 0,
            "talk_overs": 0,
        }
        entry = LiveCall(fields)
        entry.timeline.append(TimelineEntry(t, "start", f"call started with {fields['agent']}"))
        self._adopt(call_id, entry)
        self._advance(t, wall)

    def _adopt(self, call_id: str, entry: LiveCall) -> None:
        """Put a new call on the board, with any flags that arrived before it."""
        self._calls[call_id] = entry
        earlier = self._ended.pop(call_id, None)
        if earlier is not None:  # the id reused: the call that ended under it stays history
            ended = earlier.ended_call(call_id)
            self.history.setdefault((call_id, ended.started), ended)
        self._removed.discard(call_id)
        for flag in [f for f in self._orphan_flags.values() if f.call == call_id]:
            self._orphan_flags.pop(flag.id)
            entry.set_flag(flag)
        self._tally.track(call_id, entry, moved=True)
        self._dirty.add(call_id)
        self._reranked.add(call_id)
        self._need.moved(call_id)

    def _live(self, msg: Mapping[str, Any]) -> tuple[str, LiveCall, float]:
        call_id = need_field(msg, "call", str)
        t = float(need_field(msg, "t", NUM))
        entry = self._calls.get(call_id)
        if entry is None:
            raise FloorError(f"{msg.get('type')}.call: unknown call {call_id!r}")
        return call_id, entry, t

    def _on_sample(self, msg: Mapping[str, Any], wall: float) -> None:
        call_id, entry, t = self._live(msg)
        entry.raw = True
        entry.fields["t"] = max(t, entry.fields["t"])
        entry.sample(msg)
        self._dirty.add(call_id)
        self._advance(t, wall)

    def _on_call_update(self, msg: Mapping[str, Any], wall: float) -> None:
        """The hot path of a summary subscription: thousands a second on a big floor."""
        call_id = msg.get("call")
        t = msg.get("t")
        if type(call_id) is not str or type(t) is not float:
            call_id = need_field(msg, "call", str)
            t = float(need_field(msg, "t", NUM))
        check_types(msg, "call_update")
        entry = self._calls.get(call_id)
        if entry is None:
            # A summary subscription may start a call with its first update.
            entry = LiveCall(self._call_fields(msg, "call_update"))
            self._adopt(call_id, entry)
        fields = entry.fields
        changed = [name for name in RANKED_FIELDS
                   if name in msg and msg[name] != fields.get(name)]
        if changed:
            self._reranked.add(call_id)
            self._need.moved(call_id)
        raw_levels = entry.raw and {n: fields.get(n) for n in LEVELS}
        fields.update(msg)  # unknown keys are harmless: rows read only the fields they know
        for name in changed:  # a name the board will show: as text (`printable`)
            fields[name] = printable(fields[name])
        if raw_levels:
            fields.update(raw_levels)  # a focused call's levels come from its raw samples
        hub_hold(fields)
        if not entry.take_last_second(msg) and not entry.raw:
            entry.push_levels(msg)
        self._tally.track(call_id, entry, "team" in changed)
        self._dirty.add(call_id)
        if t > self.t:
            self.t = t
            self._t_wall = wall

    def _on_event(self, msg: Mapping[str, Any], wall: float) -> None:
        call_id, entry, t = self._live(msg)
        event = need_field(msg, "event", str)
        text = entry.take_event(event, msg, t, self.backchannel_s)
        if event == "transfer":  # agent, team or queue may have changed: its place too
            self._reranked.add(call_id)
            self._need.moved(call_id)
        self._tally.track(call_id, entry, event == "transfer")
        entry.timeline.append(TimelineEntry(t, "event", text))
        self._dirty.add(call_id)
        self._advance(t, wall)

    def _on_call_end(self, msg: Mapping[str, Any], wall: float) -> None:
        call_id = need_field(msg, "call", str)
        t = float(need_field(msg, "t", NUM))
        if call_id not in self._calls:
            raise FloorError(f"call_end.call: unknown call {call_id!r}")
        self._end(call_id, t, msg.get("reason"))
        self._advance(t, wall)

    def _end(self, call_id: str, t: float | None, reason: Any = None) -> None:
        entry = self._calls.pop(call_id)
        entry.ended = True
        self._liveness.forget(call_id)
        self._tally.drop(call_id)
        if t is not None:
            entry.fields["t"] = max(t, entry.fields["t"])
            why = f" ({reason})" if isinstance(reason, str) else ""
            entry.timeline.append(TimelineEntry(t, "end", f"call ended{why}"))
        self._ended[call_id] = entry
        if len(self._ended) > 5000:
            self._ended.pop(next(iter(self._ended)))
        self._dirty.discard(call_id)
        self._reranked.discard(call_id)
        self._need.moved(call_id)
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
            if known is not None:  # the same episode: it began when it was first raised
                flag = replace(flag, since=min(known.since, flag.since), agent=known.agent,
                               who=known.who)
            else:
                f = entry.fields
                if not flag.who:  # the hub did not say: whoever has the call as it arrives
                    flag = replace(flag, agent=f["agent"],
                                   who=f.get("agent_name") or f["agent"] or AWAITING)
                elif flag.agent is not None and flag.agent == f["agent"]:
                    flag = replace(flag, who=f.get("agent_name") or flag.agent)
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
                self._tally.track(flag.call, entry)
                self._dirty.add(flag.call)
                self._reranked.add(flag.call)
                self._need.moved(flag.call)
        if alert:
            self.alerts.appendleft(flag)
            self._alerts.append(flag)

    def _on_note(self, msg: Mapping[str, Any], wall: float) -> None:
        call_id = need_field(msg, "call", str)
        text = need_field(msg, "text", str)
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
        call_id = need_field(msg, "call", str)
        action = need_field(msg, "action", str)
        entry = self._calls.get(call_id)
        if entry is None:
            raise FloorError(f"control.call: unknown call {call_id!r}")
        by = msg.get("by")
        who = f" by {by}" if isinstance(by, str) and by else ""
        entry.timeline.append(TimelineEntry(entry.fields["t"], "action",
                                            f"{action} requested{who}"))

    def _on_trace(self, msg: Mapping[str, Any], wall: float) -> None:
        """The hub's last minutes of the call just opened: the detail plots start full."""
        call_id = need_field(msg, "call", str)
        entry = self._calls.get(call_id)
        if entry is None or not entry.watched:
            return  # the supervisor has moved on (or the call ended) before it arrived
        try:
            trace = Trace.from_message(msg)
        except TraceError as exc:
            raise FloorError(str(exc)) from None
        entry.trace = trace
        self._dirty.add(call_id)

    def _on_history(self, msg: Mapping[str, Any], wall: float) -> None:
        calls = need_field(msg, "calls", list)
        for item in calls:
            if isinstance(item, Mapping) and item.get("live") is True:
                continue  # the hub lists live calls too; those are on the board already
            try:
                ended = EndedCall.from_summary(item)
            except FloorError as exc:
                self._errors.append(str(exc))
                continue
            self.history[ended.call, ended.started] = ended
        self._history_changed = True

    def _on_error(self, msg: Mapping[str, Any], wall: float) -> None:
        self._errors.append(f"hub: {msg.get('code', 'error')}: {msg.get('detail', '')}")

    def _on_batch(self, msg: Mapping[str, Any], wall: float) -> None:
        for item in need_field(msg, "items", list):
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
        "trace": _on_trace,
        "hub_status": _on_hub_status,
    }

    # --- output ------------------------------------------------------------

    @property
    def status(self) -> FeedStatus:
        return replace(self._status, last_message=self._last_wall)

    def focus(self, call_id: str | None) -> None:
        """Keep a trace for this call (the one on the detail screen) from now on.

        The call focused before gets no more raw samples from a summary subscription:
        its levels and trends go back to the hub's call_updates."""
        entry = None if call_id is None else (
            self._calls.get(call_id) or self._ended.get(call_id))
        for call in (*self._calls.values(), *self._ended.values()):
            if call.watched and call is not entry:
                call.watched = call.raw = False
                call.trace = None
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
        calls = self._calls
        if self._status.state == "connected":
            def on_hold(call_id: str) -> bool:
                return calls[call_id].fields.get("state") == "hold"
            for call_id in self._liveness.quiet(wall - NO_FEED_AFTER, on_hold):
                calls[call_id].no_feed = True
                self._dirty.add(call_id)
        self._stale |= self._dirty
        frame = Frame(
            rows=RowView(self._row, dict.fromkeys(self._calls)),
            changed=frozenset(self._dirty),
            reranked=frozenset(self._reranked),
            removed=frozenset(self._removed),
            teams=self._tally.teams(calls),
            alerts=tuple(self._alerts),
            status=self.status,
            counts=self._tally.counts(calls, len(self._liveness.silent)),
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

    def order(self, teams: frozenset[str] = frozenset(), kinds: frozenset[str] = frozenset(),
              text: str = "", by_agent: bool = False,
              keep: Sequence[str] | None = None) -> list[str]:
        """Live call ids in board order (by need, see `need_key`, or by agent name),
        keeping those on any of `teams`, with an open flag of any of `kinds`, and with
        `text` in agent, name, team, queue or call id (case-insensitive). Given `keep`,
        the order on screen, calm calls keep their lines in it (`keep_places`).

        Works on the model's own state, so sorting 5,000 calls builds no rows."""
        needle = text.casefold().strip()
        if not (teams or kinds or needle or by_agent):
            ranked = self._need.order(self._calls)
            if keep is None:
                return ranked
            return keep_places(keep, ranked, self._need.calm_from())
        ranked, calm_from = filtered(self._calls, teams, kinds, needle, by_agent)
        return ranked if keep is None or by_agent else keep_places(keep, ranked, calm_from)

    def detail(self, call_id: str) -> CallDetail | None:
        entry = self._calls.get(call_id) or self._ended.get(call_id)
        if entry is None:
            return None
        flags = sorted(entry.flags.values(), key=lambda f: f.t)
        return CallDetail(entry.row(call_id), entry.points(), tuple(entry.timeline),
                          tuple(flags), entry.ended)

    def agent_name(self, call_id: str) -> str:
        """Who is on the call (name, else id), for lists of flags; the call id if unknown."""
        entry = self._calls.get(call_id) or self._ended.get(call_id)
        if entry is None:
            return call_id
        return entry.fields.get("agent_name") or entry.fields["agent"] or AWAITING

    def flag(self, flag_id: str) -> FlagView | None:
        for entry in (*self._calls.values(), *self._ended.values()):
            if flag_id in entry.flags:
                return entry.flags[flag_id]
        return self._orphan_flags.get(flag_id)

    def agent_stats(self) -> list[AgentStats]:
        """This shift per agent: ended calls and live ones with every flag they have had."""
        return agent_stats(self.ended_calls(), (
            (self._row(call_id), entry.agents, entry.shift_flags())
            for call_id, entry in self._calls.items()))

    def ended_calls(self) -> list[EndedCall]:
        """Calls that ended: the store's history, plus those seen ending this session."""
        out = dict(self.history)
        for call_id, entry in self._ended.items():
            if (call_id, float(entry.fields["started"])) not in out:
                ended = entry.ended_call(call_id)
                out[call_id, ended.started] = ended
        return sorted(out.values(), key=lambda c: (c.name.casefold(), c.ended))

