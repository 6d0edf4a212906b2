"""The backward source map of one warped frame: for every output pixel, where in the portrait to sample it.

Three zones, one continuous map: inside the mesh (face landmarks out to a ring around the head) the mesh's
piecewise-affine map; around it the head's similarity (hair, ears, neck), fading out with a smoothstep over
a wide band into the background, which maps to itself. The map is computed on a coarse grid (every
`step`-th pixel, vectorised) and upsampled linearly; where it bends sharply (eyes, mouth) one patch is
computed at every pixel instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine import face_topology as topo
from engine.warp_motion import Similarity
from engine.warp_raster import rasterise_source_map

HEAD_ZONE = 1.6  # in face-oval radii: out to here the head moves rigidly (the mesh's ring sits inside)
MIN_FALLOFF = 1.6  # in face-oval radii: narrowest band over which the head's motion fades into the background
_PATCH_MARGIN = 3  # pixels around the eyes and lips computed exactly
_PATCH_POINTS = list(topo.RIGHT_EYE + topo.LEFT_EYE + topo.OUTER_LIPS)  # one patch: one call beats three


@dataclass(frozen=True)
class HeadShape:
    """The portrait's face as an ellipse: centre (2,) and axes (2, 2), columns the half-axes in pixels."""

    centre: np.ndarray
    axes: np.ndarray

    @classmethod
    def of(cls, landmarks: np.ndarray) -> HeadShape:
        """Ellipse with the face oval's centre and second moments (points on an ellipse: cov = A A^T / 2)."""
        oval = landmarks[list(topo.FACE_OVAL)]
        centre = oval.mean(axis=0)
        cov = np.cov((oval - centre).T, bias=True)
        vals, vecs = np.linalg.eigh(cov)
        return cls(centre, vecs * np.sqrt(2.0 * np.maximum(vals, 1e-6)))

    def radius(self, points: np.ndarray) -> np.ndarray:
        """(..., 2) portrait points -> (...,) their distance from the centre in face-oval radii."""
        (a, b), (c, d) = self.axes
        inv = np.array([[d, -b], [-c, a]]) / (a * d - b * c)  # closed form: np.linalg.inv costs ~0.5 ms here
        x, y = points[..., 0] - self.centre[0], points[..., 1] - self.centre[1]
        u, v = inv[0, 0] * x + inv[0, 1] * y, inv[1, 0] * x + inv[1, 1] * y
        return np.sqrt(u * u + v * v)

    def outline(self, radius: float, count: int = 32) -> np.ndarray:
        """(count, 2) points on the ellipse scaled by `radius`."""
        angle = np.linspace(0.0, 2 * np.pi, count, endpoint=False)
        return self.centre + radius * np.stack([np.cos(angle), np.sin(angle)], 1) @ self.axes.T


@dataclass
class SourceMap:
    """Backward map of the output box (x0, y0, x1, y1): coarse grid + exact patches; outside, the identity."""

    box: tuple[int, int, int, int]
    step: int
    coarse: np.ndarray  # (gh, gw, 2) float32 source (x, y) at box pixels (x0 + step (j - 1) + (step - 1) / 2, ...)
    patches: list[tuple[int, int, np.ndarray]] = field(default_factory=list)  # (y, x, (h, w, 2)) in box pixels


@dataclass(frozen=True)
class FrameMotion:
    """Everything the map needs about one frame: mesh vertices in portrait and output, and the head motion."""

    src_vertices: np.ndarray  # (V, 2)
    dst_vertices: np.ndarray  # (V, 2)
    triangles: np.ndarray  # (T, 3)
    head: Similarity
    shape: HeadShape
    image_size: tuple[int, int]  # (H, W)


