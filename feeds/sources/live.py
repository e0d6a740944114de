"""One live call from a media stream: its tracks, their analysis, its messages.

Event time is the stream's start time plus the media position, never the time a
chunk arrived, so a stream sent faster or slower than real time gives the same
messages (and the same flags) relative to the call's start.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from feeds.core.config import DEFAULT, Audio
from feeds.core.protocol import Message
from feeds.sources.analysis import CallAnalyzer
from feeds.sources.codec import RATE, ULAW, ULAW_SILENCE
from feeds.sources.tracks import TrackPair

CUSTOMER, AGENT = 0, 1
#: call_start fields a platform's per-call parameters may set.
CALL_FIELDS = ("agent_name", "queue", "customer")
#: How far a chunk may land ahead of the analysis (a real stream: well under a second).
MAX_AHEAD_S = 10
#: The longest pause or discarded stretch a platform may report at once.
MAX_SKIP_S = 600


class StreamError(ValueError):
    """A media stream broke its protocol; the message says how (it closes the stream)."""


class LiveCall:
    def __init__(self, call: str, start: float, agent: str, team: str,
                 settings: Audio = DEFAULT.audio, coded: bool = False, **fields: Any) -> None:
        """`coded`: audio comes as μ-law codes (uint8), decoded once per interval."""
        self.call = call
        self.t0 = start
        self.analyzer = CallAnalyzer(call, start, settings)
        self.coded = coded
        self.pair = TrackPair(batch=self.analyzer.interval,
                              silence=np.full(1, ULAW_SILENCE, np.uint8) if coded else None)
        self.started: Message = {"type": "call_start", "call": call, "t": round(start, 3),
                                 "agent": agent, "team": team}
        for key in CALL_FIELDS:
            value = fields.get(key)
            if isinstance(value, str) and value:
                self.started[key] = value
        self.ended = False
        self.end_reason = ""
        #: On hold (the CTI said so): the agent's channel carries hold music, not the agent.
        self.on_hold = False

    @property
    def now(self) -> float:
        """The stream's event time: how far its audio has been analysed."""
        return round(self.t0 + self.pair.cursor / RATE, 3)

    def audio(self, party: int, pos: int, samples: np.ndarray) -> list[Message]:
        ahead = pos - self.pair.cursor
        if ahead > MAX_AHEAD_S * RATE:  # the silence before it would be ours to hold
            raise StreamError(f"a chunk {ahead / RATE:.1f} s ahead of the stream "
                              f"(more than {MAX_AHEAD_S} s): its timestamps are wrong")
        return self._analyse(self.pair.put(party, pos, samples))

    def skip_to(self, pos: int) -> list[Message]:
        """The platform says the stream is at `pos` (a pause, discarded audio): silence,
        measured a few seconds at a time so a long pause never sits in memory whole."""
        ahead = pos - self.pair.cursor
        if ahead > MAX_SKIP_S * RATE:
            raise StreamError(f"the position jumps {ahead / RATE:.0f} s ahead (more than "
                              f"{MAX_SKIP_S} s)")
        out: list[Message] = []
        while pos - self.pair.cursor > MAX_AHEAD_S * RATE:
            out += self._analyse(self.pair.skip_to(self.pair.cursor + MAX_AHEAD_S * RATE))
        return out + self._analyse(self.pair.skip_to(pos))

    def end(self, reason: str) -> list[Message]:
        """The rest of the audio and `call_end`; once."""
        if self.ended:
            return []
        self.ended = True
        self.end_reason = reason
        out = self._analyse(self.pair.flush()) + self.analyzer.finish()
        out.append({"type": "call_end", "call": self.call, "t": self.now, "reason": reason})
        return out

    def _analyse(self, ready: tuple[np.ndarray, np.ndarray]) -> list[Message]:
        customer, agent = ready
        if not len(customer):
            return []
        if self.coded:
            customer, agent = ULAW[customer], ULAW[agent]
        out = self.analyzer.feed(customer, agent)
        if self.on_hold:
            for msg in out:
                if msg["type"] == "sample":
                    msg["agent_db"] = msg["agent_pitch"] = None
        return out
