"""Test calls from real synthesized speech: espeak-ng voices, altered with sox as real
lines alter them (pitch in cents, gain, tempo, a noise floor, bleed, μ-law).

A call is a script of turns, each a party saying a sentence at a time; each turn is
synthesized and altered by the real tools, placed on its party's track, and the
tracks are mixed into a stereo WAV (channel 1 the customer). Utterances are cached
by their text and effects, so a suite builds each one once.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RATE = 8000
#: Utterances are made this much quieter than espeak-ng's output, so a turn made
#: louder by up to this much does not clip; `Line.level_db` gives it back.
HEADROOM_DB = 12.0

SENTENCES = [
    "I am calling about my bill, it seems I was charged twice this month.",
    "The second charge is from the fourteenth, and it is the same amount.",
    "I have been a customer for years and this has never happened before.",
    "Could you tell me when the refund would show up on my card?",
    "I checked the statement online this morning before I called.",
    "My account number should be on the letter you sent last week.",
    "We moved house in the spring, so the address may be the old one.",
    "I would just like to understand what happened and fix it today.",
]
AGENT_LINES = [
    "Thank you for calling, let me look into that for you right away.",
    "I can see both charges here on your account from this month.",
    "I am sorry about the trouble, I will put the refund through now.",
    "It should reach your card within three to five working days.",
]


def tools_present() -> bool:
    return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


@dataclass(frozen=True)
class Turn:
    """`party` says `text` starting at `at` seconds, with sox effects applied."""

    party: str  # "customer" or "agent"
    at: float
    text: str
    voice: str = "en-us"
    pitch: int = 50  # espeak-ng's pitch, 0–99
    cents: int = 0  # sox pitch shift
    gain_db: float = 0.0
    tempo: float = 1.0


@dataclass
class Line:
    """What the line does to the whole call."""

    noise_db: float | None = None  # white noise floor in dBFS on both channels
    bleed_db: float | None = None  # each channel carries the other this far down
    ulaw: bool = False
    level_db: float = HEADROOM_DB - 10.0  # gain applied to every utterance


@dataclass
class Speech:
    cache: Path
    made: dict[str, Path] = field(default_factory=dict)

    def utterance(self, turn: Turn) -> np.ndarray:
        key = hashlib.sha1(repr((HEADROOM_DB, turn)).encode()).hexdigest()[:16]
        path = self.cache / f"{key}.wav"
        if not path.exists():
            raw = self.cache / f"{key}-raw.wav"
            subprocess.run(["espeak-ng", "-v", turn.voice, "-p", str(turn.pitch), "-s", "165",
                            "-w", str(raw), turn.text], check=True, capture_output=True)
            effects = []
            if turn.cents:
                effects += ["pitch", str(turn.cents)]
            if turn.tempo != 1.0:
                effects += ["tempo", "-s", str(turn.tempo)]
            effects += ["gain", str(turn.gain_db - HEADROOM_DB), "rate", str(RATE)]
            subprocess.run(["sox", str(raw), "-b", "16", "-c", "1", str(path), *effects],
                           check=True, capture_output=True)
            raw.unlink()
        return read_mono(path)

    def seconds(self, turn: Turn) -> float:
        return len(self.utterance(turn)) / RATE

    def conversation(self, start: float, end: float, gap: float = 0.6,
                     **customer: object) -> list[Turn]:
        """Alternating turns from `start` to about `end` s: the customer's sentences (with
        `customer` effects) and the agent's answers, each after the other has finished."""
        turns: list[Turn] = []
        at, i = start, 0
        while at < end:
            said = Turn("customer", at, SENTENCES[i % len(SENTENCES)], **customer)  # type: ignore[arg-type]
            turns.append(said)
            at += self.seconds(said) + gap
            if at >= end:
                break
            reply = Turn("agent", at, AGENT_LINES[i % len(AGENT_LINES)], voice="en-gb", pitch=40)
            turns.append(reply)
            at += self.seconds(reply) + gap
            i += 1
        return turns

    def cough(self, path: Path) -> Path:
        """A double cough: two bursts of pink noise, shaped by sox, loud (-12 dBFS)."""
        subprocess.run(["sox", "-n", "-r", str(RATE), "-b", "16", "-c", "1", str(path),
                        "synth", "0.18", "pinknoise", "fade", "t", "0.01", "0.18", "0.12",
                        "bandpass", "600", "800h", "gain", "-n", "-12", "pad", "0", "0.12",
                        "repeat", "1"], check=True, capture_output=True)
        return path

    def add(self, call: Path, clip: Path, party: str, times: list[float]) -> Path:
        """`call` with the mono `clip` mixed into `party`'s channel at each time."""
        tracks = read_stereo(call).copy()
        sound = read_mono(clip)
        channel = 0 if party == "customer" else 1
        for at in times:
            start = round(at * RATE)
            piece = sound[:max(0, tracks.shape[1] - start)]
            tracks[channel, start:start + len(piece)] += piece
        out = call.with_name(f"{call.stem}-with-{clip.stem}.wav")
        write_stereo(out, tracks)
        return out

    def call(self, name: str, turns: list[Turn], line: Line | None = None,
             length: float | None = None) -> Path:
        """The stereo WAV of a call (channel 1 the customer, 2 the agent)."""
        line = line or Line()
        voices = [(turn, self.utterance(turn)) for turn in turns]
        end = max(turn.at + len(audio) / RATE for turn, audio in voices) + 1.0
        total = round((length or end) * RATE)
        tracks = np.zeros((2, total))
        for turn, audio in voices:
            start = round(turn.at * RATE)
            piece = audio[:max(0, total - start)]
            tracks[0 if turn.party == "customer" else 1, start:start + len(piece)] += piece
        tracks *= 10 ** (line.level_db / 20)
        if line.bleed_db is not None:
            tracks = tracks + tracks[::-1] * 10 ** (line.bleed_db / 20)
        path = self.cache / f"{name}.wav"
        write_stereo(path, tracks)
        if line.noise_db is not None:
            noise = self.cache / f"{name}-noise.wav"
            amplitude = 10 ** (line.noise_db / 20) * np.sqrt(3)  # uniform noise: rms = a/√3
            subprocess.run(["sox", "-n", "-r", str(RATE), "-c", "2", "-b", "16", str(noise),
                            "synth", f"{total / RATE}", "whitenoise", "vol", f"{amplitude}"],
                           check=True, capture_output=True)
            mixed = self.cache / f"{name}-mixed.wav"
            subprocess.run(["sox", "-m", str(path), str(noise), str(mixed)],
                           check=True, capture_output=True)
            mixed.replace(path)
            noise.unlink()
        if line.ulaw:
            coded = self.cache / f"{name}-ulaw.wav"
            subprocess.run(["sox", str(path), "-e", "u-law", str(coded)], check=True,
                           capture_output=True)
            coded.replace(path)
        return path


def read_stereo(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == RATE and w.getnchannels() == 2
        return (np.frombuffer(w.readframes(w.getnframes()), "<i2") / 32768.0).reshape(-1, 2).T


def read_mono(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), "<i2") / 32768.0


def write_stereo(path: Path, tracks: np.ndarray) -> None:
    pcm = np.clip(np.round(tracks.T * 32768), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
