"""Output framing: the avatar cropped to head and shoulders at the output's aspect ratio for the virtual camera
and the recording, from the face landmarks, held steady (a dead zone and a slow glide, so tracking jitter
never shakes the picture). The full photo stays available (`zoom=None`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HEAD_AND_SHOULDERS = 2.8  # crop height in face heights at zoom 1: the head, the neck and the shoulders' top
FACE_HEIGHT_IN_STD = 4.8  # a face's height (forehead to chin) in standard deviations of its landmarks' y
BELOW_FACE = 0.35  # the crop's centre sits this many face heights below the face's centre (room for shoulders)
ABOVE_FACE = 0.4  # room kept above the forehead landmarks for the hair, in face heights


@dataclass(frozen=True)
class FrameBox:
    """A crop rectangle in image pixels (floats; `slice_of` rounds)."""

    x: float
    y: float
    width: float
    height: float

    def slice_of(self, image: np.ndarray) -> np.ndarray:
        """The (h, w, 3) part of `image` this box covers."""
        x0, y0 = int(round(self.x)), int(round(self.y))
        x1, y1 = x0 + max(1, int(round(self.width))), y0 + max(1, int(round(self.height)))
        return np.ascontiguousarray(image[max(0, y0):y1, max(0, x0):x1])

    def as_array(self) -> np.ndarray:
        """(4,) x, y, width, height."""
        return np.array([self.x, self.y, self.width, self.height])


def head_and_shoulders(landmarks: np.ndarray, image_size: tuple[int, int], aspect: float,
                       zoom: float = 1.0) -> FrameBox:
    """The box of `aspect` (width / height) around the face's head and shoulders in an image of `image_size`
    (width, height); `zoom` > 1 comes closer. Kept inside the image (smaller when the image is)."""
    width, height = image_size
    xy = np.asarray(landmarks, dtype=np.float64)[:, :2]
    # Mean and spread of all 478 points, not their extremes: tracking jitter averages out instead of
    # setting the box (the extremes of a frontal face lie ~2.4 standard deviations out in y).
    centre, spread = xy.mean(axis=0), xy.std(axis=0)
    face_h = max(FACE_HEIGHT_IN_STD * float(spread[1]), 1.0)
    box_h = HEAD_AND_SHOULDERS * face_h / max(zoom, 1e-3)
    box_w = box_h * aspect
    fit = min(1.0, width / box_w, height / box_h)  # the photo ends: the largest box of that aspect inside
    box_w, box_h = box_w * fit, box_h * fit
    cx, cy = centre[0], centre[1] + BELOW_FACE * face_h
    # a box cut short by a narrow photo keeps the hair in and gives up the shoulders
    top = min(cy - box_h / 2, centre[1] - (0.5 + ABOVE_FACE) * face_h)
    left = float(np.clip(cx - box_w / 2, 0, width - box_w))
    top = float(np.clip(top, 0, height - box_h))
    return FrameBox(left, top, box_w, box_h)


@dataclass(frozen=True)
class SteadyConfig:
    """How the crop follows the face: it stays put within the dead zone, then glides."""

    dead_zone: float = 0.06  # of the box height: the face may move this much before the box follows
    glide: float = 0.08  # fraction of the remaining distance covered per frame once it follows


class SteadyFramer:
    """Per avatar frame: landmarks in, a steady FrameBox out (a still face gives a still box)."""

    def __init__(self, config: SteadyConfig | None = None) -> None:
        self.config = config or SteadyConfig()
        self._box: np.ndarray | None = None  # (4,) x, y, w, h
        self._following = False

    def reset(self) -> None:
        """Forget the box (a new portrait, aspect or zoom): the next one is placed at once."""
        self._box = None
        self._following = False

    def update(self, target: FrameBox) -> FrameBox:
        """Move towards `target` (this frame's head-and-shoulders box) only when it left the dead zone."""
        goal = target.as_array()
        if self._box is None:
            self._box = goal
        else:
            distance = float(np.abs(goal - self._box).max()) / max(self._box[3], 1.0)
            if distance > self.config.dead_zone:
                self._following = True
            if self._following:
                self._box = self._box + self.config.glide * (goal - self._box)
                if distance < 0.1 * self.config.dead_zone:  # arrived: stay put again
                    self._following = False
        return FrameBox(*map(float, self._box))
