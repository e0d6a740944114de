"""feeds.core.voice's baseline window against a plain model of what it promises.

A track's baseline is the median of its most recent `window_s` seconds of kept
speech. The track keeps that window in one array (pairs, then the sorted values)
that it compacts and grows; the model keeps a list and sorts it every time. Both
the module under test (compiled, when built) and its .py source must agree with
the model, through the window's compactions and growth.
"""

from __future__ import annotations

import importlib.util
import math
import random
import statistics
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import feeds.core.voice

SOURCE = Path(feeds.core.voice.__file__).with_name("voice.py")


def _interpreted() -> ModuleType:
    spec = importlib.util.spec_from_file_location("voice_as_source", SOURCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    assert module.COMPILED is False
    return module


MODULES = {"imported": feeds.core.voice, "source": _interpreted()}


class Model:
    """The baseline as protocol.md describes it, computed the slow, obvious way."""

    def __init__(self, threshold: float, window_s: float, min_speech_s: float) -> None:
        self.threshold, self.window_s, self.min_speech = threshold, window_s, min_speech_s
        self.kept: list[tuple[float, float]] = []
        self.base: float | None = None

    def into_baseline(self, dt: float, value: float) -> float:
        self.kept.append((dt, value))
        while sum(d for d, _ in self.kept) - self.kept[0][0] >= self.window_s:
            self.kept.pop(0)
        if sum(d for d, _ in self.kept) >= self.min_speech or self.base is not None:
            self.base = statistics.median(v for _, v in self.kept)
            return self.base + self.threshold
        return math.inf


levels = st.floats(min_value=-60.0, max_value=0.0).map(lambda v: round(v, 1))
samples = st.lists(st.tuples(st.sampled_from([0.25, 0.5, 1.0, 1.25, 3.0]), levels),
                   min_size=1, max_size=900)


@pytest.mark.parametrize("name", sorted(MODULES))
@settings(max_examples=60, deadline=None)
@given(kept=samples, window_s=st.sampled_from([5.0, 60.0, 400.0]))
def test_the_baseline_is_the_median_of_the_last_window_of_speech(
        name: str, kept: list[tuple[float, float]], window_s: float) -> None:
    """A 400 s window at 0.25 s a sample holds 1,600 samples: the array grows past its
    first size (128) several times; short windows compact it over and over."""
    track = MODULES[name].Track(6.0, 2.0, window_s, 10.0)
    model = Model(6.0, window_s, 10.0)
    for dt, value in kept:
        assert track.into_baseline(dt, value) == pytest.approx(model.into_baseline(dt, value))
        assert track.base == pytest.approx(model.base)


@pytest.mark.parametrize("name", sorted(MODULES))
@pytest.mark.parametrize("window_s", [5.0, 60.0, 400.0, 1000.0])
def test_the_window_grows_and_compacts_without_losing_a_sample(name: str, window_s: float
                                                                ) -> None:
    rng = random.Random(window_s)
    track = MODULES[name].Track(6.0, 2.0, window_s, 10.0)
    model = Model(6.0, window_s, 10.0)
    for _ in range(3000):
        dt, value = rng.choice([0.25, 0.5, 1.0]), round(rng.uniform(-40.0, -10.0), 1)
        assert track.into_baseline(dt, value) == pytest.approx(model.into_baseline(dt, value))
    assert (track.base_n - track.base_head) // 2 == len(model.kept)


def test_a_long_steady_run_keeps_memory_bounded() -> None:
    """Compaction, not growth, keeps a 60 s window: hours of speech, one fixed array."""
    track = feeds.core.voice.Track(6.0, 2.0, 60.0, 10.0)
    for i in range(20_000):
        track.into_baseline(1.0, -20.0 + (i % 7))
    assert track.base == -17.0
    assert track.base_n - track.base_head == 2 * 60


def _sustained(history: list[tuple[float, float]], sustain: float) -> float | None:
    total, values = 0.0, []
    for dt, value in reversed(history):
        total += dt
        values.append(value)
        if total >= sustain - 1e-9:
            return statistics.median(values)
    return None


@pytest.mark.parametrize("name", sorted(MODULES))
@pytest.mark.parametrize("dts", [(0.25, 0.5), (0.01, 0.02)])
def test_the_sustained_levels_are_medians_of_the_last_sustain_s_of_each_metric(
        name: str, dts: tuple[float, float]) -> None:
    """Both metrics' recent windows share one array; 10 ms samples make a 3 s window
    outgrow it (doubling), longer ones compact it. Silent metrics leave gaps."""
    module = MODULES[name]
    rng = random.Random(dts[0])
    party = module.Party(50.0, 50.0, 3.0, 60.0, 1.0, 2.0, 1.0, 1.0)  # thresholds: no spikes
    heard: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for _ in range(4000):
        dt = rng.choice(dts)
        db = None if rng.random() < 0.1 else round(rng.uniform(-40.0, -10.0), 1)
        hz = None if rng.random() < 0.2 else round(rng.uniform(90.0, 300.0), 1)
        assert party.voiced(dt, db, hz) is None
        if db is not None:
            heard[False].append((dt, db))
        if hz is not None:
            heard[True].append((dt, module.hz_to_semitones(hz)))
        for pitch, track in ((False, party.db), (True, party.st)):
            level = _sustained(heard[pitch], 3.0)
            expected = None if level is None or track.base is None else level - track.base
            assert party._excess(pitch) == pytest.approx(expected)
