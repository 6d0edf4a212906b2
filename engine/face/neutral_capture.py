"""NeutralCapture: the automatic neutral calibration. After a new source, portrait or resolution, the driving
face's neutral is taken from the first steady second of a face (the skull-fixed landmarks barely moving), not
from whichever frame happened to come first; a face that never settles gives the steadiest second seen.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from engine.face import topology as topo
from engine.face.head_pose import head_pose

RIGID = list(topo.RIGID)


@dataclass(frozen=True)
class NeutralCaptureConfig:
    """How long a face must hold still to become the neutral, and how still."""

    steady_s: float = 1.0
    tolerance: float = 0.08  # RMS motion of the skull-fixed landmarks over the second, in head scales
    longest_s: float = 2.5  # a face that never settles (a shaky clip): the steadiest second seen by then


class NeutralCapture:
    """Feed it the driving faces (in one coordinate frame); it answers the neutral once it has one.

    The neutral is a real tracked face (the one nearest the second's mean), never an average of shapes.
    """

    def __init__(self, config: NeutralCaptureConfig | None = None) -> None:
        self.config = config or NeutralCaptureConfig()
        self._window: deque[tuple[float, np.ndarray]] = deque()  # (timestamp, (478, 3) landmarks)
        self._started: float | None = None  # timestamp of the first face seen
        self._best: tuple[float, np.ndarray] | None = None  # (motion, landmarks) of the steadiest second

    def add(self, landmarks: np.ndarray | None, timestamp: float) -> np.ndarray | None:
        """One driving frame's face (None: no face, which breaks the second); the neutral once decided."""
        if landmarks is None:
            self._window.clear()
            return None
        if self._started is None:
            self._started = timestamp
        self._window.append((timestamp, landmarks))
        while self._window and timestamp - self._window[0][0] > self.config.steady_s:
            self._window.popleft()
        if timestamp - self._window[0][0] >= self.config.steady_s * 0.95 and len(self._window) >= 3:
            motion, middle = self._steadiness()
            if self._best is None or motion < self._best[0]:
                self._best = (motion, middle)
            if motion <= self.config.tolerance:
                return middle
        if timestamp - self._started >= self.config.longest_s and self._best is not None:
            return self._best[1]
        return None

    def _steadiness(self) -> tuple[float, np.ndarray]:
        """(RMS motion of the window's skull-fixed landmarks in head scales, the face nearest their mean)."""
        faces = np.stack([lm for _, lm in self._window]).astype(np.float64)  # (n, 478, 3)
        rigid = faces[:, RIGID, :2]
        mean = rigid.mean(axis=0)
        spread = np.sqrt(((rigid - mean) ** 2).sum(axis=2).mean(axis=1))  # (n,) per frame
        scale = head_pose(faces[len(faces) // 2]).scale
        return float(spread.max() / max(scale, 1e-9)), faces[int(spread.argmin())]
