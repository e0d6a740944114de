"""One party's voice on one call: rolling baselines and sustained spikes.

A *track* follows one metric (loudness in dBFS, or pitch in semitones) of one
party. Its baseline is the median of that party's most recent
`baseline.window_s` seconds of non-spike speech, kept exact in a sorted array
(insert and remove are a binary search and a shift). A *spike sample* is one at or
over baseline + threshold; it never enters the baseline. The *sustained level*
is the median of the party's last `sustain_s` seconds of voiced samples, so a
cough or one loud word does not move it.

A party's spike starts on a spike sample whose sustained level is over the
threshold, freezes all of that party's baselines while it lasts, and ends when
every sustained level is back below threshold - clear margin. Everything is
counted in seconds of speech (the samples' `dt`), never in wall time.

Nearly every sample on a floor is an ordinary one: under the spike level of a
party whose spike is not active. `Party.voiced` handles those with a compare,
two writes to a window and a running sum; everything else (baseline updates, once per
`resolution_s` of speech, and the sustained medians) runs only when needed.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from math import log2

try:
    import cython
except ImportError:  # no Cython here: this module runs as it is
    COMPILED = False
else:
    COMPILED = cython.compiled  # True in the module Cython builds, False interpreted
try:  # noqa: SIM105 - Cython takes this cimport only at the top level, not in a `with`
    from cython.cimports.libc.math import log2 as c_log2  # used only where COMPILED
except ImportError:
    pass

SEMITONE_REF_HZ = 100.0
_SEMITONE_OFFSET = 12.0 * math.log2(SEMITONE_REF_HZ)
#: Windows (recent speech: two numbers a sample; baseline: one) start with room for this
#: many numbers; they are compacted when full, and doubled when what they keep fills half.
_WINDOW = 128


#: A track's `median` until it has a baseline.
NO_BASE = -math.inf


def hz_to_semitones(hz: float) -> float:
    """Pitch in semitones above 100 Hz: equal steps are equal musical intervals."""
    return 12.0 * math.log2(hz) - _SEMITONE_OFFSET


def semitones_to_hz(st: float) -> float:
    return SEMITONE_REF_HZ * 2.0 ** (st / 12.0)


def _doubles(size: int) -> array:
    return array("d", bytes(8 * size))


def _median(values: array) -> float:
    """Median of a window slice. The list is built in a loop so that, compiled, it reads
    the C array directly instead of wrapping the slice in a Python memoryview."""
    ordered = sorted([value for value in values]) if COMPILED else sorted(values)
    n = len(ordered)
    return (ordered[(n - 1) // 2] + ordered[n // 2]) / 2.0


class Track:
    """Baseline, threshold and peak of one metric of one party.

    A sample touches this rarely: the baseline once per `resolution_s` of speech, the
    rest when a spike is judged; the recent windows are the Party's. The baseline
    window is an `array('d')` (a C double array when compiled): an update boxes
    nothing and keeps no message's float alive, and a bisect probe reads the next cache
    line rather than a float object anywhere in the heap (on a floor of 1,000 calls,
    misses on such objects were most of the engine's time).
    A track without a threshold is kept for display only: it has a baseline but its
    sustained level is never judged.
    """

    __slots__ = (
        "base_head",
        "base_n",
        "base_total",
        "base_win",
        "clear_margin",
        "median",
        "min_speech",
        "peak",
        "threshold",
        "window_s",
    )

    def __init__(
        self, threshold: float | None, clear_margin: float, window_s: float, min_speech_s: float
    ) -> None:
        # No threshold: tracked for display only; an infinite one never spikes.
        self.threshold = math.inf if threshold is None else threshold
        self.clear_margin = clear_margin
        self.window_s = window_s
        self.min_speech = min_speech_s
        self.median = NO_BASE  # the baseline (see `base`); a number, so nothing is boxed
        # The baseline window, in one array so that an update touches few cache lines:
        # its first two thirds hold the kept samples as (dt, value) pairs in
        # base_win[base_head:base_n], oldest first (dt: the speech each stands for); the
        # last third begins with the same values sorted.
        self.base_win = _doubles(3 * _WINDOW)
        self.base_head = self.base_n = 0
        self.base_total = 0.0
        self.peak = 0.0  # largest sustained excess of the current (or last) spike

    @property
    def base(self) -> float | None:
        """The baseline, None until min_speech_s of speech is in it."""
        return None if self.median == NO_BASE else self.median

    def into_baseline(self, dt: float, value: float) -> float:
        """Keep one non-spike sample standing for `dt` seconds of speech; refresh the median.

        Returns the spike level, base + threshold (infinite while there is no base).
        `Party.voiced` keeps one sample per `resolution_s` of speech (`dt` is all the
        speech since the last one kept), so the cost does not grow with the sample rate.
        """
        n = self.base_n
        if n == 2 * (len(self.base_win) // 3):
            n = self._make_room()
        head = self.base_head
        ordered = 2 * (len(self.base_win) // 3)  # where the sorted values start
        self.base_win[n] = dt
        self.base_win[n + 1] = value
        self._insert_sorted(ordered, ordered + (n - head) // 2, value)
        n += 2
        self.base_n = n
        total = self.base_total + dt
        while total - self.base_win[head] >= self.window_s:
            self._remove_sorted(ordered, ordered + (n - head) // 2, self.base_win[head + 1])
            total -= self.base_win[head]
            head += 2
        self.base_head = head
        self.base_total = total
        if total >= self.min_speech or self.median != NO_BASE:
            count = (n - head) // 2
            self.median = median = (self.base_win[ordered + (count - 1) // 2]
                                    + self.base_win[ordered + count // 2]) / 2.0
            return median + self.threshold
        return math.inf

    def _make_room(self) -> int:
        """Move the baseline window's pairs to the front, or double the array if they fill
        half their part; returns where the next sample goes."""
        head, n = self.base_head, self.base_n
        kept = n - head
        size = len(self.base_win) // 3
        if kept > size:
            count = kept // 2
            grown = _doubles(6 * size)
            grown[:kept] = self.base_win[head:n]
            grown[4 * size : 4 * size + count] = self.base_win[2 * size : 2 * size + count]
            self.base_win = grown
        else:
            self.base_win[:kept] = self.base_win[head:n]
        self.base_head, self.base_n = 0, kept
        return kept

    def _insert_sorted(self, lo: int, hi: int, x: float) -> None:
        """Insert `x` into the sorted base_win[lo:hi], after values equal to it; the run is
        the array's tail, so base_win[hi] and everything after it is free.

        Compiled: a search and a shift, loops over the C array (on the attribute itself:
        a memoryview passed to a function is a 208-byte struct copied, four cache lines).
        Interpreted, the same with `bisect` and the array's own methods, each one call
        into C (loops written in Python are several times slower). The result is the same.
        """
        if not COMPILED:
            a = self.base_win
            a.insert(bisect_right(a, x, lo, hi), x)
            a.pop()
            return
        end = hi
        while lo < hi:
            mid = (lo + hi) >> 1
            if x < self.base_win[mid]:
                hi = mid
            else:
                lo = mid + 1
        for i in range(end, lo, -1):
            self.base_win[i] = self.base_win[i - 1]
        self.base_win[lo] = x

    def _remove_sorted(self, lo: int, hi: int, x: float) -> None:
        """Remove one `x` (which is there) from the sorted base_win[lo:hi]; as
        _insert_sorted does it."""
        if not COMPILED:
            a = self.base_win
            a.pop(bisect_left(a, x, lo, hi))
            a.append(0.0)
            return
        end = hi
        while lo < hi:
            mid = (lo + hi) >> 1
            if self.base_win[mid] < x:
                lo = mid + 1
            else:
                hi = mid
        for i in range(lo, end - 1):
            self.base_win[i] = self.base_win[i + 1]


@dataclass(frozen=True, slots=True)
class SpikeChange:
    """A party's spike started (`started`) or ended, with the numbers for the evidence."""

    started: bool
    db_excess: float | None
    st_excess: float | None
    db_peak: float
    st_peak: float


class Party:
    """One speaker on a call: a loudness track and a pitch track sharing one spike state.

    What every voiced sample reads and writes is kept here, in one object: the spike
    levels, the speech due for the baselines, and both metrics' recent windows, which
    share one array. On a floor of thousands of calls each object touched is a likely
    cache miss; the tracks (the baselines) are touched once per `resolution_s` of speech.
    """

    __slots__ = (
        "active",
        "db",
        "db_due",
        "db_n",
        "db_spike_at",
        "judge_pitch",
        "resolution",
        "st",
        "st_due",
        "st_n",
        "st_spike_at",
        "sustain",
        "win",
    )

    def __init__(
        self,
        db_threshold: float,
        st_threshold: float | None,
        sustain_s: float,
        window_s: float,
        min_speech_s: float,
        clear_db: float,
        clear_st: float,
        resolution_s: float,
    ) -> None:
        self.db = Track(db_threshold, clear_db, window_s, min_speech_s)
        self.st = Track(st_threshold, clear_st, window_s, min_speech_s)
        # The agent's pitch (no threshold) is for display only: a baseline, no window.
        self.judge_pitch = st_threshold is not None
        self.active = False
        self.resolution = resolution_s
        self.sustain = sustain_s
        # A sample at or over a spike level is a spike sample; *_due is the speech
        # since the last sample that entered that track's baseline.
        self.db_spike_at = self.st_spike_at = math.inf
        self.db_due = self.st_due = 0.0
        # The recent windows: voiced samples as (dt, value) pairs, newest last; loudness
        # in win[:db_n], pitch (semitones) in win[half:st_n], half = len(win) // 2.
        self.win = _doubles(2 * _WINDOW)
        self.db_n = 0
        self.st_n = _WINDOW

    def voiced(self, dt: float, db: float | None, pitch_hz: float | None) -> SpikeChange | None:
        """Take one interval in which this party spoke; report a spike starting or ending.

        This runs for nearly every sample on the floor, so both metrics are written
        out here: append to the recent window, test for a spike sample, and feed the
        baseline unless the sample is a spike or the party's spike is active.
        """
        active = self.active
        judge = active
        step = dt  # compiled: a C double for the sums, while the windows keep `dt` itself
        if db is not None:
            level = db  # a C double when compiled: nothing below boxes it
            n = self.db_n
            if n == len(self.win) // 2:
                n = self._compact(False)
            self.win[n] = step
            self.win[n + 1] = level
            self.db_n = n + 2
            if level >= self.db_spike_at:
                judge = True
            elif not active:
                due = self.db_due + step
                if due < self.resolution:
                    self.db_due = due
                else:
                    self.db_due = 0.0
                    self.db_spike_at = self.db.into_baseline(due, db)
        if pitch_hz is not None and pitch_hz > 0.0:
            if COMPILED:  # the C library's log2, on a C double
                st = 12.0 * c_log2(pitch_hz) - _SEMITONE_OFFSET
            else:
                st = 12.0 * log2(pitch_hz) - _SEMITONE_OFFSET
            if self.judge_pitch:
                n = self.st_n
                if n == len(self.win):
                    n = self._compact(True)
                self.win[n] = step
                self.win[n + 1] = st
                self.st_n = n + 2
            if st >= self.st_spike_at:
                judge = True
            elif not active:
                due = self.st_due + step
                if due < self.resolution:
                    self.st_due = due
                else:
                    self.st_due = 0.0
                    self.st_spike_at = self.st.into_baseline(due, st)
        return self._judge(active) if judge else None

    def _compact(self, pitch: bool) -> int:
        """Make room in a full recent window (pitch's, or loudness's); returns where its
        next sample goes.

        Keeps the newest samples that make up `sustain_s` of speech (all there is, if
        less), moved to the front of the window's half; when they would fill half of it,
        the array doubles instead (each window keeping what it has).
        """
        half = len(self.win) // 2
        lo = half if pitch else 0
        n = self.st_n if pitch else self.db_n
        start, total = lo, 0.0
        for i in range(n - 2, lo - 1, -2):
            total += self.win[i]
            if total >= self.sustain:
                start = i
                break
        kept = n - start
        if kept * 2 > half:
            grown = _doubles(4 * half)
            grown[: self.db_n] = self.win[: self.db_n]
            grown[2 * half : self.st_n + half] = self.win[half : self.st_n]
            self.win = grown
            self.st_n += half
            return self.st_n if pitch else self.db_n
        self.win[lo : lo + kept] = self.win[start:n]
        if pitch:
            self.st_n = lo + kept
        else:
            self.db_n = kept
        return lo + kept

    def _excess(self, pitch: bool) -> float | None:
        """A metric's sustained level over its baseline, or None when it cannot be judged.

        The sustained level is the median of the last `sustain_s` of speech, once
        that much speech has been heard.
        """
        track = self.st if pitch else self.db
        if track.median == NO_BASE or (pitch and not self.judge_pitch):
            return None
        lo = len(self.win) // 2 if pitch else 0
        n = self.st_n if pitch else self.db_n
        total = 0.0
        for i in range(n - 2, lo - 1, -2):
            total += self.win[i]
            if total >= self.sustain - 1e-9:
                return _median(self.win[i + 1 : n : 2]) - track.median
        return None

    def _judge(self, active: bool) -> SpikeChange | None:
        """After a spike sample or during a spike: does the spike start, or end?"""
        db, st = self.db, self.st
        db_excess = self._excess(False)
        st_excess = self._excess(True)
        if active:
            self._track_peaks(db_excess, st_excess)
            if ((db_excess is None or db_excess < db.threshold - db.clear_margin)
                    and (st_excess is None or st_excess < st.threshold - st.clear_margin)):
                self.active = False
                return SpikeChange(False, db_excess, st_excess, db.peak, st.peak)
        elif ((db_excess is not None and db_excess >= db.threshold)
              or (st_excess is not None and st_excess >= st.threshold)):
            self.active = True
            db.peak = st.peak = 0.0
            self._track_peaks(db_excess, st_excess)
            return SpikeChange(True, db_excess, st_excess, db.peak, st.peak)
        return None

    def _track_peaks(self, db_excess: float | None, st_excess: float | None) -> None:
        if db_excess is not None and db_excess > self.db.peak:
            self.db.peak = db_excess
        if st_excess is not None and st_excess > self.st.peak:
            self.st.peak = st_excess

    def baselines(self) -> tuple[float | None, float | None]:
        """(loudness dBFS, pitch Hz) baselines, None until known."""
        st = self.st.base
        return self.db.base, None if st is None else semitones_to_hz(st)
