"""The backward source map of one warped frame: for every output pixel, where in the portrait to sample it.

Three zones, one continuous map: inside the mesh (face landmarks out to a ring around the head at HEAD_ZONE
face-oval radii) the mesh's piecewise-affine map; from the ring out to FALLOFF_END radii the head's
similarity (hair, ears, neck) fading out with a smoothstep, faster below the chin (the neck and shoulders
move less than the head); beyond, the background maps to itself. The band is bounded: a head motion that
would fold it is scaled down (`fit_head_to_band`) rather than spread over the whole picture. The map is
computed on a coarse grid (every `step`-th pixel, vectorised) and upsampled linearly; where it bends
sharply (each eye, the lips) small patches are computed at every pixel instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.face import topology as topo
from engine.warp.motion import Similarity
from engine.warp.raster import affine_dst_to_src, in_grid_units, rasterise_source_map

HEAD_ZONE = 1.3  # in face-oval radii: the mesh's head ring, out to which the head moves rigidly (hair, ears)
FALLOFF_END = 3.0  # in face-oval radii: the head's motion has faded out here; the background beyond stays put
NECK_STIFFNESS = 0.8  # below the chin the falloff runs this much faster at first: the neck moves less than the head
SQUEEZE_KNEE = 0.9  # fold load (1 - area ratio of the band's backward map) up to which the head moves as driven
MAX_SQUEEZE = 0.99  # fold load the band may reach at most: beyond, the head's motion is scaled down (never folds)
_PATCH_MARGIN = 3  # pixels around the eyes and lips computed exactly
# exact patches: each eye and the lips (all rasterised in the same pass as the coarse grid, so three small
# patches cost less than the one box around all three, which held the nose and cheeks as well)
_PATCH_POINTS = (list(topo.RIGHT_EYE), list(topo.LEFT_EYE), list(topo.OUTER_LIPS))


@dataclass(frozen=True)
class HeadShape:
    """The portrait's face as an ellipse: centre (2,) and axes (2, 2), columns the half-axes in pixels."""

    centre: np.ndarray
    axes: np.ndarray
    down: np.ndarray  # (2,) unit vector forehead -> chin
    band_points: np.ndarray  # (N, 2) portrait points sampling the falloff band, where its fold load is measured

    @classmethod
    def of(cls, landmarks: np.ndarray) -> HeadShape:
        """Ellipse with the face oval's centre and second moments (points on an ellipse: cov = A A^T / 2)."""
        oval = landmarks[list(topo.FACE_OVAL)]
        centre = oval.mean(axis=0)
        cov = np.cov((oval - centre).T, bias=True)
        vals, vecs = np.linalg.eigh(cov)
        axes = vecs * np.sqrt(2.0 * np.maximum(vals, 1e-6))
        down = landmarks[topo.CHIN] - landmarks[topo.FOREHEAD]
        angle = np.linspace(0.0, 2 * np.pi, 40, endpoint=False)
        circle = np.stack([np.cos(angle), np.sin(angle)], 1) @ axes.T  # (40, 2)
        radii = np.linspace(HEAD_ZONE, FALLOFF_END, 9)
        band = (centre + radii[:, None, None] * circle).reshape(-1, 2)
        return cls(centre, axes, down / max(np.linalg.norm(down), 1e-9), band)

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


def follow_weight(shape: HeadShape, points: np.ndarray) -> np.ndarray:
    """(..., 2) portrait points -> (...,) share of the head's motion they take: 1 on the head, 0 from FALLOFF_END."""
    t = np.clip((shape.radius(points) - HEAD_ZONE) / (FALLOFF_END - HEAD_ZONE), 0.0, 1.0)
    fade = t * t * (3.0 - 2.0 * t)
    x, y = points[..., 0] - shape.centre[0], points[..., 1] - shape.centre[1]
    below = np.clip((x * shape.down[0] + y * shape.down[1]) / np.maximum(np.sqrt(x * x + y * y), 1e-9), 0.0, 1.0)
    return (1.0 - fade) * (1.0 - NECK_STIFFNESS * below * fade)  # C1 at the ring: no crease around the head


def outside_map(head: Similarity, shape: HeadShape, px: np.ndarray) -> np.ndarray:
    """(..., 2) output pixels outside the mesh -> their source: the head's inverse motion, faded by follow_weight."""
    rigid = head.inverse().apply(px)
    return px + follow_weight(shape, rigid)[..., None] * (rigid - px)


def band_squeeze(head: Similarity, shape: HeadShape) -> float:
    """Fold load of the falloff band: 1 - the smallest area ratio of its backward map (>= 1 would fold it)."""
    px = head.apply(shape.band_points)  # (N, 2) output points in the band
    eps = 0.5
    n = len(px)
    mapped = outside_map(head, shape, np.concatenate([px, px + [eps, 0.0], px + [0.0, eps]]))  # one pass: 3 N
    dx = (mapped[n : 2 * n] - mapped[:n]) / eps
    dy = (mapped[2 * n :] - mapped[:n]) / eps
    return float(1.0 - (dx[:, 0] * dy[:, 1] - dx[:, 1] * dy[:, 0]).min())


