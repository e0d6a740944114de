"""Two tracks of call audio into `sample` and `talk_over` messages, as they arrive.

Every interval (0.25 s by default) of both parties' audio becomes one `sample`:
each party's loudness over their own speech and their median F0 while voiced, or
`null` when they did not speak. Voice activity is decided per 10 ms frame:

- *line noise*: a frame is speech only if it is `noise_margin_db` over that channel's
  noise floor, the lowest of its recent quiet moments (minimum statistics over
  `noise_window_s`), and over `min_speech_dbfs` (the settings: `[audio]` in the
  config, feeds.core.config.Audio);
- *bleed*: a stereo recording carries the other party 25–35 dB down, so a frame is
  a party's speech only if it is no more than `bleed_db` under the other channel's
  frame. True double talk has both parties within a few dB of each other.

Double talk is followed on speech smoothed by a `hangover_s` (a party keeps the
floor through the gaps between words); an overlap's length is measured from the
moment the second party started to the last speech frame of whoever stopped first,
so a 0.4 s "mm-hm" measures about 0.4 s, never the hangover on top.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from feeds.core.config import DEFAULT, Audio
from feeds.core.protocol import Message
from feeds.sources.codec import RATE
from feeds.sources.pitch import Yin

PARTIES = ("customer", "agent")


#: Fixed by the method rather than by taste: 10 ms energy frames, a 30 ms YIN window
#: every 20 ms of speech, two voiced windows for an interval's pitch.
FRAME_S = 0.01
PITCH_HOP_FRAMES = 2
PITCH_WINDOW_S = 0.03
MIN_VOICED_FRAMES = 2


class Overlap(NamedTuple):
    by: int  # the party who started second
    frames: int  # double talk, in frames
    known: int  # the frame at which it was known to be over


class _Overlaps:
    """Double talk of two parties, frame by frame; only changes cost Python time."""

    def __init__(self, hangover: int, min_frames: int) -> None:
        self.hangover = hangover
        self.min_frames = min_frames
        self.last_speech = np.array([-10**9, -10**9], dtype=np.int64)
        self.talking = [False, False]
        self.start = [0, 0]
        self.overlap_start: int | None = None
        self.by: int | None = None

    def update(self, first: int, speech: np.ndarray) -> list[Overlap]:
        """Frames `first`… with raw speech (2, n); the overlaps known to be over."""
        n = speech.shape[1]
        index = np.arange(first, first + n)
        marks = np.where(speech, index, -10**9)
        last = np.maximum.accumulate(np.maximum(marks, self.last_speech[:, None]), axis=1)
        talking = (index - last) < self.hangover
        previous = np.array(self.talking)[:, None]
        changed = np.flatnonzero((np.diff(talking, axis=1, prepend=previous)).any(axis=0))
        ended: list[Overlap] = []
        for i in changed:
            frame = first + int(i)
            for party in (0, 1):
                now = bool(talking[party, i])
                if now and not self.talking[party]:
                    self.start[party] = frame
                self.talking[party] = now
            both = self.talking[0] and self.talking[1]
            if both and self.overlap_start is None:
                self.overlap_start = frame
                a, b = self.start
                self.by = None if a == b else (0 if a > b else 1)
            elif not both and self.overlap_start is not None:
                self._close(frame - self.hangover + 1, frame, ended)
        self.last_speech = last[:, -1].copy()
        return ended

    def finish(self, frame: int) -> list[Overlap]:
        ended: list[Overlap] = []
        if self.overlap_start is not None:
            self._close(min(frame, int(self.last_speech.min()) + 1), frame, ended)
        return ended

    def _close(self, end: int, known: int, ended: list[Overlap]) -> None:
        """The overlap ended after frame `end` - 1; frame `known` is when the hangover
        showed it (the event's time, so no message goes back in time)."""
        start, by = self.overlap_start, self.by
        self.overlap_start = self.by = None
        if by is not None and start is not None and end - start >= self.min_frames:
            ended.append(Overlap(by, end - start, known))


class CallAnalyzer:
    """One call's two tracks (customer, agent) at 8 kHz, fed in any chunk sizes."""

    def __init__(self, call: str, start: float, settings: Audio = DEFAULT.audio) -> None:
        """ValueError naming the setting if `settings` cannot be measured with."""
        self.call = call
        self.t0 = start
        s = self.settings = settings
        frames = s.interval_s / FRAME_S
        if abs(frames - round(frames)) > 1e-6 or round(frames) < PITCH_HOP_FRAMES:
            raise ValueError(f"audio.interval_s: expected a multiple of {FRAME_S} s of at "
                             f"least {PITCH_HOP_FRAMES * FRAME_S} s, got {s.interval_s}")
        if not 40 <= s.f0_min_hz < s.f0_max_hz <= 1000:
            raise ValueError(f"audio.f0_min_hz, f0_max_hz: expected 40 <= min < max <= 1000 "
                             f"Hz, got {s.f0_min_hz} and {s.f0_max_hz}")
        if not s.yin_threshold < 1:
            raise ValueError(f"audio.yin_threshold: expected a number under 1, got "
                             f"{s.yin_threshold}")
        self.frame = round(FRAME_S * RATE)
        self.frames = round(frames)
        self.interval = self.frame * self.frames
        self.hop = self.frame * PITCH_HOP_FRAMES
        self.yin = Yin(RATE, round(PITCH_WINDOW_S * RATE), s.f0_min_hz, s.f0_max_hz,
                       s.yin_threshold)
        #: Samples before the interval that its first pitch frames reach back to.
        self.context = self.yin.span - self.hop
        #: The interval being filled, after the `context` samples before it.
        self._audio = np.zeros((2, self.context + self.interval), dtype=np.float32)
        self._fill = 0
        self._lows = np.full((max(1, round(s.noise_window_s / s.interval_s)), 2), np.inf)
        self._intervals = 0
        self._window = np.arange(self.yin.span)
        self._overlaps = _Overlaps(round(s.hangover_s / FRAME_S),
                                   round(s.min_talk_over_s / FRAME_S))
        self._min_speech = max(1, round(s.min_speech_s / FRAME_S))
        self.position = 0  # samples analysed so far, per track

    def feed(self, customer: np.ndarray, agent: np.ndarray) -> list[Message]:
        """Append equal lengths of both tracks; the messages of every interval completed."""
        if len(customer) != len(agent):
            raise ValueError("both tracks must advance together")
        out: list[Message] = []
        at, n = 0, len(customer)
        while at < n:
            take = min(n - at, self.interval - self._fill)
            into = self.context + self._fill
            self._audio[0, into:into + take] = customer[at:at + take]
            self._audio[1, into:into + take] = agent[at:at + take]
            self._fill += take
            at += take
            if self._fill == self.interval:
                out.extend(self._interval())
                self._audio[:, :self.context] = self._audio[:, -self.context:]
                self._fill = 0
        return out

    def finish(self) -> list[Message]:
        """The rest of the audio (a last, shorter interval is dropped) and any open overlap."""
        self._fill = 0
        return self._talk_over(self._overlaps.finish(self.position // self.frame))

    def _interval(self) -> list[Message]:
        s = self.settings
        x = self._audio[:, self.context:]
        power = np.square(x.reshape(2, self.frames, self.frame), dtype=np.float64).mean(axis=2)
        db = 10.0 * np.log10(power + 1e-10)
        self._lows[self._intervals % len(self._lows)] = np.partition(db, 2, axis=1)[:, 2]
        self._intervals += 1
        floor = self._lows.min(axis=0)
        threshold = np.maximum(floor + s.noise_margin_db, s.min_speech_dbfs)
        speech = (db > threshold[:, None]) & (db > db[::-1] - s.bleed_db)
        counts = speech.sum(axis=1)
        loud = [None, None]
        for party in (0, 1):
            if counts[party] >= self._min_speech:
                loud[party] = round(float(10.0 * np.log10(power[party][speech[party]].mean())), 1)
        pitch = self._pitch(speech, counts)
        first_frame = self.position // self.frame
        self.position += self.interval
        msg: Message = {
            "type": "sample", "call": self.call,
            "t": round(self.t0 + self.position / RATE, 3), "dt": s.interval_s,
            "cust_pitch": pitch[0], "cust_db": loud[0],
            "agent_pitch": pitch[1], "agent_db": loud[1],
        }
        return [*self._talk_over(self._overlaps.update(first_frame, speech)), msg]

    def _pitch(self, speech: np.ndarray, counts: np.ndarray) -> list[float | None]:
        result: list[float | None] = [None, None]
        if not (counts >= self._min_speech).any():
            return result
        step = PITCH_HOP_FRAMES
        # Pitch frame j ends where 10 ms frame (j + 1) * step - 1 ends; it counts if
        # that frame is speech.
        ends = speech[:, step - 1::step]
        rows, hops = np.nonzero(ends & (counts >= self._min_speech)[:, None])
        if len(rows) == 0:
            return result
        f0 = self.yin(self._audio[rows[:, None], (hops * self.hop)[:, None] + self._window])
        voiced: tuple[list[float], list[float]] = ([], [])
        for party, hz in zip(rows.tolist(), f0.tolist(), strict=True):
            if hz == hz:  # not NaN: a voiced frame
                voiced[party].append(hz)
        for party, values in enumerate(voiced):
            if len(values) >= MIN_VOICED_FRAMES:
                values.sort()
                half = len(values) // 2
                median = values[half] if len(values) % 2 else (values[half - 1] + values[half]) / 2
                result[party] = round(median, 1)
        return result

    def _talk_over(self, ended: list[Overlap]) -> list[Message]:
        frame_s = FRAME_S
        return [{"type": "event", "call": self.call, "event": "talk_over",
                 "t": round(self.t0 + (o.known + 1) * frame_s, 3),
                 "by": PARTIES[o.by], "dur": round(o.frames * frame_s, 2)} for o in ended]
