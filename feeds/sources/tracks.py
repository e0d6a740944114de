"""Two live tracks placed by their media timestamps and handed to the analysis in step.

Telephony platforms send each party's audio as its own stream of chunks, each with
its position in the call (Twilio: a millisecond timestamp per track; AudioHook: the
stream position). Chunks can arrive late, twice, out of order, or not at all (a
track the platform does not send, a dropped packet). `TrackPair` keeps, per track,
the audio contiguous from the analysis cursor plus the chunks that came early, and
advances the cursor as far as both tracks reach. When one track falls more than
`reorder_s` behind the other, its hole is filled with silence and counted as a gap,
so one silent or broken track never holds the other back. Memory is bounded: the
early chunks of a track are capped, and a chunk past the cap forces the gap closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from feeds.sources.codec import RATE

#: Early chunks held per track before the hole in front of them is given up on.
MAX_EARLY = 100


@dataclass
class Counts:
    """What happened to a stream's audio, in samples and chunks."""

    chunks: int = 0
    late_chunks: int = 0  # arrived after the analysis had passed their position
    reordered_chunks: int = 0  # arrived ahead of a hole, placed when it filled
    #: Silence put in holes, per track (customer, agent).
    gap_samples: list[int] = field(default_factory=lambda: [0, 0])

    def describe(self) -> str:
        customer, agent = (n / RATE for n in self.gap_samples)
        return (f"{self.chunks} chunks, gaps filled {customer:.2f} s customer / {agent:.2f} s "
                f"agent, {self.reordered_chunks} out of order, {self.late_chunks} late")


class _Track:
    def __init__(self, party: int, silence: np.ndarray) -> None:
        self.party = party
        self.silence = silence  # one sample of silence in the track's coding
        self.parts: list[np.ndarray] = []  # contiguous audio from the cursor on
        self.end = 0  # position after the contiguous audio
        self.early: dict[int, np.ndarray] = {}

    def put(self, pos: int, samples: np.ndarray, counts: Counts) -> None:
        if pos < self.end:
            cut = self.end - pos
            if cut >= len(samples):
                counts.late_chunks += 1
                return
            samples, pos = samples[cut:], self.end
        if pos > self.end:
            counts.reordered_chunks += 1
            self.early[pos] = samples
            if len(self.early) > MAX_EARLY:
                self.fill_to(min(self.early), counts)
            return
        self._append(samples)
        self._settle(counts)

    def _append(self, samples: np.ndarray) -> None:
        self.parts.append(samples)
        self.end += len(samples)

    def _settle(self, counts: Counts) -> None:
        """Move early chunks that now join the contiguous audio."""
        while self.early:
            first = min(self.early)
            if first > self.end:
                return
            samples = self.early.pop(first)
            if first + len(samples) <= self.end:
                counts.late_chunks += 1
                continue
            self._append(samples[self.end - first:])

    def fill_to(self, pos: int, counts: Counts) -> None:
        """Give up on the holes before `pos`: each becomes silence, and the early chunks
        between them join the audio."""
        while self.end < pos:
            stop = min(pos, min(self.early, default=pos))
            if stop > self.end:
                counts.gap_samples[self.party] += stop - self.end
                self._append(np.repeat(self.silence, stop - self.end))
            self._settle(counts)
        self._settle(counts)

    def take(self, n: int) -> np.ndarray:
        audio = self.parts[0] if len(self.parts) == 1 else np.concatenate(self.parts)
        rest = audio[n:]
        self.parts = [rest] if len(rest) else []
        return audio[:n]


class TrackPair:
    """The customer's and the agent's tracks of one live call, in samples at 8 kHz.

    Audio is handed on `batch` samples at a time (the analysis interval: per 20 ms chunk
    the bookkeeping would cost more than the measuring), in the tracks' own coding:
    float samples, or μ-law codes (`silence` 0xFF) decoded once per batch by the caller.
    """

    def __init__(self, reorder_s: float = 0.5, batch: int = 1,
                 silence: np.ndarray | None = None) -> None:
        silence = np.zeros(1, np.float32) if silence is None else silence
        self.tracks = (_Track(0, silence), _Track(1, silence))
        self.cursor = 0
        self.reorder = round(reorder_s * RATE)
        self.batch = batch
        self.counts = Counts()

    def put(self, party: int, pos: int, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A chunk of `party` (0 customer, 1 agent) at sample position `pos`; the audio of
        both tracks that is now ready, in step (possibly empty)."""
        self.counts.chunks += 1
        self.tracks[party].put(pos, samples, self.counts)
        lead = max(t.end for t in self.tracks)
        for track in self.tracks:
            if lead - track.end > self.reorder:
                track.fill_to(lead - self.reorder, self.counts)
        return self._ready(min(t.end for t in self.tracks))

    def skip_to(self, pos: int) -> tuple[np.ndarray, np.ndarray]:
        """The platform says the stream is at `pos` (audio it discarded or paused): both
        tracks' holes before it become silence."""
        for track in self.tracks:
            track.fill_to(pos, self.counts)
        return self._ready(min(t.end for t in self.tracks))

    def flush(self) -> tuple[np.ndarray, np.ndarray]:
        """Everything either track holds, the other's holes filled with silence."""
        lead = max([t.end for t in self.tracks]
                   + [at + len(audio) for t in self.tracks for at, audio in t.early.items()])
        for track in self.tracks:
            track.fill_to(lead, self.counts)
        return self._ready(lead, whole=True)

    def _ready(self, upto: int, whole: bool = False) -> tuple[np.ndarray, np.ndarray]:
        n = upto - self.cursor
        if not whole:
            n -= n % self.batch
        if n <= 0:
            empty = self.tracks[0].silence[:0]
            return empty, empty
        upto = self.cursor + n
        self.cursor = upto
        customer, agent = (track.take(n) for track in self.tracks)
        return customer, agent
