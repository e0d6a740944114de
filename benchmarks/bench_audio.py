"""Voice analysis cost per call, against pitch and voice-activity libraries alone.

Builds a realistic two-party call from real synthesized speech (tests/speech.py:
espeak-ng voices altered by sox, μ-law, a noise floor, 30 dB bleed; turns with
pauses as on a real call), then times on one pinned core, best of N, in process
CPU time:

- floorwatch: the whole analysis (feeds.sources.analysis: voice activity, loudness,
  YIN pitch, double talk) of both tracks, fed in 20 ms chunks as a live stream is;
- many live calls: `--calls` analyzers fed round-robin 20 ms at a time, as the
  gateway does; CPU per second of audio gives the concurrent calls one core sustains;
- the libraries alone, on the same two tracks: pysptk's RAPT (pitch only), librosa's
  YIN (pitch only; its numba warm-up reported apart), webrtcvad (voice activity
  only, 10 ms frames). Each is skipped with a note if not installed
  (`make bench` installs them: benchmarks/requirements-audio.txt).

Prints × real time per core of each and floorwatch's ratio to each library. The
machine is shared and noisy: read the ratios.

    python benchmarks/bench_audio.py [--seconds 120] [--calls 500] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feeds.sources.analysis import CallAnalyzer
from feeds.sources.codec import RATE, read_wav
from tests.speech import Line, Speech, tools_present

CHUNK = 160  # 20 ms at 8 kHz: a Twilio media message


def _pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[-1]})


def best(runs: int, work: Callable[[], object]) -> float:
    """Least CPU seconds of `runs` runs of `work`."""
    times = []
    for _ in range(runs):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return min(times)


def live(customer: np.ndarray, agent: np.ndarray) -> None:
    analyzer = CallAnalyzer("bench", 0.0)
    for at in range(0, len(customer), CHUNK):
        analyzer.feed(customer[at:at + CHUNK], agent[at:at + CHUNK])


def many(customer: np.ndarray, agent: np.ndarray, calls: int, seconds: float) -> None:
    """`calls` live calls at once, each fed the same audio from its own offset."""
    analyzers = [CallAnalyzer(f"c{i}", 0.0) for i in range(calls)]
    offsets = [(i * 7919 * CHUNK) % (len(customer) - round(seconds * RATE)) // CHUNK * CHUNK
               for i in range(calls)]
    for step in range(0, round(seconds * RATE), CHUNK):
        for analyzer, offset in zip(analyzers, offsets, strict=True):
            at = offset + step
            analyzer.feed(customer[at:at + CHUNK], agent[at:at + CHUNK])


def libraries(customer: np.ndarray, agent: np.ndarray, runs: int) -> dict[str, float]:
    """CPU seconds of each library alone on both tracks (missing ones left out)."""
    out: dict[str, float] = {}
    tracks = (customer.astype(np.float64), agent.astype(np.float64))
    try:
        import pysptk
    except ImportError:
        print("  pysptk not installed: skipped")
    else:
        out["pysptk.rapt (pitch only)"] = best(runs, lambda: [
            pysptk.rapt((x * 32768).astype(np.float64), fs=RATE, hopsize=80, min=60, max=400)
            for x in tracks])
    try:
        import librosa
    except ImportError:
        print("  librosa not installed: skipped")
    else:
        start = time.perf_counter()
        librosa.yin(tracks[0][:RATE], fmin=60, fmax=400, sr=RATE, frame_length=512,
                    hop_length=80)
        print(f"  librosa.yin warm-up (numba compile, first call): "
              f"{time.perf_counter() - start:.1f} s")
        out["librosa.yin (pitch only)"] = best(runs, lambda: [
            librosa.yin(x, fmin=60, fmax=400, sr=RATE, frame_length=512, hop_length=80)
            for x in tracks])
    try:
        import webrtcvad
    except ImportError:
        print("  webrtcvad not installed: skipped")
    else:
        vad = webrtcvad.Vad(2)
        pcm = [(np.clip(x * 32768, -32768, 32767).astype("<i2")).tobytes() for x in tracks]

        def detect() -> None:
            for data in pcm:
                for at in range(0, len(data) - 159, 160):
                    vad.is_speech(data[at:at + 160], RATE)

        out["webrtcvad (voice activity only)"] = best(runs, detect)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--many-seconds", type=float, default=10.0,
                        help="audio each of the --calls live calls is fed")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not tools_present():
        sys.exit("bench_audio: espeak-ng and sox are needed (make tools)")
    _pin_one_core()
    with tempfile.TemporaryDirectory() as tmp:
        speech = Speech(Path(tmp))
        line = Line(ulaw=True, bleed_db=-30.0, noise_db=-55.0)
        path = speech.call("bench", speech.conversation(0.5, args.seconds), line,
                           length=args.seconds)
        customer, agent = read_wav(path).tracks
    seconds = len(customer) / RATE
    both = sum(1 for x in (customer, agent) for _ in [0])
    print(f"a {seconds:.0f} s two-party call of real speech (μ-law, noise, bleed), "
          f"{both} tracks, one core:")
    ours = best(args.runs, lambda: live(customer, agent))
    print(f"  floorwatch analysis, live 20 ms chunks: {seconds / ours:8.0f} × real time "
          f"({ours / seconds * 1000:.2f} ms CPU per second of call)")
    crowd = best(max(1, args.runs - 1),
                 lambda: many(customer, agent, args.calls, args.many_seconds))
    per_core = args.calls * args.many_seconds / crowd
    print(f"  {args.calls} live calls round-robin: {per_core:8.0f} concurrent calls per core "
          f"(goal ≥ 500)")
    for name, cpu in libraries(customer, agent, args.runs).items():
        print(f"  {name}: {seconds / cpu:8.0f} × real time; floorwatch's whole analysis is "
              f"{cpu / ours:.2f}× its speed")


if __name__ == "__main__":
    main()
