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
from array import array
from bisect import bisect_left, insort
from dataclasses import dataclass
from math import log2

SEMITONE_REF_HZ = 100.0
_SEMITONE_OFFSET = 12.0 * math.log2(SEMITONE_REF_HZ)
#: The recent-speech list is trimmed lazily, once it holds this many samples.
_RECENT_CAP = 256


def hz_to_semitones(hz: float) -> float:
    """Pitch in semitones above 100 Hz: equal steps are equal musical intervals."""
    return 12.0 * math.log2(hz) - _SEMITONE_OFFSET


def semitones_to_hz(st: float) -> float:
    return SEMITONE_REF_HZ * 2.0 ** (st / 12.0)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    return (ordered[(n - 1) // 2] + ordered[n // 2]) / 2.0


class Track:
    """Baseline and sustained level of one metric of one party.

    The hot path (one voiced sample) is inlined in `Party.voiced`; the methods
    here run only on spike samples, during spikes, or once per baseline update.
    All windows are flat arrays of doubles: no per-sample objects for the
    garbage collector to trace, and no pointer chasing across the heap when a
    floor of thousands of calls is bisected.
    """

    __slots__ = (
        "base",
        "base_dts",
        "base_due",
        "base_head",
        "base_sorted",
        "base_total",
        "base_values",
        "clear_margin",
        "min_speech",
        "peak",
        "recent_dts",
        "recent_values",
        "resolution",
        "spike_at",
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
        resolution_s: float,
    ) -> None:
        # No threshold: tracked for display only; an infinite one never spikes.
        self.threshold = math.inf if threshold is None else threshold
        self.clear_margin = clear_margin
        self.sustain = sustain_s
        self.window_s = window_s
        self.min_speech = min_speech_s
        self.resolution = resolution_s
        self.base: float | None = None  # None until min_speech_s of speech is in the baseline
        self.base_due = 0.0  # speech since the last sample that entered the baseline
        # Baseline window in arrival order from base_head on: the speech each kept
        # sample stands for, and its value; base_sorted holds the same values sorted.
        self.base_dts = array("d")
        self.base_values = array("d")
        self.base_head = 0
        self.base_sorted = array("d")
        self.base_total = 0.0
        self.recent_dts = array("d")  # every voiced sample, newest last, trimmed lazily
        self.recent_values = array("d")
        self.peak = 0.0  # largest sustained excess of the current (or last) spike
        self.spike_at = math.inf  # base + threshold: a sample at or over it is a spike sample

    def into_baseline(self, dt: float, value: float) -> None:
        """Keep one non-spike sample standing for `dt` seconds of speech; refresh the median.

        `Party.voiced` keeps one sample per `resolution_s` of speech (`dt` is all the
        speech since the last one kept), so the cost does not grow with the sample rate.
        """
        self.base_due = 0.0
        dts, values, ordered = self.base_dts, self.base_values, self.base_sorted
        dts.append(dt)
        values.append(value)
        insort(ordered, value)
        total = self.base_total + dt
        head = self.base_head
        while total - dts[head] >= self.window_s:
            del ordered[bisect_left(ordered, values[head])]
            total -= dts[head]
            head += 1
        if head > 64 and head * 2 > len(dts):
            del dts[:head]
            del values[:head]
            head = 0
        self.base_head = head
        self.base_total = total
        if total >= self.min_speech or self.base is not None:
            n = len(ordered)
            self.base = base = (ordered[(n - 1) // 2] + ordered[n // 2]) / 2.0
            self.spike_at = base + self.threshold

    def trim(self) -> None:
        """Drop recent samples older than the sustain window needs (called lazily)."""
        dts = self.recent_dts
        keep, total = 0, 0.0
        for dt in reversed(dts):
            keep += 1
            total += dt
            if total >= self.sustain:
                break
        cut = len(dts) - keep
        del dts[:cut]
        del self.recent_values[:cut]

    def sustained(self) -> float | None:
        """Median of the last `sustain_s` of speech, once that much speech has been heard."""
        dts, total = self.recent_dts, 0.0
        for i in range(len(dts) - 1, -1, -1):
            total += dts[i]
            if total >= self.sustain - 1e-9:
                return _median(self.recent_values[i:].tolist())
        return None

    def excess(self) -> float | None:
        """Sustained level over the baseline, or None when it cannot be judged yet."""
        if self.base is None:
            return None
        level = self.sustained()
        return None if level is None else level - self.base

    def over(self) -> bool:
        excess = self.excess()
        return excess is not None and excess >= self.threshold

    def below_clear(self) -> bool:
        excess = self.excess()
        return excess is None or excess < self.threshold - self.clear_margin


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

    __slots__ = ("active", "db", "st")

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
        self.db = Track(db_threshold, clear_db, sustain_s, window_s, min_speech_s, resolution_s)
        self.st = Track(st_threshold, clear_st, sustain_s, window_s, min_speech_s, resolution_s)
        self.active = False

    def voiced(self, dt: float, db: float | None, pitch_hz: float | None) -> SpikeChange | None:
        """Take one interval in which this party spoke; report a spike starting or ending.

        This runs for nearly every sample on the floor, so both tracks' pushes are
        written out here: append to the recent list, test for a spike sample, and
        feed the baseline unless the sample is a spike or the party's spike is active.
        """
        active = self.active
        spike_sample = False
        if db is not None:
            track = self.db
            track.recent_dts.append(dt)
            track.recent_values.append(db)
            if len(track.recent_dts) > _RECENT_CAP:
                track.trim()
            if db >= track.spike_at:
                spike_sample = True
            elif not active:
                due = track.base_due + dt
                if due < track.resolution:
                    track.base_due = due
                else:
                    track.into_baseline(due, db)
        if pitch_hz is not None and pitch_hz > 0.0:
            track = self.st
            st = 12.0 * log2(pitch_hz) - _SEMITONE_OFFSET
            track.recent_dts.append(dt)
            track.recent_values.append(st)
            if len(track.recent_dts) > _RECENT_CAP:
                track.trim()
            if st >= track.spike_at:
                spike_sample = True
            elif not active:
                due = track.base_due + dt
                if due < track.resolution:
                    track.base_due = due
                else:
                    track.into_baseline(due, st)
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
