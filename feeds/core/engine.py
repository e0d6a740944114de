"""The detection engine: validated messages in, flag transitions out.

A pure function of the message sequence: it reads no clock, does no I/O, and
keeps all state per call, so a replay at any speed, or the hub, gives the same
flags for the same messages. `Engine.process` takes one validated message
(see feeds.core.protocol) and returns the flag transitions it caused, in order.
The seven rules are the protocol's; their thresholds come from feeds.core.config.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from feeds.core.config import DEFAULT, Config
from feeds.core.flags import RULE_KINDS, Flag
from feeds.core.protocol import Message, ProtocolError, plain_sample, sample_fields
from feeds.core.voice import Party, SpikeChange

NO_FLAGS: tuple[Flag, ...] = ()

#: GC thresholds for a process running an engine over a whole floor (the hub, a replay).
#: With the default 700, messages in flight for a few ms reached the oldest generation,
#: whose full scans of 5,000 calls' state took 40-145 ms every ~2 s in the hub (its whole
#: p99) and cost a replay ~8% of its time. A young generation of 50,000 lets them die
#: young; same objects kept, fewer and shorter pauses.
GC_THRESHOLDS = (50_000, 20, 10)


def _signed(value: float | None, unit: str) -> str:
    return "n/a" if value is None else f"{value:+.1f} {unit}"


def _peaks(change: SpikeChange) -> dict[str, float]:
    """A spike's peaks as a flag's values, as the evidence shows them (one decimal)."""
    out = {}
    if change.db_peak is not None:
        out["peak_db"] = round(change.db_peak, 1)
    if change.st_peak is not None:
        out["peak_st"] = round(change.st_peak, 1)
    return out


class CallState:
    """Everything known about one live call, and the rules that judge it."""

    __slots__ = (
        "agent",
        "agent_name",
        "agent_party",
        "agent_raised_during_distress",
        "agents",
        "backchannels",
        "config",
        "cust",
        "customer",
        "distress_raised_at",
        "episodes",
        "hold_started",
        "hold_total",
        "holds",
        "id",
        "last_agent_db",
        "last_agent_pitch",
        "last_cust_db",
        "last_cust_pitch",
        "on_hold",
        "open",
        "queue",
        "raised_once",
        "started",
        "t",
        "talk_over_times",
        "talk_overs",
        "team",
        "transfer_path",
        "transfers",
    )

    def __init__(self, msg: Message, config: Config) -> None:
        self.config = config
        self.id: str = msg["call"]
        self.started: float = msg["t"]
        self.t: float = msg["t"]
        self.agent: str | None = msg["agent"]  # None: transferred blind, not yet answered
        self.agent_name: str | None = msg.get("agent_name")
        self.agents: list[str] = [self.agent]  # everyone who has had the call, in order
        self.team: str = msg["team"]
        self.queue: str | None = msg.get("queue")
        self.customer: str | None = msg.get("customer")
        self.on_hold = False
        self.hold_started = 0.0
        self.hold_total = 0.0
        self.holds = 0
        self.transfers = 0
        self.transfer_path: list[str] = []
        self.talk_overs = 0  # agent-initiated overlaps of at least min_dur_s
        self.backchannels = 0
        self.talk_over_times: deque[tuple[float, float]] = deque()
        self.open: dict[str, Flag] = {}
        self.episodes: dict[str, int] = {}
        self.raised_once: set[str] = set()
        self.distress_raised_at: float | None = None
        self.agent_raised_during_distress = False
        # The last sample's levels, for snapshot(): keeping the message itself would
        # free it (and its keys) much later, long after it has left the cache.
        self.last_cust_db: float | None = None
        self.last_cust_pitch: float | None = None
        self.last_agent_db: float | None = None
        self.last_agent_pitch: float | None = None
        rules, base = config.rules, config.baseline
        self.cust = Party(
            rules.customer_distress.db,
            rules.customer_distress.semitones,
            rules.customer_distress.sustain_s,
            base.window_s,
            base.min_speech_s,
            base.clear_margin_db,
            base.clear_margin_semitones,
            base.resolution_s,
        )
        self.agent_party = self._new_agent_party()

    def _new_agent_party(self) -> Party:
        rules, base = self.config.rules, self.config.baseline
        return Party(
            rules.agent_raised_voice.db,
            None,
            rules.agent_raised_voice.sustain_s,
            base.window_s,
            base.min_speech_s,
            base.clear_margin_db,
            base.clear_margin_semitones,
            base.resolution_s,
        )

    # --- flag bookkeeping -------------------------------------------------

    # Each flag's evidence sentence and its `values` are written together, here and in
    # the rules below: the numbers a sentence states are its values (docs/rules.md).

    def _raise(self, rule: str, t: float, evidence: str, values: dict[str, float]) -> Flag:
        n = self.episodes.get(rule, 0) + 1
        self.episodes[rule] = n
        severity = getattr(self.config.rules, rule).severity
        flag = Flag(f"{self.id}:{rule}:{n}", self.id, t, RULE_KINDS[rule], rule, severity,
                    "raised", evidence, values)
        self.open[rule] = flag
        return flag

    def _clear(self, rule: str, t: float, evidence: str,
               values: dict[str, float]) -> Flag | None:
        flag = self.open.pop(rule, None)
        return None if flag is None else flag.with_state("cleared", t, evidence, values)

    # --- time -----------------------------------------------------------

    def hold_so_far(self, t: float) -> float:
        return self.hold_total + (t - self.hold_started if self.on_hold else 0.0)

    def tick(self, t: float) -> list[Flag]:
        """Let event time reach `t` (never backwards); raise the hold timers that ran out."""
        if t > self.t:
            self.t = t
        if not self.on_hold:
            return []
        t = self.t
        out = []
        rules = self.config.rules
        held = t - self.hold_started
        if held >= rules.hold_long.seconds and "hold_long" not in self.open:
            at = self.hold_started + rules.hold_long.seconds
            limit = rules.hold_long.seconds
            out.append(self._raise(
                "hold_long", at,
                f"customer on hold for {limit:.0f} s with no check-in "
                f"(threshold {limit:.0f} s)",
                {"hold_s": round(limit, 1), "threshold_s": round(limit, 1)},
            ))
        total = self.hold_total + held
        if total >= rules.hold_total.seconds and "hold_total" not in self.raised_once:
            self.raised_once.add("hold_total")
            at = t - (total - rules.hold_total.seconds)
            limit = rules.hold_total.seconds
            out.append(self._raise(
                "hold_total", at,
                f"holds on this call add up to {limit:.0f} s "
                f"over {self.holds} hold(s) (threshold {limit:.0f} s)",
                {"total_s": round(limit, 1), "holds": self.holds, "threshold_s": round(limit, 1)},
            ))
        return out

    # --- messages -------------------------------------------------------

    def sample(self, msg: Message) -> list[Flag] | tuple[Flag, ...]:
        """Apply one validated sample of this call (Engine.process, the hub)."""
        _, t, dt, c_db, c_pitch, a_db, a_pitch = sample_fields(msg)
        return self.levels(t, dt, c_db, c_pitch, a_db, a_pitch)

    def levels(self, t: float, dt: float, c_db: float | None, c_pitch: float | None,
               a_db: float | None, a_pitch: float | None) -> list[Flag] | tuple[Flag, ...]:
        """One sample's levels: `dt` seconds up to event time `t`; None: that party is silent."""
        out: list[Flag] | tuple[Flag, ...] = self.tick(t) if self.on_hold else NO_FLAGS
        if t > self.t:
            self.t = t
        self.last_cust_db, self.last_cust_pitch = c_db, c_pitch
        self.last_agent_db, self.last_agent_pitch = a_db, a_pitch
        if c_db is not None or c_pitch is not None:
            change = self.cust.voiced(dt, c_db, c_pitch)
            if change is not None:
                out = [*out, *self._customer_change(self.t, change)]
        if a_db is not None or a_pitch is not None:
            change = self.agent_party.voiced(dt, a_db, a_pitch)
            if change is not None:
                out = [*out, *self._agent_change(self.t, change)]
        return out

    def _customer_change(self, t: float, change: SpikeChange) -> list[Flag]:
        rule = self.config.rules.customer_distress
        base_db, base_hz = self.cust.baselines()
        if change.started:
            self.distress_raised_at = t
            self.agent_raised_during_distress = self.agent_party.active
            parts = []
            values: dict[str, float] = {}
            if change.db_excess is not None and change.db_excess >= rule.db:
                parts.append(f"customer loudness {change.db_excess:+.1f} dB over their baseline "
                             f"({base_db:.1f} dBFS)")
                values["db"] = round(change.db_excess, 1)
                values["base_db"] = round(base_db, 1)
            if change.st_excess is not None and change.st_excess >= rule.semitones:
                parts.append(f"customer pitch {change.st_excess:+.1f} semitones over their "
                             f"baseline ({base_hz:.0f} Hz)")
                values["st"] = round(change.st_excess, 1)
                values["base_hz"] = round(base_hz, 1)
            values.update(sustain_s=round(rule.sustain_s, 1), threshold_db=rule.db,
                          threshold_st=rule.semitones)
            return [self._raise(
                "customer_distress", t,
                " and ".join(parts) + f" for {rule.sustain_s:.1f} s of their speech "
                f"(thresholds +{rule.db:g} dB / +{rule.semitones:g} st)",
                values,
            )]
        raised_at = self.distress_raised_at if self.distress_raised_at is not None else t
        lasted = t - raised_at
        out = []
        cleared = self._clear(
            "customer_distress", t,
            f"customer back near their baseline after {lasted:.1f} s "
            f"(peak {_signed(change.db_peak, 'dB')}, {_signed(change.st_peak, 'st')})",
            {"lasted_s": round(lasted, 1), **_peaks(change)},
        )
        if cleared is not None:
            out.append(cleared)
        kudos = self.config.rules.deescalated
        # A kudos stays open until the call ends, so a second calmed episode is not
        # raised again (once per episode: no second raise while the first is open).
        if (lasted <= kudos.within_s and not self.agent_raised_during_distress
                and "deescalated" not in self.open):
            out.append(self._raise(
                "deescalated", t,
                f"customer calmed {lasted:.1f} s after distress was flagged "
                f"(peak {_signed(change.db_peak, 'dB')}, {_signed(change.st_peak, 'st')}) "
                f"with no raised agent voice (within {kudos.within_s:.0f} s)",
                {"calmed_s": round(lasted, 1), **_peaks(change),
                 "within_s": round(kudos.within_s, 1)},
            ))
        self.distress_raised_at = None
        return out

    def _agent_change(self, t: float, change: SpikeChange) -> list[Flag]:
        rule = self.config.rules.agent_raised_voice
        if change.started:
            if self.cust.active:
                self.agent_raised_during_distress = True
            base_db, _ = self.agent_party.baselines()
            values = {"base_db": round(base_db, 1), "sustain_s": round(rule.sustain_s, 1),
                      "threshold_db": rule.db}
            if change.db_excess is not None:
                values["db"] = round(change.db_excess, 1)
            return [self._raise(
                "agent_raised_voice", t,
                f"agent loudness {_signed(change.db_excess, 'dB')} over their baseline "
                f"({base_db:.1f} dBFS) for {rule.sustain_s:.1f} s of their speech "
                f"(threshold +{rule.db:g} dB)",
                values,
            )]
        cleared = self._clear(
            "agent_raised_voice", t,
            f"agent back near their baseline (peak {_signed(change.db_peak, 'dB')})",
            _peaks(change),
        )
        return [] if cleared is None else [cleared]

    def event(self, msg: Message) -> list[Flag]:
        t = msg["t"]
        out = self.tick(t)
        t = self.t
        kind = msg["event"]
        if kind == "hold_start":
            if not self.on_hold:
                self.on_hold = True
                self.holds += 1
                self.hold_started = t
        elif kind == "hold_end":
            if self.on_hold:
                held = t - self.hold_started
                self.hold_total += held
                self.on_hold = False
                cleared = self._clear(
                    "hold_long", t, f"customer back from a {held:.0f} s hold",
                    {"hold_s": round(held, 1)})
                if cleared is not None:
                    out.append(cleared)
        elif kind == "transfer":
            out.extend(self._transfer(t, msg))
        elif kind == "talk_over":
            out.extend(self._talk_over(t, msg))
        return out

    def _transfer(self, t: float, msg: Message) -> list[Flag]:
        self.transfers += 1
        self.transfer_path.append(msg["to"])
        out = []
        # Whoever answers after a transfer (a named agent, or whoever picks up from the
        # queue of a blind one) is a new voice: a new baseline, and the previous agent's
        # raised voice ends with their part in the call.
        cleared = self._clear(
            "agent_raised_voice", t, f"agent changed (transferred to {msg['to']})", {})
        if cleared is not None:
            out.append(cleared)
        self.agent_party = self._new_agent_party()
        # A blind transfer (no `agent`) leaves the call waiting in `to`: no agent has it,
        # and nothing from here on is credited to the one who transferred it.
        self.agent = msg.get("agent") or None
        self.agent_name = msg.get("agent_name") if self.agent else None
        if self.agent is None:
            self.queue = msg["to"]
        elif self.agent not in self.agents:
            self.agents.append(self.agent)
        if msg.get("team"):
            self.team = msg["team"]
        rule = self.config.rules.transfers
        if self.transfers >= rule.count and "transfers" not in self.raised_once:
            self.raised_once.add("transfers")
            path = ", then ".join(self.transfer_path)
            out.append(self._raise(
                "transfers", t,
                f"customer transferred {self.transfers} times (to {path}); "
                f"threshold {rule.count}",
                {"count": self.transfers, "threshold": rule.count},
            ))
        return out

    def _talk_over(self, t: float, msg: Message) -> list[Flag]:
        rule = self.config.rules.talk_over
        dur = msg["dur"]
        if dur < rule.min_dur_s:
            self.backchannels += 1
            return []
        if msg["by"] != "agent":
            return []
        self.talk_overs += 1
        times = self.talk_over_times
        times.append((t, dur))
        while t - times[0][0] > rule.window_s:
            times.popleft()
        if len(times) >= rule.count and "talk_over" not in self.raised_once:
            self.raised_once.add("talk_over")
            span = t - times[0][0]
            durs = ", ".join(f"{d:.1f} s" for _, d in times)
            return [self._raise(
                "talk_over", t,
                f"agent talked over the customer {len(times)} times in {span:.0f} s "
                f"(overlaps {durs}; threshold {rule.count} within {rule.window_s:.0f} s)",
                {"count": len(times), "window_s": round(span, 1), "threshold": rule.count,
                 "within_s": round(rule.window_s, 1)},
            )]
        return []

    def end(self, msg: Message) -> list[Flag]:
        out = self.tick(msg["t"])
        t = self.t
        if self.on_hold:
            self.hold_total += t - self.hold_started
            self.on_hold = False
        reason = msg.get("reason")
        note = f"call ended ({reason})" if reason else "call ended"
        for rule in list(self.open):
            flag = self.open[rule]
            out.append(self._clear(rule, t, f"{note}: {flag.evidence}", flag.values))
        return out

    # --- views ----------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The call's running state, as sent in `snapshot.calls` and `call_update`."""
        cb_db, cb_hz = self.cust.baselines()
        ab_db, ab_hz = self.agent_party.baselines()
        return {
            "call": self.id,
            "agent": self.agent,
            "agent_name": self.agent_name,
            "team": self.team,
            "queue": self.queue,
            "customer": self.customer,
            "started": self.started,
            "t": self.t,
            "state": "hold" if self.on_hold else "talking",
            "hold_started": self.hold_started if self.on_hold else None,
            "hold_total": round(self.hold_so_far(self.t), 3),
            "holds": self.holds,
            "transfers": self.transfers,
            "talk_overs": self.talk_overs,
            "cust_db": self.last_cust_db,
            "cust_pitch": self.last_cust_pitch,
            "agent_db": self.last_agent_db,
            "agent_pitch": self.last_agent_pitch,
            "cust_db_base": cb_db,
            "cust_pitch_base": cb_hz,
            "agent_db_base": ab_db,
            "agent_pitch_base": ab_hz,
            "cust_spike": self.cust.active,
            "agent_spike": self.agent_party.active,
        }

    def summary(self) -> dict[str, Any]:
        """What is kept of the call once it ends (feeds.hub.store writes it)."""
        return {
            "call": self.id,
            "agent": self.agent,
            "agent_name": self.agent_name,
            "agents": list(self.agents),
            "team": self.team,
            "queue": self.queue,
            "started": self.started,
            "ended": self.t,
            "duration": round(self.t - self.started, 3),
            "hold_total": round(self.hold_so_far(self.t), 3),
            "holds": self.holds,
            "transfers": self.transfers,
            "talk_overs": self.talk_overs,
            "cust_peak_db": round(self.cust.db.peak, 2),
            "cust_peak_st": round(self.cust.st.peak, 2),
            "agent_peak_db": round(self.agent_party.db.peak, 2),
            "flags": sorted(self.episodes),
            "episodes": dict(self.episodes),
        }


