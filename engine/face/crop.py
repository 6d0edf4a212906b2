"""Square face crops: a box around the face, the crop itself, and point mapping between image and crop."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.face import topology as topo


@dataclass(frozen=True)
class CropBox:
    """A square in image pixels: centre (cx, cy) and side length. It may reach outside the image."""

    cx: float
    cy: float
    side: float

    @classmethod
    def from_landmarks(cls, landmarks: np.ndarray, scale: float = 1.8) -> CropBox:
        """Square around the face oval of (478, 2|3) landmarks, enlarged by `scale` so the head can move."""
        oval = np.asarray(landmarks, dtype=np.float64)[list(topo.FACE_OVAL), :2]
        lo, hi = oval.min(axis=0), oval.max(axis=0)
        centre = (lo + hi) / 2
        return cls(float(centre[0]), float(centre[1]), float(max(hi - lo) * scale))

    def _scale(self, out_size: int) -> float:
        return out_size / self.side

    def _origin(self) -> np.ndarray:
        return np.array([self.cx - self.side / 2, self.cy - self.side / 2])

    def crop(self, image: np.ndarray, out_size: int) -> np.ndarray:
        """(H, W, C) image -> (out_size, out_size, C) crop; outside the image the border is replicated."""
        s = self._scale(out_size)
        x0, y0 = self._origin()
        src = image
        if s < 0.5:  # shrink with area averaging first so that the crop does not alias
            src = cv2.resize(image, None, fx=2.0 * s, fy=2.0 * s, interpolation=cv2.INTER_AREA)
        pre_x = src.shape[1] / image.shape[1]
        pre_y = src.shape[0] / image.shape[0]
        # Pixel centres sit at integer coordinates in image, pre-scaled image and crop alike.
        mat = np.array([
            [s / pre_x, 0.0, 0.5 * s / pre_x - s * x0 - 0.5],
            [0.0, s / pre_y, 0.5 * s / pre_y - s * y0 - 0.5],
        ])
        return cv2.warpAffine(src, mat, (out_size, out_size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)

    def to_crop(self, points: np.ndarray, out_size: int) -> np.ndarray:
        """(N, 2) image pixel coordinates -> (N, 2) pixel coordinates in the crop."""
        pts = np.asarray(points, dtype=np.float64)[:, :2]
        s = self._scale(out_size)
        return ((pts - self._origin()) * s + 0.5 * s - 0.5).astype(np.float32)

    def to_image(self, points: np.ndarray, out_size: int) -> np.ndarray:
        """(N, 2) crop pixel coordinates -> (N, 2) image pixel coordinates."""
        pts = np.asarray(points, dtype=np.float64)[:, :2]
        s = self._scale(out_size)
        return ((pts + 0.5 - 0.5 * s) / s + self._origin()).astype(np.float32)


def median_box(boxes: list[CropBox]) -> CropBox:
    """One box for a whole clip: the median centre and the median side of the frames' boxes (the head moves
    within it as it moves within the portrait's box in the app)."""
    if not boxes:
        raise ValueError("median_box needs at least one box")
    cx, cy, side = np.median(np.array([(b.cx, b.cy, b.side) for b in boxes]), axis=0)
    return CropBox(float(cx), float(cy), float(side))
