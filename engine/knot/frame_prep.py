"""A driving frame's host-side crop work for Knot Forcing, from its landmarks alone: the DiT's motion map and
the paste mask, both drawn in the face crop's pixels.

KnotAnimator does it in line, or hands it to the warp planner's worker processes with the warp plan when it
plans ahead (engine.warp.planner `also`): the object is picklable and needs no torch, so a worker stays light.

Shapes: landmarks (478, 2+) portrait pixels in; motion map (M, s, s) float32 in [0, 1] (s = the model's
motion size), mask (R, R) float32 in [0, 1] (R = the crop's resolution).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.face.crop import CropBox
from engine.face.motion_map import MotionRenderer
from engine.knot.composition import face_mask


@dataclass(frozen=True)
class CropFrame:
    """One driving frame's crop-side inputs, as `FramePrep` makes them."""

    motion_map: np.ndarray  # (M, s, s) float32: the DiT's motion condition
    mask: np.ndarray  # (R, R) float32: where the model's face is composed into the warp


@dataclass(frozen=True)
class FramePrep:
    """The crop-side work of one portrait's frames: its crop box, the crop and motion-map sizes."""

    box: CropBox
    resolution: int  # R: the face crop's side
    motion_size: int  # s: the motion map's side
    renderer: MotionRenderer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "renderer", MotionRenderer(self.motion_size))

    def crop_landmarks(self, landmarks: np.ndarray) -> np.ndarray:
        """(478, 2+) portrait pixels -> (478, 2) crop pixels."""
        return self.box.to_crop(np.asarray(landmarks)[:, :2], self.resolution)

    def motion_map(self, crop_landmarks: np.ndarray) -> np.ndarray:
        """(478, 2) crop pixels -> (M, s, s) float32 motion map."""
        return self.renderer.render(crop_landmarks * (self.motion_size / self.resolution))

    def __call__(self, landmarks: np.ndarray) -> CropFrame:
        """(478, 2+) portrait pixels -> the frame's motion map and paste mask."""
        crop_landmarks = self.crop_landmarks(landmarks)
        return CropFrame(self.motion_map(crop_landmarks), face_mask(crop_landmarks, self.resolution))