def _falloff_band(motion: FrameMotion) -> float:
    """Width (in face-oval radii) of the fade from head to background: wide enough that it never folds."""
    rim = motion.head.apply(motion.shape.outline(HEAD_ZONE + MIN_FALLOFF))
    inverse = _inverse(motion.head)
    shift = np.linalg.norm(inverse.apply(rim) - rim, axis=1).max()
    short_axis = np.linalg.svd(motion.shape.axes, compute_uv=False).min() * abs(motion.head.z)
    return max(MIN_FALLOFF, 3.0 * shift / max(short_axis, 1e-6))  # smoothstep slope 1.5/band: |dw| |shift| <= 0.5


def _inverse(head: Similarity) -> Similarity:
    return Similarity(1.0 / head.z, head.dst_centre, head.src_centre)


def _box(motion: FrameMotion, band: float) -> tuple[int, int, int, int] | None:
    h, w = motion.image_size
    moving = np.abs(motion.dst_vertices - motion.src_vertices).max(axis=1) > 1e-3
    if not moving.any():
        return None
    reach = np.concatenate([motion.head.apply(motion.shape.outline(HEAD_ZONE + band)), motion.dst_vertices])
    x0, y0 = np.clip(np.floor(reach.min(axis=0)).astype(int), 0, [w, h])
    x1, y1 = np.clip(np.ceil(reach.max(axis=0)).astype(int) + 1, 0, [w, h])
    return None if x1 <= x0 or y1 <= y0 else (int(x0), int(y0), int(x1), int(y1))


def _grid_sources(motion: FrameMotion, band: float, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Source positions (len(ys), len(xs), 2) float32 of the output pixel grid xs x ys (image pixels)."""
    px = np.stack(np.meshgrid(xs, ys), axis=-1)  # (gh, gw, 2)
    rigid = _inverse(motion.head).apply(px.reshape(-1, 2)).reshape(px.shape)
    t = np.clip((motion.shape.radius(rigid) - HEAD_ZONE) / band, 0.0, 1.0)
    follow = 1.0 - t * t * (3.0 - 2.0 * t)
    out = (px + follow[..., None] * (rigid - px)).astype(np.float32)
    step_x = xs[1] - xs[0] if len(xs) > 1 else 1.0
    step_y = ys[1] - ys[0] if len(ys) > 1 else 1.0
    dst = motion.dst_vertices[motion.triangles]  # (T, 3, 2)
    grid_tris = np.stack([(dst[..., 0] - xs[0]) / step_x, (dst[..., 1] - ys[0]) / step_y], axis=-1)
    lo, hi = grid_tris.min(axis=1), grid_tris.max(axis=1)
    near = (hi[:, 0] >= 0) & (hi[:, 1] >= 0) & (lo[:, 0] <= len(xs) - 1) & (lo[:, 1] <= len(ys) - 1)
    src = motion.src_vertices[motion.triangles]
    rasterise_source_map(grid_tris[near], src[near], out.shape[:2], out)
    return out


def build_source_map(motion: FrameMotion, step: int) -> SourceMap | None:
    """The frame's backward map, or None when nothing moves (the output is the portrait itself)."""
    band = _falloff_band(motion)
    box = _box(motion, band)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    gw, gh = -(-(x1 - x0) // step) + 2, -(-(y1 - y0) // step) + 2
    offset = (step - 1) / 2.0 - step
    xs = x0 + offset + step * np.arange(gw, dtype=np.float64)
    ys = y0 + offset + step * np.arange(gh, dtype=np.float64)
    source = SourceMap(box, step, _grid_sources(motion, band, xs, ys))
    if step == 1:
        return source
    pts = motion.dst_vertices[_PATCH_POINTS]
    px0, py0 = np.clip(np.floor(pts.min(axis=0)).astype(int) - _PATCH_MARGIN, [x0, y0], [x1, y1])
    px1, py1 = np.clip(np.ceil(pts.max(axis=0)).astype(int) + _PATCH_MARGIN + 1, [x0, y0], [x1, y1])
    if px1 > px0 and py1 > py0:
        grid = _grid_sources(motion, band, np.arange(px0, px1, dtype=np.float64), np.arange(py0, py1, dtype=np.float64))
        source.patches.append((int(py0 - y0), int(px0 - x0), grid))
    return source
