"""Pitch: a synthetic voice of known F0, and real speech shifted by sox."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from feeds.core.config import DEFAULT
from feeds.sources.analysis import CallAnalyzer
from feeds.sources.codec import read_wav
from feeds.sources.pitch import Yin
from tests.speech import Speech, Turn


def _pitches(path: Path) -> tuple[list[float], list[float]]:
    audio = read_wav(path)
    analyzer = CallAnalyzer("p", 0.0)
    samples = [m for m in analyzer.feed(*audio.tracks) if m["type"] == "sample"]
    return ([m["cust_pitch"] for m in samples if m["cust_pitch"] is not None],
            [m["agent_pitch"] for m in samples if m["agent_pitch"] is not None])


@pytest.mark.parametrize("f0", [85.0, 120.0, 196.0, 310.0])
def test_a_synthetic_voice_within_2_percent_of_its_f0(tmp_path: Path, f0: float) -> None:
    """A glottal-like sawtooth at F0 through two vowel formants (sox), in syllables of
    0.5 s with pauses, over a noise floor: every voiced interval's pitch within 2 % of F0."""
    path = tmp_path / "vowel.wav"
    subprocess.run(["sox", "-n", "-r", "8000", "-b", "16", "-c", "2", str(path),
                    "synth", "0.5", "sawtooth", str(f0), "whitenoise",
                    "remix", "1v0.9,2v0.003", "1v0.0",
                    "bandpass", "700", "300h", "bandpass", "1200", "400h",
                    "gain", "-n", "-20", "pad", "0", "0.3", "repeat", "5"],
                   check=True, capture_output=True)
    customer, agent = _pitches(path)
    assert len(customer) >= 10 and not agent
    assert np.max(np.abs(np.array(customer) / f0 - 1)) < 0.02, customer


def test_speech_shifted_by_sox_moves_pitch_by_the_same_ratio(speech: Speech) -> None:
    """The same sentences at +0 and +400 cents: median pitch ratio 2^(4/12) within 2 %."""
    text = "I have been waiting for this refund for weeks and nobody has called me back."
    plain = speech.call("plain", [Turn("customer", 0.2, text)])
    raised = speech.call("raised", [Turn("customer", 0.2, text, cents=400)])
    ratio = np.median(_pitches(raised)[0]) / np.median(_pitches(plain)[0])
    assert ratio == pytest.approx(2 ** (4 / 12), rel=0.02)


def test_noise_and_silence_have_no_pitch() -> None:
    yin = Yin()
    rng = np.random.default_rng(3)
    frames = np.concatenate([rng.normal(size=(20, yin.span)), np.zeros((5, yin.span))])
    assert np.isnan(yin(frames)).all()
    assert yin(np.empty((0, yin.span))).shape == (0,)


@pytest.mark.parametrize(("change", "problem"), [
    ({"interval_s": 0.005}, "audio.interval_s"), ({"f0_min_hz": 10.0}, "audio.f0_min_hz"),
    ({"f0_min_hz": 300.0, "f0_max_hz": 200.0}, "f0_max_hz"),
    ({"yin_threshold": 1.5}, "audio.yin_threshold")])
def test_settings_that_cannot_be_measured_with_are_named(change: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        CallAnalyzer("c", 0.0, replace(DEFAULT.audio, **change))
