"""Genesys Cloud AudioHook (protocol version 2) as a live call.

The client (Genesys Cloud) sends JSON text messages, each with `version`, `type`,
`seq` (1, 2, 3… with no gaps), `serverseq`, `id` (the session), `position` (ISO 8601
duration of audio so far) and `parameters`; audio comes as binary frames of
interleaved samples, one per channel of the media the server chose, in that order
(`external` = the customer, `internal` = the agent). The server answers `open` with
`opened` (naming the media it takes: PCMU or L16, 8 or 16 kHz, stereo preferred) at
once, `ping` with `pong`, `close` with `closed`; a protocol violation gets
`disconnect` with reason `error`. Audio the client discarded or held back during a
pause counts as silence: the stream's `position` is the authority on where it is.

`open` names the customer (`participant.ani`), not the agent: the integration's
`customConfig` (or `inputVariables`) supplies `agent`, `team`, and optionally
`agent_name`, `queue`, `call` (else the `conversationId`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from feeds.core.config import DEFAULT, Audio
from feeds.core.protocol import Message
from feeds.sources.codec import RATE, Decimator, l16, ulaw
from feeds.sources.live import AGENT, CALL_FIELDS, CUSTOMER, LiveCall, StreamError

VERSION = "2"
PARTIES = {"external": CUSTOMER, "internal": AGENT}
FORMATS = {"PCMU": 1, "L16": 2}  # bytes per sample
_DURATION = re.compile(r"^PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$")


def seconds(text: object) -> float:
    """An ISO 8601 duration as AudioHook writes positions ("PT12.34S") in seconds."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None or text == "PT":
        raise StreamError(f"position: expected an ISO 8601 duration like PT1.5S, "
                          f"got {text!r:.40}")
    hours, minutes, secs = (float(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + secs


def choose_media(offered: object) -> dict:
    """The media to take: stereo external+internal if offered, else one party."""
    usable = [m for m in offered if isinstance(m, dict) and m.get("type") == "audio"
              and m.get("format") in FORMATS and m.get("rate") in (8000, 16000)
              and isinstance(m.get("channels"), list)
              and set(m["channels"]) <= set(PARTIES) and m["channels"]] \
        if isinstance(offered, list) else []
    if not usable:
        raise StreamError("open: no media floorwatch can take (audio, PCMU or L16, "
                          "8000 or 16000 Hz, channels external/internal)")
    return max(usable, key=lambda m: (len(m["channels"]), m["rate"] == 8000))


class AudioHookStream:
    """One AudioHook session: `text` and `binary` frames in; replies to send back and
    protocol messages for the hub out."""

    def __init__(self, clock: Callable[[], float] = time.time,
                 settings: Audio = DEFAULT.audio) -> None:
        self.clock = clock
        self.settings = settings
        self.call: LiveCall | None = None
        self.session = ""
        self.seq = 0  # ours
        self.client_seq = 0
        self.media: dict = {}
        self.frames = 0  # sample frames received (at the media's rate)
        self.decimators: list[Decimator] = []
        self.closed = False

    def reply(self, kind: str, **parameters: Any) -> dict:
        self.seq += 1
        return {"version": VERSION, "type": kind, "seq": self.seq,
                "clientseq": self.client_seq, "id": self.session, "parameters": parameters}

    def disconnect(self, info: str) -> dict:
        return self.reply("disconnect", reason="error", info=info)

    def text(self, data: str | bytes) -> tuple[list[dict], list[Message]]:
        try:
            msg = json.loads(data)
        except ValueError as exc:
            raise StreamError(f"not JSON: {exc}") from None
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            raise StreamError("a message without a type")
        seq = msg.get("seq")
        if not isinstance(seq, int) or seq != self.client_seq + 1:
            raise StreamError(f"seq {seq!r:.20} out of sequence (expected "
                              f"{self.client_seq + 1})")
        self.client_seq = seq
        params = msg.get("parameters") or {}
        if not isinstance(params, dict):
            raise StreamError("parameters: expected an object")
        kind = msg["type"]
        if kind == "open":
            return self._open(msg, params)
        if self.call is None:
            raise StreamError(f"{kind} before open")
        out = self._position(msg.get("position"))
        if kind == "ping":
            return [self.reply("pong")], out
        if kind == "close":
            self.closed = True
            return [self.reply("closed")], out + self.end(
                f"stream closed ({params.get('reason', 'end')})")
        if kind == "discarded":
            start = seconds(params.get("start", "PT0S"))
            out += self._skip(start + seconds(params.get("discarded", "PT0S")))
        return [], out  # paused, resumed, update, dtmf, error: position already taken

    def _open(self, msg: dict, params: dict) -> tuple[list[dict], list[Message]]:
        if self.call is not None:
            raise StreamError("a second open on one session")
        self.session = str(msg.get("id", ""))
        self.media = choose_media(params.get("media"))
        self.decimators = [Decimator() for _ in self.media["channels"]]
        config: dict = {}
        for source in (params.get("inputVariables"), params.get("customConfig")):
            if isinstance(source, dict):
                config.update(source)
        participant = params.get("participant")
        if isinstance(participant, dict) and isinstance(participant.get("ani"), str):
            config.setdefault("customer", participant["ani"])
        call = config.get("call") or params.get("conversationId") or self.session
        agent, team = config.get("agent"), config.get("team")
        if not isinstance(agent, str) or not isinstance(team, str):
            raise StreamError("open: customConfig must carry agent and team")
        self.call = LiveCall(str(call), self.clock(), agent, team, self.settings,
                             **{key: config.get(key) for key in CALL_FIELDS})
        opened = self.reply("opened", startPaused=False, media=[self.media])
        return [opened], [self.call.started]

    def _position(self, position: object) -> list[Message]:
        if position is None:
            return []
        return self._skip(seconds(position))

    def _skip(self, at: float) -> list[Message]:
        """The client says the stream is at `at` s: audio it never sent is silence."""
        rate = self.media["rate"]
        frames = round(at * rate)
        if frames <= self.frames or self.call is None:
            return []
        self.frames = frames
        return self.call.skip_to(frames * RATE // rate)

    def binary(self, data: bytes) -> list[Message]:
        if self.call is None or self.closed:
            raise StreamError("audio outside an open session")
        channels = self.media["channels"]
        width = FORMATS[self.media["format"]] * len(channels)
        if len(data) % width:
            raise StreamError(f"an audio frame of {len(data)} bytes is not a whole number "
                              f"of {width}-byte sample frames")
        samples = ulaw(data) if self.media["format"] == "PCMU" else l16(data)
        interleaved = samples.reshape(-1, len(channels))
        rate = self.media["rate"]
        at = self.frames * RATE // rate
        self.frames += len(interleaved)
        out: list[Message] = []
        for index, name in enumerate(channels):
            track = np.ascontiguousarray(interleaved[:, index])
            if rate != RATE:
                track = self.decimators[index](track)
            out += self.call.audio(PARTIES[name], at, track)
        if len(channels) == 1:  # the other party is not streamed: silence, in step
            other = AGENT if PARTIES[channels[0]] == CUSTOMER else CUSTOMER
            out += self.call.audio(other, at, np.zeros(len(interleaved) * RATE // rate,
                                                       dtype=np.float32))
        return out

    def end(self, reason: str) -> list[Message]:
        return self.call.end(reason) if self.call is not None else []