#: Ended call ids the engine remembers for id reuse (about 200 bytes each).
PAST_CALLS = 100_000


class Engine:
    """Runs the rules over every live call. Feed it validated messages in arrival order."""

    def __init__(self, config: Config = DEFAULT) -> None:
        self.config = config
        self.calls: dict[str, CallState] = {}
        # Per call id, the episode numbers per rule of the last call that ended under it.
        # A telephony platform may reuse an id; the next call under it numbers its flags
        # on from there, so no flag id names two calls (docs/protocol.md).
        self.past: dict[str, dict[str, int]] = {}

    def remember(self, call_id: str, episodes: dict[str, int]) -> None:
        """A call that ended under `call_id` (this engine's, or one the store kept)."""
        past = self.past
        past.pop(call_id, None)
        past[call_id] = episodes
        if len(past) > PAST_CALLS:
            del past[next(iter(past))]

    def process(self, msg: Message) -> list[Flag] | tuple[Flag, ...]:
        """Apply one validated producer message; return the flag transitions it caused.

        A `batch` is not taken here: callers feed its items one by one
        (feeds.core.protocol.iter_messages), so one bad item costs only itself.

        Raises ProtocolError (code ``unknown_call`` / ``duplicate_call``) for a message
        that is well-formed but does not fit the calls in progress; state is unchanged then.
        """
        kind = msg["type"]
        if kind == "sample":
            try:
                call = self.calls[msg["call"]]
            except KeyError:
                raise self._unknown(msg) from None
            return call.sample(msg)
        if kind == "event":
            call = self.calls.get(msg["call"])
            if call is None:
                raise self._unknown(msg)
            return call.event(msg)
        if kind == "call_start":
            if msg["call"] in self.calls:
                raise ProtocolError(
                    f"call_start.call: call {msg['call']!r} is already live", code="duplicate_call")
            call = self.calls[msg["call"]] = CallState(msg, self.config)
            past = self.past.get(call.id)
            if past is not None:  # the id reused: a new call, whose flags are its own
                call.episodes = dict(past)
            return NO_FLAGS
        if kind == "call_end":
            call = self.calls.pop(msg["call"], None)
            if call is None:
                raise self._unknown(msg)
            flags = call.end(msg)
            self.remember(call.id, dict(call.episodes))
            return flags
        raise ProtocolError(f"{kind}: not a producer message", code="unexpected_type")

    def take_sample(self, msg: dict) -> list[Flag] | tuple[Flag, ...] | None:
        """`process` for a map whose type is "sample", straight off a reader: not validated.

        Its fields are read once and checked here (feeds.core.protocol.plain_sample) rather than
        by `validate` and again by the call, the fast replay's one pass over each sample.
        Returns None, having changed nothing, when the map is not a well-formed sample in
        the usual shape: the caller validates it then and `process`es it if it is valid.
        Raises ProtocolError (``unknown_call``) as `process` does.
        """
        call_id, t, dt, c_db, c_pitch, a_db, a_pitch = sample_fields(msg)
        if not plain_sample(call_id, t, dt, c_db, c_pitch, a_db, a_pitch):
            return None
        call = self.calls.get(call_id)
        if call is None:
            raise self._unknown(msg)
        return call.levels(t, dt, c_db, c_pitch, a_db, a_pitch)

    @staticmethod
    def _unknown(msg: Message) -> ProtocolError:
        return ProtocolError(
            f"{msg['type']}.call: unknown call {msg['call']!r} (no call_start, or already ended)",
            code="unknown_call",
        )

    def advance(self, call_id: str, t: float) -> list[Flag]:
        """Let a call's event time reach `t` with no message (a producer gone quiet)."""
        call = self.calls.get(call_id)
        return [] if call is None else call.tick(t)

    def open_flags(self) -> list[Flag]:
        return [flag for call in self.calls.values() for flag in call.open.values()]
