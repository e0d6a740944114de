"""Fundamental frequency by YIN (de Cheveigné & Kawahara, 2002), many frames at once.

numpy only, by choice: pysptk ships no wheels (a C++ build on every install),
librosa's `yin` costs a numba warm-up of seconds per process, praat-parselmouth is
GPL. YIN is small: the difference function of each frame from one FFT
cross-correlation and two running energies, its cumulative-mean normalisation, the
first dip under a threshold, and a parabola through that dip for sub-sample
precision. Frames are analysed as one 2-D array, so the cost per frame is a few
hundred floating-point operations in numpy rather than Python calls.
"""

from __future__ import annotations

import numpy as np

#: The lowest and highest voice this tracks: 60 Hz (a deep male voice) to 400 Hz (a
#: child or a raised female voice); a raised voice goes up a few semitones, within range.
F0_MIN = 60.0
F0_MAX = 400.0
#: YIN's absolute threshold: a dip of the normalised difference under this is a period.
#: Clean speech dips to 0.02–0.1; line noise raises the dips, unvoiced sounds have none.
THRESHOLD = 0.2


class Yin:
    """A pitch tracker for frames of `window` samples at `rate` Hz."""

    def __init__(self, rate: int = 8000, window: int = 240,
                 f0_min: float = F0_MIN, f0_max: float = F0_MAX,
                 threshold: float = THRESHOLD) -> None:
        self.rate = rate
        self.window = window
        self.lag_min = int(rate / f0_max)
        self.lag_max = int(np.ceil(rate / f0_min))
        #: Samples each frame needs: the window and the window shifted by the longest lag.
        self.span = window + self.lag_max + 1
        self.fft_size = 1 << int(np.ceil(np.log2(self.span)))
        self.threshold = threshold
        self._lags = np.arange(1, self.lag_max + 2, dtype=np.float64)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """F0 in Hz of each row of `frames` (shape (n, span)); NaN where unvoiced."""
        n = len(frames)
        if n == 0:
            return np.empty(0)
        x = frames.astype(np.float64, copy=False)
        w, top = self.window, self.lag_max + 1
        head = np.fft.rfft(x[:, :w], self.fft_size)
        whole = np.fft.rfft(x, self.fft_size)
        cross = np.fft.irfft(np.conj(head) * whole, self.fft_size)[:, 1:top + 1]
        energy = np.cumsum(np.square(x), axis=1)
        e0 = energy[:, w - 1:w]
        shifted = energy[:, w:w + top] - energy[:, :top]  # sum of x[j+lag]^2, lag = 1..top
        diff = np.maximum(e0 + shifted - 2.0 * cross, 0.0)
        total = np.cumsum(diff, axis=1)
        cmnd = np.divide(diff * self._lags, total, out=np.ones_like(diff), where=total > 0)
        lo = self.lag_min - 1  # index of lag_min (index i is lag i + 1)
        mid = cmnd[:, lo:-1]
        dips = (mid < self.threshold) & (mid <= cmnd[:, lo + 1:]) & (mid < cmnd[:, lo - 1:-2])
        found = dips.any(axis=1)
        index = np.argmax(dips, axis=1) + lo
        rows = np.arange(n)
        before, at, after = (cmnd[rows, index - 1], cmnd[rows, index],
                             cmnd[rows, np.minimum(index + 1, top - 1)])
        curve = before - 2.0 * at + after
        shift = np.divide(before - after, 2.0 * curve, out=np.zeros(n), where=curve > 1e-12)
        lag = index + 1 + np.clip(shift, -0.5, 0.5)
        return np.where(found, self.rate / lag, np.nan)
