"""One Euro filter (Casiez et al., CHI 2012): an adaptive low-pass that is steady when still, quick when moving.

The cutoff frequency rises with the signal's speed: `cutoff = min_cutoff + beta * |speed|`. Slow jitter is
filtered hard; a fast motion (a blink, a jaw drop, a head turn) passes with little lag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OneEuroConfig:
    """Filter parameters: cutoffs in Hz, beta in Hz per unit of speed of the filtered signal."""

    min_cutoff: float = 1.0
    beta: float = 8.0
    d_cutoff: float = 1.0
    fallback_fps: float = 30.0  # used when two samples share a timestamp


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Filters arrays of any shape sample by sample. For an (N, D) array the speed of each row (a point)
    sets that row's cutoff, so all coordinates of a landmark are filtered alike."""

    def __init__(self, config: OneEuroConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        """Forget the history: the next sample passes through unchanged."""
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._time: float | None = None

    def __call__(self, value: np.ndarray, timestamp: float) -> np.ndarray:
        """Filter one sample taken at `timestamp` (seconds); returns an array of the same shape."""
        value = np.asarray(value, dtype=np.float64)
        if self._value is None or self._time is None:
            self._value, self._speed, self._time = value.copy(), np.zeros_like(value), timestamp
            return value.copy()
        dt = timestamp - self._time
        if dt <= 0:
            dt = 1.0 / self.config.fallback_fps
        speed = (value - self._value) / dt
        self._speed = self._speed + _alpha(self.config.d_cutoff, dt) * (speed - self._speed)
        magnitude = np.abs(self._speed)
        if self._speed.ndim == 2:
            magnitude = np.linalg.norm(self._speed, axis=1, keepdims=True)
        cutoff = self.config.min_cutoff + self.config.beta * magnitude
        self._value = self._value + _alpha(cutoff, dt) * (value - self._value)
        self._time = timestamp
        return self._value.copy()


@dataclass(frozen=True)
class SmoothingConfig:
    """One Euro settings for each part of the driving signal.

    Head pose and slow expression (cheeks, brows, jaw line) are filtered hard, since their jitter is what a
    viewer sees as a shaky avatar. Eyelids, lips and gaze move in a few frames (a blink lasts ~100-150 ms),
    so their filter reacts to speed at once (high d_cutoff) and opens wide (high beta): a blink or a mouth
    closing passes whole instead of being averaged away.
    """

    pose: OneEuroConfig = OneEuroConfig(min_cutoff=0.5, beta=1.0, d_cutoff=1.0)
    expression: OneEuroConfig = OneEuroConfig(min_cutoff=0.8, beta=1.0, d_cutoff=1.0)
    blinks_and_lips: OneEuroConfig = OneEuroConfig(min_cutoff=2.0, beta=40.0, d_cutoff=8.0)
