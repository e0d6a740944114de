"""A live call's recent voice levels in 1-second bins, kept small enough for 5,000 calls.

The last sample's levels are null whenever that party was silent at that
instant, so a board drawn from them is mostly blank even while someone talks.
A `Trace` folds samples, by event time, into one bin per second: per party
the mean of the *voiced* loudness and pitch in that second (None when the
party said nothing), and whether that party's spike was active. It keeps the
last `capacity` seconds (180 by default) in flat float32 arrays, about 4 KB a
call. The hub keeps one per live call (the `*_1s` fields of `call_update`
and the `trace` message, docs/protocol.md); the supervisor client keeps one
for the call it has open.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping
from typing import Any

#: Seconds a trace keeps; the detail plots are at most this wide.
CAPACITY = 180
#: The metrics of a bin, in order; they are the `sample` fields of the same names.
METRICS = ("cust_db", "cust_pitch", "agent_db", "agent_pitch")
#: `call_update` extension fields: the last complete second's start and per-party means.
LAST_FIELDS = ("t_1s", *(f"{m}_1s" for m in METRICS))
NAN = math.nan
_NO_LAST = dict.fromkeys(LAST_FIELDS)
_CUST_SPIKE, _AGENT_SPIKE = 1, 2
#: An open second's accumulator when empty: sum and count per metric, as doubles.
_ZEROS = array("d", [0.0] * 8)


class TraceError(ValueError):
    """A `trace` message that cannot be used; the text names the field and the problem."""


def _mean(total: float, count: int) -> float:
    return total / count if count else NAN


def _opt(value: float) -> float | None:
    """NaN (nothing voiced) as None; else to 0.1, by arithmetic: round(x, 1) goes
    through decimal conversion and cost 3 µs a value on the hub's call_update path."""
    return None if value != value else round(value * 10.0) / 10.0


