"""Decoding telephone audio: G.711 against sox's own decoder, WAV forms, bad files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from feeds.sources.codec import AudioError, l16, parse_wav, read_wav, to_8k, ulaw
from feeds.sources.recorded import call_messages
from tests.speech import RATE, Speech, Turn


@pytest.fixture(scope="module")
def voice(speech: Speech) -> Path:
    return speech.call("codec", [Turn("customer", 0.2, "Good morning, I need some help."),
                                 Turn("agent", 2.5, "Of course, how can I help?")])


@pytest.mark.parametrize("encoding", ["u-law", "a-law"])
def test_g711_decodes_as_sox_does(voice: Path, tmp_path: Path, encoding: str) -> None:
    coded, pcm = tmp_path / "coded.wav", tmp_path / "pcm.wav"
    subprocess.run(["sox", str(voice), "-e", encoding, str(coded)], check=True)
    subprocess.run(["sox", str(coded), "-e", "signed", "-b", "16", str(pcm)], check=True)
    ours = read_wav(coded)
    theirs = parse_wav(pcm.read_bytes())
    assert ours.encoding == ("μ-law" if encoding == "u-law" else "A-law")
    for mine, sox in zip(ours.tracks, theirs.tracks, strict=True):
        np.testing.assert_array_equal(mine, sox)


def test_ulaw_extremes() -> None:
    assert ulaw(b"\x00\x80\xff\x7f").tolist() == pytest.approx(
        [-32124 / 32768, 32124 / 32768, 0.0, 0.0])
    assert l16(b"\x00\x80\xff\x7f").tolist() == [-1.0, 32767 / 32768]
    assert l16(b"\x80\x00", big_endian=True).tolist() == [-1.0]


def test_16k_is_filtered_then_decimated() -> None:
    t = np.arange(16000) / 16000
    speechband = to_8k(np.sin(2 * np.pi * 1000 * t).astype(np.float32), 16000)
    above = to_8k(np.sin(2 * np.pi * 5000 * t).astype(np.float32), 16000)
    assert len(speechband) == 8000
    assert np.sqrt(np.mean(speechband[100:-100] ** 2)) == pytest.approx(np.sqrt(0.5), rel=0.02)
    assert np.sqrt(np.mean(above[100:-100] ** 2)) < 0.01  # would alias to 3 kHz


@pytest.mark.parametrize("args", [["-b", "8"], ["-b", "24"], ["-b", "32"],
                                  ["-e", "float", "-b", "32"], ["-r", "16000"]])
def test_other_wav_forms_give_the_same_audio(voice: Path, tmp_path: Path,
                                             args: list[str]) -> None:
    other = tmp_path / "other.wav"
    subprocess.run(["sox", str(voice), *args, str(other)], check=True)
    reference = read_wav(voice).tracks[0]
    got = read_wav(other).tracks[0]
    assert len(got) == len(reference)
    err = np.sqrt(np.mean((got - reference) ** 2)) / np.sqrt(np.mean(reference ** 2))
    assert err < (0.35 if "16000" in args else 0.3 if "8" in args else 0.001)


def _sox(voice: Path, tmp_path: Path, *args: str, effects: tuple[str, ...] = ()) -> Path:
    out = tmp_path / "out.wav"
    subprocess.run(["sox", str(voice), *args, str(out), *effects], check=True,
                   capture_output=True)
    return out


@pytest.mark.parametrize(("make", "problem"), [
    (lambda v, d: d / "x.wav", "cannot read"),
    (lambda v, d: _write(d, b""), "empty"),
    (lambda v, d: _write(d, b"ID3\x03\x00 an mp3 file, not a wav at all"), "not a WAV file"),
    (lambda v, d: _write(d, v.read_bytes()[:30000]), "truncated: the data chunk holds"),
    (lambda v, d: _write(d, v.read_bytes()[:40]), "truncated: no data chunk"),
    (lambda v, d: _sox(v, d, "-e", "ima-adpcm"), "unsupported codec IMA ADPCM"),
    (lambda v, d: _sox(v, d, "-e", "gsm-full-rate"), "unsupported codec GSM 6.10"),
    (lambda v, d: _sox(v, d, "-r", "44100"), "sample rate 44100 Hz is not supported"),
])
def test_bad_files_say_what_is_wrong(voice: Path, tmp_path: Path, make, problem: str) -> None:
    path = make(voice, tmp_path)
    with pytest.raises(AudioError, match=problem):
        read_wav(path)


def _write(directory: Path, data: bytes) -> Path:
    path = directory / "bad.wav"
    path.write_bytes(data)
    return path


def test_mono_or_three_channels_is_not_a_call(voice: Path, tmp_path: Path) -> None:
    mono = read_wav(_sox(voice, tmp_path, effects=("remix", "1")))
    with pytest.raises(AudioError, match="mono audio: a call needs two tracks"):
        call_messages(mono, "c", "a", "t", 0.0, name="mono.wav")
    three = read_wav(_sox(voice, tmp_path, effects=("remix", "1", "2", "1")))
    with pytest.raises(AudioError, match="3 channels"):
        call_messages(three, "c", "a", "t", 0.0)


def test_a_streamed_wav_with_no_size_is_read_to_its_end(voice: Path) -> None:
    data = bytearray(voice.read_bytes())
    at = data.index(b"data")
    data[at + 4:at + 8] = b"\xff\xff\xff\xff"
    streamed, whole = parse_wav(bytes(data)), read_wav(voice)
    assert len(streamed.tracks[1]) == len(whole.tracks[1]) > 3 * RATE
