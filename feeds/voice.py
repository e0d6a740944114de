"""One party's voice on one call: rolling baselines and sustained spikes.

A *track* follows one metric (loudness in dBFS, or pitch in semitones) of one
party. Its baseline is the median of that party's most recent
`baseline.window_s` seconds of non-spike speech, kept exact in a sorted list
(insert and remove are a bisect and a memmove, so a voiced sample costs well
under a microsecond). A *spike sample* is one at or over baseline + threshold;
it never enters the baseline. The *sustained level* is the median of the
party's last `sustain_s` seconds of voiced samples, so a cough or one loud
word does not move it.

A party's spike starts on a spike sample whose sustained level is over the
threshold, freezes all of that party's baselines while it lasts, and ends when
every sustained level is back below threshold - clear margin. Everything is
counted in seconds of speech (the samples' `dt`), never in wall time.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass

SEMITONE_REF_HZ = 100.0


def hz_to_semitones(hz: float) -> float:
    """Pitch in semitones above 100 Hz: equal steps are equal musical intervals."""
    return 12.0 * math.log2(hz / SEMITONE_REF_HZ)


def semitones_to_hz(st: float) -> float:
    return SEMITONE_REF_HZ * 2.0 ** (st / 12.0)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    return (ordered[(n - 1) // 2] + ordered[n // 2]) / 2.0


class Track:
    """Baseline and sustained level of one metric of one party."""

    __slots__ = (
        "base",
        "base_sorted",
        "base_total",
        "base_window",
        "clear_margin",
        "min_speech",
        "peak",
        "recent",
        "recent_total",
        "sustain",
        "threshold",
        "window_s",
    )

    def __init__(
        self,
        threshold: float | None,
        clear_margin: float,
        sustain_s: float,
        window_s: float,
        min_speech_s: float,
    ) -> None:
        self.threshold = threshold  # None: tracked for display, never spikes
        self.clear_margin = clear_margin
        self.sustain = sustain_s
        self.window_s = window_s
        self.min_speech = min_speech_s
        self.base: float | None = None  # None until min_speech_s of speech is in the baseline
        self.base_window: deque[tuple[float, float]] = deque()
        self.base_sorted: list[float] = []
        self.base_total = 0.0
        self.recent: deque[tuple[float, float]] = deque()
        self.recent_total = 0.0
        self.peak = 0.0  # largest sustained excess of the current (or last) spike

    def push(self, dt: float, value: float, frozen: bool) -> bool:
        """Take one voiced sample; True if it is a spike sample (at or over the threshold)."""
        recent = self.recent
        recent.append((dt, value))
        total = self.recent_total + dt
        while total - recent[0][0] >= self.sustain:
            total -= recent.popleft()[0]
        self.recent_total = total
        base = self.base
        if base is not None and self.threshold is not None and value >= base + self.threshold:
            return True
        if not frozen:
            self._into_baseline(dt, value)
        return False

    def _into_baseline(self, dt: float, value: float) -> None:
        window = self.base_window
        ordered = self.base_sorted
        window.append((dt, value))
        insort(ordered, value)
        total = self.base_total + dt
        while total - window[0][0] >= self.window_s:
            old_dt, old = window.popleft()
            del ordered[bisect_left(ordered, old)]
            total -= old_dt
        self.base_total = total
        if total >= self.min_speech or self.base is not None:
            n = len(ordered)
            self.base = (ordered[(n - 1) // 2] + ordered[n // 2]) / 2.0

    def sustained(self) -> float | None:
        """Median of the last `sustain_s` of speech, once that much speech has been heard."""
        if self.recent_total + 1e-9 < self.sustain or not self.recent:
            return None
        return _median([value for _, value in self.recent])

    def excess(self) -> float | None:
        """Sustained level over the baseline, or None when it cannot be judged yet."""
        level = self.sustained()
        if level is None or self.base is None:
            return None
        return level - self.base

    def over(self) -> bool:
        excess = self.excess()
        return excess is not None and self.threshold is not None and excess >= self.threshold

    def below_clear(self) -> bool:
        excess = self.excess()
        if excess is None or self.threshold is None:
            return True
        return excess < self.threshold - self.clear_margin


@dataclass(frozen=True, slots=True)
class SpikeChange:
    """A party's spike started (`started`) or ended, with the numbers for the evidence."""

    started: bool
    db_excess: float | None
    st_excess: float | None
    db_peak: float
    st_peak: float


class Party:
    """One speaker on a call: a loudness track and a pitch track sharing one spike state."""

    __slots__ = ("active", "db", "st", "voiced_s")

    def __init__(
        self,
        db_threshold: float,
        st_threshold: float | None,
        sustain_s: float,
        window_s: float,
        min_speech_s: float,
        clear_db: float,
        clear_st: float,
    ) -> None:
        self.db = Track(db_threshold, clear_db, sustain_s, window_s, min_speech_s)
        self.st = Track(st_threshold, clear_st, sustain_s, window_s, min_speech_s)
        self.active = False
        self.voiced_s = 0.0

    def voiced(self, dt: float, db: float | None, pitch_hz: float | None) -> SpikeChange | None:
        """Take one interval in which this party spoke; report a spike starting or ending."""
        self.voiced_s += dt
        active = self.active
        spike_sample = False
        if db is not None and self.db.push(dt, db, active):
            spike_sample = True
        if pitch_hz is not None and pitch_hz > 0.0 and self.st.push(
            dt, hz_to_semitones(pitch_hz), active
        ):
            spike_sample = True
        if active:
            self._track_peaks()
            if self.db.below_clear() and self.st.below_clear():
                self.active = False
                return self._change(False)
        elif spike_sample and (self.db.over() or self.st.over()):
            self.active = True
            self.db.peak = self.st.peak = 0.0
            self._track_peaks()
            return self._change(True)
        return None

    def _track_peaks(self) -> None:
        for track in (self.db, self.st):
            excess = track.excess()
            if excess is not None and excess > track.peak:
                track.peak = excess

    def _change(self, started: bool) -> SpikeChange:
        return SpikeChange(started, self.db.excess(), self.st.excess(), self.db.peak, self.st.peak)

    def baselines(self) -> tuple[float | None, float | None]:
        """(loudness dBFS, pitch Hz) baselines, None until known."""
        st = self.st.base
        return self.db.base, None if st is None else semitones_to_hz(st)
