"""What an open mouth looks like inside, learnt from real video: the mean interior by how far the mouth is open.

Coordinates are the mouth's own: q runs 0 -> 1 from the left to the right inner-lip corner, t 0 -> 1 from the
upper to the lower inner lip at that q (the mouth's axis is the line through the corners, so a tilted head
changes nothing). Colours are stored as ratios to the face's own skin colour (the median of cheek samples), so
the same prior lights and tints itself for any portrait. Built by `main.py mouth-prior` from the training clips
(engine/data/mouth_samples.py); the shipped one is assets/mouth/mouth_prior.npz.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.assets import MOUTH_PRIOR_FILE
from engine.errors import KnotCamError
from engine.face import topology as topo

ROWS, COLS = 16, 32  # the prior's grid: t (upper to lower lip) by q (left to right corner)
_UPPER = np.array(topo.INNER_LIP_UPPER, dtype=np.intp)
_LOWER = np.array(topo.INNER_LIP_LOWER, dtype=np.intp)
_LEFT, _RIGHT = topo.INNER_LIP_UPPER[0], topo.INNER_LIP_UPPER[-1]
_MIDDLE = np.linspace(0.25, 0.75, 9)  # where the opening is measured across the mouth
CHEEKS = np.array([50, 280, 101, 330, 205, 425, 187, 411, 116, 345], dtype=np.intp)  # skin, clear of beard lines


@dataclass(frozen=True)
class MouthAxes:
    """A mouth's frame: origin at the left inner corner, unit axes along the corners and across (down)."""

    origin: np.ndarray  # (2,)
    along: np.ndarray  # (2,) unit, left -> right corner
    down: np.ndarray  # (2,) unit, perpendicular, towards the chin (image y points down)
    width: float  # corner to corner, pixels
    top: tuple[np.ndarray, np.ndarray]  # the upper inner lip as (q, v) samples sorted by q (v: across / width)
    bottom: tuple[np.ndarray, np.ndarray]  # the lower inner lip likewise

    @classmethod
    def of(cls, landmarks: np.ndarray) -> MouthAxes:
        """From (478, 2) landmarks."""
        a, b = landmarks[_LEFT].astype(np.float64), landmarks[_RIGHT].astype(np.float64)
        width = max(float(np.linalg.norm(b - a)), 1e-6)
        along = (b - a) / width
        down = np.array([-along[1], along[0]])

        def curve(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            rel = landmarks[ids].astype(np.float64) - a
            q, v = rel @ along / width, rel @ down / width
            order = np.argsort(q, kind="stable")
            return q[order], v[order]

        return cls(a, along, down, width, curve(_UPPER), curve(_LOWER))

    def openness(self) -> float:
        """The inner lips' mean gap over the middle half of the mouth, in mouth widths (0: shut)."""
        return float(np.mean(np.interp(_MIDDLE, *self.bottom) - np.interp(_MIDDLE, *self.top)))

    def coordinates(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel positions (broadcastable xs, ys) -> their (q, t), both clipped to [0, 1]."""
        dx, dy = xs - self.origin[0], ys - self.origin[1]
        q = (dx * self.along[0] + dy * self.along[1]) / self.width
        v = (dx * self.down[0] + dy * self.down[1]) / self.width
        top, bottom = np.interp(q, *self.top), np.interp(q, *self.bottom)
        t = (v - top) / np.maximum(bottom - top, 1.0 / self.width)
        return np.clip(q, 0.0, 1.0), np.clip(t, 0.0, 1.0)

    def points(self, q: np.ndarray, t: np.ndarray) -> np.ndarray:
        """(q, t) grid coordinates (broadcastable) -> (..., 2) pixel positions (the inverse of `coordinates`)."""
        top, bottom = np.interp(q, *self.top), np.interp(q, *self.bottom)
        v = top + t * (bottom - top)
        q, v = np.broadcast_arrays(q, v)
        return self.origin + (q[..., None] * self.along + v[..., None] * self.down) * self.width


def skin_colour(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(3,) float32 median colour of an (H, W, 3) image at the cheek landmarks of (478, 2) `landmarks`."""
    h, w = image.shape[:2]
    pts = np.rint(landmarks[CHEEKS]).astype(int)
    xs, ys = np.clip(pts[:, 0], 0, w - 1), np.clip(pts[:, 1], 0, h - 1)
    return np.median(image[ys, xs].astype(np.float32), axis=0).astype(np.float32)


@dataclass(frozen=True)
class MouthPrior:
    """Mean mouth interiors (colour / skin colour) at a few openings, interpolated between them."""

    openness: np.ndarray  # (B,) increasing: the openings the interiors were averaged at (bin centres)
    colour: np.ndarray  # (B, ROWS, COLS, 3) float32 ratios to the skin colour
    frames: np.ndarray  # (B,) how many real frames each interior averages

    def interior(self, openness: float) -> np.ndarray:
        """(ROWS, COLS, 3) ratios at an opening (linear between the stored ones, clamped at the ends)."""
        # Python scalars: per frame, numpy's calls on two numbers cost more than the arithmetic
        i = min(max(int(np.searchsorted(self.openness, openness)) - 1, 0), len(self.openness) - 2)
        lo, hi = float(self.openness[i]), float(self.openness[i + 1])
        w = np.float32(min(max((openness - lo) / (hi - lo), 0.0), 1.0))
        return self.colour[i] + w * (self.colour[i + 1] - self.colour[i])

    def sample(self, openness: float, q: np.ndarray, t: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
        """(h, w) mouth coordinates -> (h, w, 3) float32 ratios (bilinear over the grid), times `scale` (3,)
        when given (a colour: applied to the 16 x 32 grid, not to every pixel)."""
        grid = self.interior(openness)
        if scale is not None:
            grid = grid * np.asarray(scale, dtype=np.float32)
        mx, my = (q * COLS - 0.5).astype(np.float32), (t * ROWS - 0.5).astype(np.float32)
        return cv2.remap(grid, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, openness=self.openness, colour=self.colour.astype(np.float16), frames=self.frames)

    @classmethod
    def load(cls, path: Path = MOUTH_PRIOR_FILE) -> MouthPrior:
        try:
            with np.load(path) as z:
                prior = cls(z["openness"].astype(np.float64), z["colour"].astype(np.float32), z["frames"])
        except (OSError, KeyError, ValueError) as e:
            raise KnotCamError(f"the mouth prior {path} is missing or damaged ({e}); reinstall KnotCam or "
                               "rebuild it with `main.py mouth-prior`") from e
        if prior.colour.shape[1:] != (ROWS, COLS, 3) or len(prior.openness) < 2:
            raise KnotCamError(f"the mouth prior {path} has the wrong shape {prior.colour.shape}")
        return prior
