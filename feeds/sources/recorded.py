"""A recorded call (a stereo file, one party per channel) as protocol v1 messages.

`call_start` at the event time of the first audio sample, a `sample` per interval and
`talk_over` events as the audio is analysed, `call_end` at the end of the audio. The
audio is analysed a minute at a time, so a long recording costs no more memory than
a minute of it beyond the decoded file.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from feeds.core.config import DEFAULT, Audio
from feeds.core.protocol import Message
from feeds.sources.analysis import PARTIES, CallAnalyzer
from feeds.sources.codec import RATE, AudioError, Decoded

CHUNK = 60 * RATE


def parse_channels(text: str) -> tuple[int, int]:
    """`customer,agent` (the default order) or `agent,customer`: the channel index of
    the customer and of the agent. ValueError names what is wrong."""
    names = [name.strip() for name in text.split(",")]
    if sorted(names) != sorted(PARTIES):
        raise ValueError(f"--channels: expected 'customer,agent' or 'agent,customer' (the "
                         f"party on channel 1, then on channel 2), got {text!r}")
    return names.index("customer"), names.index("agent")


def call_messages(audio: Decoded, call: str, agent: str, team: str, start: float,
                  channels: tuple[int, int] = (0, 1), settings: Audio = DEFAULT.audio,
                  name: str = "audio", **call_fields: str | None) -> Iterator[Message]:
    """The call's messages in event-time order; `call_fields` go into `call_start`
    (agent_name, queue, customer). AudioError at once if `audio` is not a call."""
    if len(audio.tracks) == 1:
        raise AudioError(f"{name}: mono audio: a call needs two tracks, the customer on one "
                         f"channel and the agent on the other (see --channels)")
    if len(audio.tracks) != 2:
        raise AudioError(f"{name}: {len(audio.tracks)} channels: a call needs exactly two, "
                         f"the customer on one and the agent on the other")
    first = {"type": "call_start", "call": call, "t": start, "agent": agent, "team": team,
             **{key: value for key, value in call_fields.items() if value}}
    return _messages(first, audio.tracks[channels[0]], audio.tracks[channels[1]],
                     CallAnalyzer(call, start, settings))


def _messages(first: Message, customer: np.ndarray, agent: np.ndarray,
              analyzer: CallAnalyzer) -> Iterator[Message]:
    yield first
    for at in range(0, len(customer), CHUNK):
        yield from analyzer.feed(customer[at:at + CHUNK], agent[at:at + CHUNK])
    yield from analyzer.finish()
    yield {"type": "call_end", "call": first["call"],
           "t": round(first["t"] + len(customer) / RATE, 3), "reason": "end of recording"}
