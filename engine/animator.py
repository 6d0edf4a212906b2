"""The Animator interface the app talks to, and the value types that cross it.

An Animator turns a portrait plus a stream of retargeted motion into avatar frames. Two implementations:
`engine.warp.WarpAnimator` (piecewise-affine baseline, also the DiT's warp prior) and
`engine.knot.knot_animator.KnotAnimator` (Knot Forcing). Everything is RGB uint8 at this border.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Portrait:
    """A validated portrait and its detected face."""

    image: np.ndarray  # (H, W, 3) uint8 RGB
    landmarks: np.ndarray  # (478, 3) float32: x, y in pixels of `image`, z in the same pixel scale
    name: str = "portrait"
    other_faces: tuple[np.ndarray, ...] = ()  # (478, 3) landmarks of further faces in the photo, largest first

    @property
    def faces_found(self) -> int:
        """How many faces the photo shows (the animated one included)."""
        return 1 + len(self.other_faces)

    def with_face(self, index: int) -> Portrait:
        """The same photo animating its face `index` (0 = the current one, then `other_faces` in order)."""
        faces = [self.landmarks, *self.other_faces]
        chosen = faces.pop(index)
        return Portrait(self.image, chosen, self.name, tuple(faces))


@dataclass(frozen=True)
class Motion:
    """Driving motion for one frame, already retargeted onto the portrait's face."""

    landmarks: np.ndarray  # (478, 2) float32, x, y in pixels of the portrait image
    timestamp: float  # time.monotonic() seconds at which the driving frame was captured
    face_visible: bool = True


@dataclass(frozen=True)
class AvatarFrame:
    """One output frame and the driving frame it answers (for latency accounting)."""

    image: np.ndarray  # (H, W, 3) uint8 RGB, the portrait's size
    timestamp: float  # the driving frame's Motion.timestamp
    index: int  # running frame number since set_portrait


class Animator(ABC):
    """Portrait + motion in, frames out. Not thread-safe: one worker thread owns it."""

    #: Frames an output lags behind its driving frame (0 for warp; the knot length for Knot Forcing).
    lookahead_frames: int = 0

    @abstractmethod
    def set_portrait(self, portrait: Portrait) -> None:
        """Switch to a new portrait; resets all streaming state."""

    @abstractmethod
    def push(self, motion: Motion) -> list[AvatarFrame]:
        """Feed one frame of motion; returns the frames that became ready (zero, one or a chunk)."""

    def flush(self) -> list[AvatarFrame]:
        """Emit frames still held back (end of a file render). Default: nothing is held."""
        return []

    def close(self) -> None:
        """Release what the animator holds besides memory (worker processes). Default: nothing."""
        return None
