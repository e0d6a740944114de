"""Twilio Media Streams (`<Start><Stream track="both_tracks">`) as a live call.

Twilio sends JSON text frames: `connected`, then `start` (the call's `callSid`, its
`tracks`, `mediaFormat` and the `<Parameter>`s as `customParameters`), then `media`
per 20 ms per track (`track` inbound = the caller, outbound = what the caller hears,
the agent; `timestamp` in ms from the stream's start; `payload` base64 μ-law 8 kHz),
`mark`, `dtmf` and finally `stop`. `customParameters` must carry `agent` and `team`,
and may carry `agent_name`, `queue`, `customer` and `call` (else the `callSid`).
The stream's event time starts when `start` arrives.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from typing import Any

from feeds.core.config import DEFAULT, Audio
from feeds.core.protocol import Message
from feeds.sources.codec import ulaw_codes
from feeds.sources.live import AGENT, CALL_FIELDS, CUSTOMER, LiveCall, StreamError

TRACKS = {"inbound": CUSTOMER, "outbound": AGENT}
#: Twilio events that carry nothing floorwatch measures.
IGNORED = frozenset({"connected", "mark", "dtmf"})
MAX_TIMESTAMP_MS = 12 * 3600 * 1000  # a 12 h stream: past it, a timestamp is garbage


def _field(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise StreamError(f"{where}.{key}: expected {names}, got {value!r:.40}")
    return value


class TwilioStream:
    """One WebSocket from Twilio: `receive` each text frame, get protocol messages."""

    def __init__(self, authorize: Callable[[dict], bool] = lambda params: True,
                 clock: Callable[[], float] = time.time, settings: Audio = DEFAULT.audio
                 ) -> None:
        self.authorize = authorize
        self.clock = clock
        self.settings = settings
        self.call: LiveCall | None = None
        self.ignored = 0

    def receive(self, text: str | bytes) -> list[Message]:
        try:
            msg = json.loads(text)
        except ValueError as exc:
            raise StreamError(f"not JSON: {exc}") from None
        event = _field(msg, "event", str, "message")
        if event == "media":
            return self._media(_field(msg, "media", dict, "media"))
        if event == "start":
            return self._start(_field(msg, "start", dict, "start"))
        if event == "stop":
            return self.end("stream stopped")
        if event not in IGNORED:
            self.ignored += 1
        return []

    def _start(self, start: dict) -> list[Message]:
        if self.call is not None:
            raise StreamError("a second start on one stream")
        params = start.get("customParameters") or {}
        if not isinstance(params, dict):
            raise StreamError("start.customParameters: expected an object")
        if not self.authorize(params):
            raise StreamError("unauthorized: no valid signature or key")
        fmt = start.get("mediaFormat") or {}
        if fmt.get("encoding", "audio/x-mulaw") != "audio/x-mulaw" or \
                fmt.get("sampleRate", 8000) != 8000:
            raise StreamError(f"start.mediaFormat: expected audio/x-mulaw at 8000 Hz, "
                              f"got {fmt!r:.80}")
        agent = _field(params, "agent", str, "start.customParameters")
        team = _field(params, "team", str, "start.customParameters")
        call = params.get("call") or _field(start, "callSid", str, "start")
        self.call = LiveCall(str(call), self.clock(), agent, team, self.settings, coded=True,
                             **{key: params.get(key) for key in CALL_FIELDS})
        return [self.call.started]

    def _media(self, media: dict) -> list[Message]:
        if self.call is None:
            raise StreamError("media before start")
        track = _field(media, "track", str, "media")
        if track not in TRACKS:
            raise StreamError(f"media.track: expected inbound or outbound, got {track!r:.20}")
        stamp = _field(media, "timestamp", (str, int), "media")
        try:
            ms = int(stamp)
            payload = base64.b64decode(_field(media, "payload", str, "media"), validate=True)
        except (ValueError, binascii.Error) as exc:
            raise StreamError(f"media: bad timestamp or payload: {exc}") from None
        if not 0 <= ms <= MAX_TIMESTAMP_MS:
            raise StreamError(f"media.timestamp: {ms} ms is out of range")
        return self.call.audio(TRACKS[track], ms * 8, ulaw_codes(payload))

    def end(self, reason: str) -> list[Message]:
        return self.call.end(reason) if self.call is not None else []