def fit_head_to_band(head: Similarity, shape: HeadShape) -> Similarity:
    """The head motion scaled towards rest just enough that the bounded band never folds.

    Up to SQUEEZE_KNEE the motion is kept as driven; above, the fold load saturates smoothly at MAX_SQUEEZE
    (the load grows about linearly with the motion's share, so a few rescaled tries settle it).
    """
    load = band_squeeze(head, shape)
    if load <= SQUEEZE_KNEE:
        return head
    room = MAX_SQUEEZE - SQUEEZE_KNEE
    target = SQUEEZE_KNEE + room * np.tanh((load - SQUEEZE_KNEE) / room)
    share = 1.0
    for _ in range(4):
        share *= target / load
        fitted = head.towards_rest(share)
        load = band_squeeze(fitted, shape)
        if load <= target + 1e-3:
            break
    return fitted


def _box(motion: FrameMotion) -> tuple[int, int, int, int] | None:
    h, w = motion.image_size
    moving = np.abs(motion.dst_vertices - motion.src_vertices).max(axis=1) > 1e-3
    if not moving.any():
        return None
    reach = np.concatenate([motion.head.apply(motion.shape.outline(FALLOFF_END, 64)), motion.dst_vertices])
    x0, y0 = np.clip(np.floor(reach.min(axis=0)).astype(int), 0, [w, h])
    x1, y1 = np.clip(np.ceil(reach.max(axis=0)).astype(int) + 1, 0, [w, h])
    return None if x1 <= x0 or y1 <= y0 else (int(x0), int(y0), int(x1), int(y1))


def _grid_sources(motion: FrameMotion, grids: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """Source positions (len(ys), len(xs), 2) float32 of each output pixel grid xs x ys (image pixels).

    All grids in one pass: the outside map over their points at once, then one scan conversion.
    """
    shapes = np.array([(len(ys), len(xs)) for xs, ys in grids], dtype=np.int64)
    sizes = shapes.prod(axis=1)
    starts = np.cumsum(sizes) - sizes
    px = np.concatenate([np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2) for xs, ys in grids])
    flat = outside_map(motion.head, motion.shape, px).astype(np.float32)  # (M, 2)
    dst = motion.dst_vertices[motion.triangles]  # (T, 3, 2)
    affine = affine_dst_to_src(dst, motion.src_vertices[motion.triangles])  # (T, 6), once for every grid
    d_lo, d_hi = dst.min(axis=1), dst.max(axis=1)
    tris, maps, tri_shape, tri_start = [], [], [], []
    for g, (xs, ys) in enumerate(grids):
        step_x = xs[1] - xs[0] if len(xs) > 1 else 1.0
        step_y = ys[1] - ys[0] if len(ys) > 1 else 1.0
        near = ((d_hi[:, 0] >= xs[0]) & (d_hi[:, 1] >= ys[0]) & (d_lo[:, 0] <= xs[-1]) & (d_lo[:, 1] <= ys[-1]))
        tris.append(np.stack([(dst[near, :, 0] - xs[0]) / step_x, (dst[near, :, 1] - ys[0]) / step_y], axis=-1))
        maps.append(in_grid_units(affine[near], (xs[0], ys[0]), (step_x, step_y)))
        tri_shape.append(np.broadcast_to(shapes[g], (int(near.sum()), 2)))
        tri_start.append(np.full(int(near.sum()), starts[g]))
    rasterise_source_map(np.concatenate(tris), np.concatenate(maps), np.concatenate(tri_shape),
                         np.concatenate(tri_start), flat)
    return [flat[a : a + n].reshape(int(r), int(c), 2) for a, n, (r, c) in zip(starts, sizes, shapes, strict=True)]


def build_source_map(motion: FrameMotion, step: int) -> SourceMap | None:
    """The frame's backward map, or None when nothing moves (the output is the portrait itself)."""
    box = _box(motion)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    gw, gh = -(-(x1 - x0) // step) + 2, -(-(y1 - y0) // step) + 2
    offset = (step - 1) / 2.0 - step
    xs, ys = x0 + offset + step * np.arange(gw, dtype=np.float64), y0 + offset + step * np.arange(gh, dtype=np.float64)
    grids = [(xs, ys)]
    corners = []
    if step > 1:
        for points in _PATCH_POINTS:
            pts = motion.dst_vertices[points]
            px0, py0 = np.clip(np.floor(pts.min(axis=0)).astype(int) - _PATCH_MARGIN, [x0, y0], [x1, y1])
            px1, py1 = np.clip(np.ceil(pts.max(axis=0)).astype(int) + _PATCH_MARGIN + 1, [x0, y0], [x1, y1])
            if px1 > px0 and py1 > py0:
                corners.append((int(py0 - y0), int(px0 - x0)))
                grids.append((np.arange(px0, px1, dtype=np.float64), np.arange(py0, py1, dtype=np.float64)))
    maps = _grid_sources(motion, grids)
    return SourceMap(box, step, maps[0], [(*corner, patch) for corner, patch in zip(corners, maps[1:], strict=True)])
