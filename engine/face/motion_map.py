"""Motion map: retargeted landmarks drawn as a few image channels, the DiT's motion condition.

Channel 0: face oval and nose; channel 1: eyes, brows and irises; channel 2: outer and inner lips.
Lines are antialiased with sub-pixel precision, so a landmark moving by a fraction of a pixel still changes
the map, and the output is deterministic (pure OpenCV rasterisation, no randomness).
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.face import topology as topo

_SHIFT = 4  # fixed-point bits of sub-pixel precision for cv2 drawing

CHANNEL_EDGES: tuple[tuple[tuple[int, int], ...], ...] = (
    topo.loop_edges(topo.FACE_OVAL) + topo.NOSE_EDGES,
    topo.loop_edges(topo.RIGHT_EYE) + topo.loop_edges(topo.LEFT_EYE)
    + topo.path_edges(topo.RIGHT_EYEBROW_UPPER) + topo.path_edges(topo.RIGHT_EYEBROW_LOWER)
    + topo.path_edges(topo.LEFT_EYEBROW_UPPER) + topo.path_edges(topo.LEFT_EYEBROW_LOWER)
    + topo.loop_edges(topo.RIGHT_IRIS[1:]) + topo.loop_edges(topo.LEFT_IRIS[1:]),
    topo.loop_edges(topo.OUTER_LIPS) + topo.loop_edges(topo.INNER_LIPS),
)


class MotionRenderer:
    """Draws (478, 2) landmarks, in pixels of a size x size crop, as a (3, size, size) float32 map in [0, 1]."""

    def __init__(self, size: int, thickness: int | None = None) -> None:
        self.size = size
        self.thickness = thickness if thickness is not None else max(1, round(size / 128))
        self._edges = [np.array(edges, dtype=np.int64) for edges in CHANNEL_EDGES]
        self._canvas = np.zeros((size, size), dtype=np.uint8)

    @property
    def channels(self) -> int:
        """Number of output channels."""
        return len(self._edges)

    def render(self, landmarks: np.ndarray) -> np.ndarray:
        """(478, 2|3) landmarks -> (3, size, size) float32 in [0, 1]."""
        fixed = np.round(np.asarray(landmarks, dtype=np.float64)[:, :2] * (1 << _SHIFT)).astype(np.int32)
        out = np.empty((len(self._edges), self.size, self.size), dtype=np.float32)
        for c, edges in enumerate(self._edges):
            self._canvas.fill(0)
            segments = list(fixed[edges])  # each (2, 2): one segment as a two-point polyline
            cv2.polylines(self._canvas, segments, False, 255, self.thickness, cv2.LINE_AA, _SHIFT)
            np.multiply(self._canvas, 1.0 / 255.0, out=out[c], casting="unsafe")
        return out
