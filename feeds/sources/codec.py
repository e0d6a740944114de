"""Telephone audio as numbers: G.711 μ-law and A-law, 16-bit PCM, WAV files.

Everything is decoded to float32 in [-1, 1) at 8 kHz, the rate the analysis runs
at: a 16 kHz track is low-pass filtered and decimated. WAV is read by hand because
the standard library's `wave` reads PCM only, and recordings from telephony
platforms are often μ-law (format 7) or WAVE_FORMAT_EXTENSIBLE.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 8000
RATES = (8000, 16000)


class AudioError(ValueError):
    """Audio that cannot be analysed; the message names the problem."""


def _ulaw_table() -> np.ndarray:
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = code & 0x80
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return (np.where(sign, -magnitude, magnitude) / 32768.0).astype(np.float32)


def _alaw_table() -> np.ndarray:
    code = np.arange(256, dtype=np.int32) ^ 0x55
    sign = code & 0x80
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = np.where(exponent == 0, (mantissa << 4) + 8,
                         ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0))
    return (np.where(sign, magnitude, -magnitude) / 32768.0).astype(np.float32)


ULAW = _ulaw_table()
ALAW = _alaw_table()
ULAW_SILENCE = 0xFF  # the μ-law code of 0


def ulaw(data: bytes) -> np.ndarray:
    """G.711 μ-law bytes (Twilio's `audio/x-mulaw`, AudioHook's PCMU) as float32."""
    return ULAW[np.frombuffer(data, dtype=np.uint8)]


def ulaw_codes(data: bytes) -> np.ndarray:
    """μ-law bytes as codes (no copy), for decoding later in bulk: `ULAW[codes]`."""
    return np.frombuffer(data, dtype=np.uint8)


def alaw(data: bytes) -> np.ndarray:
    return ALAW[np.frombuffer(data, dtype=np.uint8)]


def l16(data: bytes, big_endian: bool = False) -> np.ndarray:
    """16-bit linear PCM (WAV is little-endian; RTP's L16 is big-endian) as float32."""
    usable = len(data) - len(data) % 2
    samples = np.frombuffer(data[:usable], dtype=">i2" if big_endian else "<i2")
    return samples.astype(np.float32) / 32768.0


#: A 31-tap half-band low-pass (Hamming-windowed sinc, cut-off 3.6 kHz at 16 kHz):
#: what keeps 4–8 kHz out of the 8 kHz signal when a wideband track is decimated.
_TAPS = np.arange(31) - 15
HALF_BAND = (np.sinc(_TAPS * 0.45) * 0.45 * np.hamming(31)).astype(np.float32)
HALF_BAND /= HALF_BAND.sum()


def to_8k(samples: np.ndarray, rate: int) -> np.ndarray:
    """A track at 8 or 16 kHz at 8 kHz."""
    if rate == RATE:
        return samples
    if rate != 16000:
        raise AudioError(f"sample rate {rate} Hz is not supported: use 8000 or 16000 Hz "
                         f"(e.g. sox call.wav -r 8000 call-8k.wav)")
    return np.convolve(samples, HALF_BAND, mode="same")[::2].astype(np.float32)


class Decimator:
    """16 kHz to 8 kHz for a stream that arrives in chunks: the same filter as `to_8k`,
    carrying its history (and which sample is next to keep) from chunk to chunk."""

    def __init__(self) -> None:
        self.history = np.zeros(len(HALF_BAND) - 1, dtype=np.float32)
        self.phase = 0

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        joined = np.concatenate([self.history, samples])
        self.history = joined[len(joined) - len(self.history):]
        filtered = np.convolve(joined, HALF_BAND, mode="valid")
        kept = filtered[self.phase::2]
        self.phase = (self.phase + len(samples)) % 2
        return kept.astype(np.float32)


#: WAV format tags this reader decodes, and their names for error messages.
PCM, FLOAT, ALAW_TAG, ULAW_TAG, EXTENSIBLE = 1, 3, 6, 7, 0xFFFE
FORMAT_NAMES = {PCM: "PCM", FLOAT: "IEEE float", ALAW_TAG: "A-law", ULAW_TAG: "μ-law",
                2: "Microsoft ADPCM", 0x11: "IMA ADPCM", 0x31: "GSM 6.10",
                0x55: "MP3", 0x0161: "WMA"}


@dataclass(frozen=True, slots=True)
class Decoded:
    """Decoded call audio: one float32 track per channel, at 8 kHz."""

    tracks: tuple[np.ndarray, ...]
    source_rate: int
    encoding: str

    @property
    def seconds(self) -> float:
        return len(self.tracks[0]) / RATE if self.tracks else 0.0


def read_wav(path: str | Path) -> Decoded:
    """A WAV file's channels at 8 kHz; `AudioError` says what is wrong with a bad file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise AudioError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return parse_wav(data, str(path))


def parse_wav(data: bytes, name: str = "audio") -> Decoded:
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RIFX") or data[8:12] != b"WAVE":
        kind = "empty" if not data else "not a WAV file (no RIFF/WAVE header)"
        raise AudioError(f"{name}: {kind}")
    if data[:4] == b"RIFX":
        raise AudioError(f"{name}: big-endian WAV (RIFX) is not supported")
    fmt: bytes | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = data[pos + 8:pos + 8 + size]
        if chunk_id == b"fmt ":
            fmt = body
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioError(f"{name}: the data chunk comes before the fmt chunk")
            # Writers that stream (a pipe, a recorder killed mid-call) leave the size
            # 0 or 0xFFFFFFFF: the rest of the file is the data.
            if size in (0, 0xFFFFFFFF):
                body = data[pos + 8:]
            elif len(body) < size:
                raise AudioError(f"{name}: truncated: the data chunk holds {len(body)} "
                                 f"of the {size} bytes its header says")
            return _decode(fmt, body, name)
        pos += 8 + size + (size & 1)
    if fmt is None:
        raise AudioError(f"{name}: no fmt chunk: not a usable WAV file")
    raise AudioError(f"{name}: truncated: no data chunk")


def _pcm(body: bytes, width: int) -> np.ndarray:
    """WAV's linear PCM: 8-bit unsigned, 16/24/32-bit signed little-endian."""
    if width == 2:
        return l16(body)
    usable = len(body) - len(body) % width
    raw = np.frombuffer(body[:usable], np.uint8).reshape(-1, width)
    if width == 1:
        return (raw[:, 0].astype(np.float32) - 128.0) / 128.0
    wide = np.zeros((len(raw), 4), np.uint8)
    wide[:, 4 - width:] = raw  # the sample in the top bytes of a little-endian int32
    return (wide.view("<i4")[:, 0] / 2147483648.0).astype(np.float32)


def _decode(fmt: bytes, body: bytes, name: str) -> Decoded:
    if len(fmt) < 16:
        raise AudioError(f"{name}: the fmt chunk is {len(fmt)} bytes, too short")
    tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack_from("<H", fmt, 24)[0]  # the sub-format GUID's first two bytes
    if channels < 1:
        raise AudioError(f"{name}: the fmt chunk says {channels} channels")
    if rate not in RATES:
        raise AudioError(f"{name}: sample rate {rate} Hz is not supported: use 8000 or "
                         f"16000 Hz (e.g. sox {name} -r 8000 call-8k.wav)")
    if tag == ULAW_TAG and bits == 8:
        flat, encoding = ulaw(body), "μ-law"
    elif tag == ALAW_TAG and bits == 8:
        flat, encoding = alaw(body), "A-law"
    elif tag == PCM and bits in (8, 16, 24, 32):
        flat, encoding = _pcm(body, bits // 8), f"{bits}-bit PCM"
    elif tag == FLOAT and bits in (32, 64):
        usable = len(body) - len(body) % (bits // 8)
        flat = np.frombuffer(body[:usable], f"<f{bits // 8}").astype(np.float32)
        encoding = f"{bits}-bit float"
    else:
        codec = FORMAT_NAMES.get(tag, f"format tag 0x{tag:04x}")
        raise AudioError(f"{name}: unsupported codec {codec} ({bits}-bit): use μ-law, A-law, "
                         f"PCM or float (e.g. sox {name} -e signed -b 16 call-pcm.wav)")
    usable = len(flat) - len(flat) % channels
    if usable == 0:
        raise AudioError(f"{name}: truncated: no complete audio frame")
    frames = flat[:usable].reshape(-1, channels)
    tracks = tuple(to_8k(np.ascontiguousarray(frames[:, i]), rate) for i in range(channels))
    return Decoded(tracks, rate, encoding)