class Trace:
    """One call's 1-second bins: the open second accumulates, closed ones sit in a ring."""

    __slots__ = ("_acc", "_spikes", "capacity", "count", "end", "sec", "spikes", "values")

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.values = tuple(array("f", [NAN]) * capacity for _ in METRICS)
        self.spikes = bytearray(capacity)  # bit 1: customer spike, bit 2: agent spike
        self.sec: int | None = None  # the open second (being accumulated)
        self.end = 0  # closed bins are the seconds [end - count, end)
        self.count = 0
        self._acc = array("d", _ZEROS)  # sum, count per metric
        self._spikes = 0

    def add(self, t: float, levels: Mapping[str, Any], cust_spike: bool = False,
            agent_spike: bool = False) -> bool:
        """Fold one sample ending at event time `t` in; True when it closed a second.

        A sample older than the open second counts in the open second: event time
        of one call does not go backwards, and a late sample must not reopen the past.
        """
        sec = int(t // 1)
        if self.sec is None:
            self.sec = sec
            closed = False
        elif sec > self.sec:
            self._close(sec)
            closed = True
        else:
            closed = False
        acc = self._acc
        value = levels.get("cust_db")
        if value is not None:
            acc[0] += value
            acc[1] += 1
        value = levels.get("cust_pitch")
        if value is not None:
            acc[2] += value
            acc[3] += 1
        value = levels.get("agent_db")
        if value is not None:
            acc[4] += value
            acc[5] += 1
        value = levels.get("agent_pitch")
        if value is not None:
            acc[6] += value
            acc[7] += 1
        if cust_spike:
            self._spikes |= _CUST_SPIKE
        if agent_spike:
            self._spikes |= _AGENT_SPIKE
        return closed

    def _close(self, new_sec: int) -> None:
        """Store the open second, leave empty bins for seconds nothing arrived in."""
        sec = self.sec
        assert sec is not None
        cap = self.capacity
        acc = self._acc
        i = sec % cap
        for k, values in enumerate(self.values):
            values[i] = _mean(acc[2 * k], acc[2 * k + 1])
        self.spikes[i] = self._spikes
        gap = min(new_sec - sec - 1, cap)
        for s in range(new_sec - gap, new_sec):
            j = s % cap
            for values in self.values:
                values[j] = NAN
            self.spikes[j] = 0
        self.count = min(cap, self.count + new_sec - sec)
        self.end = new_sec
        self.sec = new_sec
        self._acc[:] = _ZEROS  # in place: a new list per second per call, 5,000 a second,
        self._spikes = 0       # lived long enough to reach the GC's oldest generation

    def last(self) -> dict[str, float | None]:
        """The `call_update` extension fields: the last complete second's means."""
        out: dict[str, float | None] = {}
        self.fill(out)
        return out

    def fill(self, out: dict[str, Any]) -> None:
        """Put the last-second fields into `out` (a call's state) without building a dict
        of them: the hub does this for every call_update of 5,000 calls."""
        if not self.count:
            out.update(_NO_LAST)
            return
        i = (self.end - 1) % self.capacity
        c_db, c_hz, a_db, a_hz = self.values
        out["t_1s"] = float(self.end - 1)
        value = c_db[i]
        out["cust_db_1s"] = None if value != value else round(value * 10.0) / 10.0
        value = c_hz[i]
        out["cust_pitch_1s"] = None if value != value else round(value * 10.0) / 10.0
        value = a_db[i]
        out["agent_db_1s"] = None if value != value else round(value * 10.0) / 10.0
        value = a_hz[i]
        out["agent_pitch_1s"] = None if value != value else round(value * 10.0) / 10.0

    def bins(self, open_bin: bool = False) -> tuple[float, list[tuple[float | None, ...]],
                                                      list[tuple[bool, bool]]]:
        """(t0, levels per second in METRICS order, (cust, agent) spike per second).

        `open_bin` adds the second still being accumulated, so a live plot moves
        with every sample instead of once a second.
        """
        cap = self.capacity
        start = self.end - self.count
        levels: list[tuple[float | None, ...]] = []
        spikes: list[tuple[bool, bool]] = []
        for s in range(start, self.end):
            i = s % cap
            levels.append(tuple(_opt(v[i]) for v in self.values))
            bits = self.spikes[i]
            spikes.append((bool(bits & _CUST_SPIKE), bool(bits & _AGENT_SPIKE)))
        if open_bin and self.sec is not None:
            if not self.count:
                start = self.sec
            acc = self._acc
            levels.append(tuple(_opt(_mean(acc[2 * k], acc[2 * k + 1])) for k in range(4)))
            spikes.append((bool(self._spikes & _CUST_SPIKE), bool(self._spikes & _AGENT_SPIKE)))
        return float(start), levels, spikes

    def message(self, call: str, baselines: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The `trace` message for a subscriber that just focused this call."""
        t0, levels, spikes = self.bins()
        columns = list(zip(*levels, strict=True)) if levels else [() for _ in METRICS]
        msg: dict[str, Any] = {"type": "trace", "call": call, "t0": t0, "step": 1.0}
        for name, column in zip(METRICS, columns, strict=True):
            msg[name] = list(column)
        msg["cust_spike"] = [c for c, _ in spikes]
        msg["agent_spike"] = [a for _, a in spikes]
        for name in ("cust_db_base", "cust_pitch_base", "agent_db_base", "agent_pitch_base"):
            value = (baselines or {}).get(name)
            msg[name] = None if value is None else round(float(value), 2)
        return msg

    @classmethod
    def from_message(cls, msg: Mapping[str, Any], capacity: int = CAPACITY) -> Trace:
        """A trace rebuilt from a hub's `trace` message (what the client plots first)."""
        t0 = msg.get("t0")
        if not isinstance(t0, (int, float)) or isinstance(t0, bool) or not math.isfinite(t0):
            raise TraceError(f"trace.t0: expected a finite number, got {t0!r}"[:80])
        if msg.get("step", 1.0) != 1.0:
            raise TraceError(f"trace.step: expected 1.0, got {msg.get('step')!r}"[:80])
        columns = []
        for name in (*METRICS, "cust_spike", "agent_spike"):
            column = msg.get(name)
            if not isinstance(column, list):
                raise TraceError(f"trace.{name}: expected a list, got {column!r}"[:80])
            columns.append(column)
        n = len(columns[0])
        for name, column in zip((*METRICS, "cust_spike", "agent_spike"), columns, strict=True):
            if len(column) != n:
                raise TraceError(f"trace.{name}: expected {n} items like cust_db, "
                                 f"got {len(column)}")
            for value in column:
                if value is not None and (not isinstance(value, (int, float))
                                          or (isinstance(value, bool) and name in METRICS)):
                    raise TraceError(f"trace.{name}: expected numbers or null, got {value!r}"
                                     [:80])
        trace = cls(capacity)
        first = int(t0) + max(0, n - capacity)
        for k in range(max(0, n - capacity), n):
            i = (int(t0) + k) % capacity
            for m, values in enumerate(trace.values):
                value = columns[m][k]
                values[i] = NAN if value is None else float(value)
            trace.spikes[i] = (_CUST_SPIKE if columns[4][k] else 0) | (
                _AGENT_SPIKE if columns[5][k] else 0)
        trace.count = int(t0) + n - first
        trace.end = trace.sec = int(t0) + n
        return trace
