"""DrivingState: head pose, expression and gaze relative to the driving neutral, and its One Euro filter."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.face import topology as topo
from engine.face.head_pose import EYES, MOUTH
from engine.face.smoothing import OneEuroFilter, SmoothingConfig


@dataclass
class DrivingState:
    """Motion relative to the driving neutral, in a form that can be filtered and eased to zero."""

    rotvec: np.ndarray  # (3,) head rotation relative to neutral, about the head's own axes (radians)
    shift: np.ndarray  # (2,) image-plane translation of the head, in head-scale units of the neutral face
    log_scale: float  # log of the apparent head size relative to neutral
    expression: np.ndarray  # (478, 3) offsets in head coordinates, already scaled per region
    gaze: np.ndarray  # (2, 2) change of each iris position, over eye width

    @classmethod
    def neutral(cls) -> DrivingState:
        return cls(np.zeros(3), np.zeros(2), 0.0, np.zeros((topo.NUM_LANDMARKS, 3)), np.zeros((2, 2)))

    def eased(self, keep: float) -> DrivingState:
        """This state moved towards neutral, keeping the fraction `keep` of it."""
        return DrivingState(self.rotvec * keep, self.shift * keep, self.log_scale * keep,
                             self.expression * keep, self.gaze * keep)

    def towards(self, other: DrivingState, w: float) -> DrivingState:
        """The state the fraction `w` of the way from this one to `other`."""
        return DrivingState(self.rotvec + w * (other.rotvec - self.rotvec), self.shift + w * (other.shift - self.shift),
                            self.log_scale + w * (other.log_scale - self.log_scale),
                            self.expression + w * (other.expression - self.expression),
                            self.gaze + w * (other.gaze - self.gaze))


IRISES = np.array([i for _, _, iris in EYES for i in iris])
# Landmarks whose motion is fast and must survive smoothing whole: eyelids, lips (irises go through gaze).
FAST = np.array(sorted(set(MOUTH + tuple(i for up, low, _ in EYES for i in up + low))))
SLOW = np.array([i for i in range(topo.NUM_LANDMARKS) if i not in set(FAST.tolist()) | set(IRISES.tolist())])


class StateFilter:
    """One Euro filters over a driving state: pose, slow expression, and fast features (lids, lips, gaze)."""

    def __init__(self, config: SmoothingConfig) -> None:
        self.pose = OneEuroFilter(config.pose)
        self.slow = OneEuroFilter(config.expression)
        self.fast = OneEuroFilter(config.blinks_and_lips)
        self.gaze = OneEuroFilter(config.blinks_and_lips)

    def reset(self) -> None:
        for f in (self.pose, self.slow, self.fast, self.gaze):
            f.reset()

    def __call__(self, state: DrivingState, t: float) -> DrivingState:
        pose = self.pose(np.concatenate([state.rotvec, state.shift, [state.log_scale]]), t)
        expression = state.expression.copy()
        expression[SLOW] = self.slow(state.expression[SLOW], t)
        expression[FAST] = self.fast(state.expression[FAST], t)
        return DrivingState(pose[:3], pose[3:5], float(pose[5]), expression, self.gaze(state.gaze, t))
