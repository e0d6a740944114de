"""The media-stream protocols without a network: Twilio and AudioHook sessions, and
the track alignment under them (late, reordered, missing chunks)."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from feeds.sources.audiohook import AudioHookStream, seconds
from feeds.sources.live import StreamError
from feeds.sources.tracks import TrackPair
from feeds.sources.twilio import TwilioStream

T0 = 1_790_000_000.0
SILENCE = bytes([0xFF]) * 160  # μ-law zero, 20 ms


def chunk(value: float, n: int = 160) -> np.ndarray:
    return np.full(n, value, dtype=np.float32)


def test_tracks_in_step_reordered_late_and_missing() -> None:
    pair = TrackPair(reorder_s=0.1)  # 800 samples
    for k in range(5):
        pair.put(0, k * 160, chunk(k))
        customer, agent = pair.put(1, k * 160, chunk(100 + k))
        assert len(customer) == len(agent) == 160 and agent[0] == 100 + k
    pair.put(0, 6 * 160, chunk(6))  # ahead of a hole at 5
    customer, _ = pair.put(1, 5 * 160, chunk(105))
    assert len(customer) == 0  # the customer's hole may still fill
    customer, _ = pair.put(0, 5 * 160, chunk(5))  # it does, late but in time
    assert len(customer) == 160 and customer[0] == 5
    pair.put(0, 2 * 160, chunk(2))  # long gone: dropped
    for k in range(6, 14):  # the customer's track stops; the agent's goes on
        customer, agent = pair.put(1, k * 160, chunk(100 + k))
    assert pair.cursor == 14 * 160 - 800  # the silent track holds back by `reorder` only
    assert pair.counts.late_chunks == 1 and pair.counts.reordered_chunks == 1
    assert pair.counts.gap_samples == [14 * 160 - 800 - 7 * 160, 0]
    customer, agent = pair.flush()
    assert pair.cursor == 14 * 160 and not customer.any()


def _start(**params: str) -> str:
    return json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": "MZ1", "start": {
        "streamSid": "MZ1", "callSid": "CA1", "tracks": ["inbound", "outbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": params}})


def _media(track: str, ms: int, payload: bytes = SILENCE) -> str:
    return json.dumps({"event": "media", "streamSid": "MZ1", "media": {
        "track": track, "chunk": "1", "timestamp": str(ms),
        "payload": base64.b64encode(payload).decode()}})


def test_twilio_stream_becomes_a_call() -> None:
    stream = TwilioStream(clock=lambda: T0)
    assert stream.receive('{"event":"connected","protocol":"Call","version":"1.0.0"}') == []
    [start] = stream.receive(_start(agent="a7", team="billing", queue="cards",
                                    customer="+15551234567"))
    assert start == {"type": "call_start", "call": "CA1", "t": T0, "agent": "a7",
                     "team": "billing", "queue": "cards", "customer": "+15551234567"}
    out = []
    for k in range(50):  # one second of both tracks
        out += stream.receive(_media("inbound", k * 20))
        out += stream.receive(_media("outbound", k * 20))
    samples = [m for m in out if m["type"] == "sample"]
    assert [m["t"] for m in samples] == [T0 + 0.25, T0 + 0.5, T0 + 0.75, T0 + 1.0]
    assert stream.receive('{"event":"mark","mark":{"name":"x"}}') == []
    end = stream.receive('{"event":"stop","stop":{"callSid":"CA1"}}')[-1]
    assert end == {"type": "call_end", "call": "CA1", "t": T0 + 1.0, "reason": "stream stopped"}


@pytest.mark.parametrize(("frames", "problem"), [
    (["not json"], "not JSON"),
    (['{"no":"event"}'], "message.event: expected str"),
    ([_media("inbound", 0)], "media before start"),
    ([_start(team="t")], "customParameters.agent: expected str"),
    ([_start(agent="a", team="t"), _media("both", 0)], "media.track"),
    ([_start(agent="a", team="t"), _media("inbound", 0).replace("//", "!!")], "bad timestamp"),
    ([_start(agent="a", team="t"), _media("inbound", -20)], "out of range"),
    ([_start(agent="a", team="t"), _start(agent="a", team="t")], "a second start"),
])
def test_twilio_garbage_is_named(frames: list[str], problem: str) -> None:
    stream = TwilioStream(clock=lambda: T0)
    with pytest.raises(StreamError, match=problem):
        for frame in frames:
            stream.receive(frame)


def test_twilio_without_a_key_is_refused() -> None:
    stream = TwilioStream(authorize=lambda params: params.get("key") == "k", clock=lambda: T0)
    with pytest.raises(StreamError, match="unauthorized"):
        stream.receive(_start(agent="a", team="t", key="wrong"))


def _open(seq: int = 1, media: list | None = None, **config: str) -> str:
    return json.dumps({"version": "2", "type": "open", "seq": seq, "serverseq": 0,
                       "id": "s-1", "position": "PT0S", "parameters": {
                           "organizationId": "o", "conversationId": "conv-9",
                           "participant": {"id": "p", "ani": "+15550001111", "dnis": "+1800"},
                           "media": media if media is not None else [
                               {"type": "audio", "format": "PCMU",
                                "channels": ["external"], "rate": 8000},
                               {"type": "audio", "format": "PCMU",
                                "channels": ["external", "internal"], "rate": 8000}],
                           "customConfig": config}})


def _msg(kind: str, seq: int, position: str, **parameters: object) -> str:
    return json.dumps({"version": "2", "type": kind, "seq": seq, "serverseq": 1, "id": "s-1",
                       "position": position, "parameters": parameters})


def test_audiohook_session() -> None:
    stream = AudioHookStream(clock=lambda: T0)
    [opened], [start] = stream.text(_open(agent="a7", team="billing"))
    assert opened["type"] == "opened" and opened["clientseq"] == 1 and opened["id"] == "s-1"
    assert opened["parameters"]["media"][0]["channels"] == ["external", "internal"]
    assert start["call"] == "conv-9" and start["customer"] == "+15550001111"
    out = []
    for _ in range(25):  # 0.5 s of stereo PCMU, 20 ms a frame
        out += stream.binary(bytes([0xFF]) * 320)
    assert [m["t"] for m in out] == [T0 + 0.25, T0 + 0.5]
    [pong], _ = stream.text(_msg("ping", 2, "PT0.5S"))
    assert pong["type"] == "pong" and pong["seq"] == 2 and pong["clientseq"] == 2
    # the client discarded 1 s of audio: it counts as silence, time goes on
    _, out = stream.text(_msg("discarded", 3, "PT1.5S", start="PT0.5S", discarded="PT1S"))
    assert stream.call.pair.counts.gap_samples == [8000, 8000]
    [closed], out = stream.text(_msg("close", 4, "PT1.5S", reason="end"))
    assert closed["type"] == "closed"
    assert out[-1] == {"type": "call_end", "call": "conv-9", "t": T0 + 1.5,
                       "reason": "stream closed (end)"}


def test_audiohook_l16_at_16k_is_decimated() -> None:
    stream = AudioHookStream(clock=lambda: T0)
    stream.text(_open(media=[{"type": "audio", "format": "L16", "rate": 16000,
                              "channels": ["external", "internal"]}], agent="a", team="t"))
    out = stream.binary(bytes(4 * 16000))  # 1 s of stereo 16-bit silence
    assert [m["t"] for m in out if m["type"] == "sample"][-1] == T0 + 1.0


@pytest.mark.parametrize(("frames", "problem"), [
    ([_open(seq=2, agent="a", team="t")], "seq 2 out of sequence"),
    ([_msg("ping", 1, "PT0S")], "ping before open"),
    ([_open(media=[{"type": "audio", "format": "opus", "rate": 48000, "channels": ["external"]}],
            agent="a", team="t")], "no media floorwatch can take"),
    ([_open()], "customConfig must carry agent and team"),
    ([_open(agent="a", team="t"), _msg("ping", 2, "yesterday")], "ISO 8601"),
])
def test_audiohook_violations_are_named(frames: list[str], problem: str) -> None:
    stream = AudioHookStream(clock=lambda: T0)
    with pytest.raises(StreamError, match=problem):
        for frame in frames:
            stream.text(frame)
    assert stream.disconnect(problem)["parameters"] == {"reason": "error", "info": problem}


def test_audiohook_frame_sizes_and_durations() -> None:
    stream = AudioHookStream(clock=lambda: T0)
    stream.text(_open(agent="a", team="t"))
    with pytest.raises(StreamError, match="not a whole number"):
        stream.binary(b"\xff" * 3)
    assert seconds("PT1H2M3.5S") == 3723.5 and seconds("PT0S") == 0.0


def test_timestamps_that_would_make_us_hold_silence_are_refused() -> None:
    stream = TwilioStream(clock=lambda: T0)
    stream.receive(_start(agent="a", team="t"))
    with pytest.raises(StreamError, match="ahead of the stream"):
        stream.receive(_media("inbound", 11 * 3600 * 1000))
    hook = AudioHookStream(clock=lambda: T0)
    hook.text(_open(agent="a", team="t"))
    _, out = hook.text(_msg("paused", 2, "PT0S"))
    _, out = hook.text(_msg("resumed", 3, "PT300S", start="PT0S", discarded="PT300S"))
    assert len([m for m in out if m["type"] == "sample"]) == 300 * 4  # a long pause, silent
    assert hook.call.pair.counts.gap_samples == [300 * 8000] * 2
    with pytest.raises(StreamError, match="jumps 3600 s ahead"):
        hook.text(_msg("ping", 4, "PT3900S"))
