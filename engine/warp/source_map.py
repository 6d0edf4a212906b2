"""The backward source map of one warped frame: for every output pixel, where in the portrait to sample it.

Three zones, one continuous map: inside the mesh (face landmarks out to a ring around the head at HEAD_ZONE
face-oval radii) the mesh's piecewise-affine map; from the ring out to FALLOFF_END radii the head's
similarity (hair, ears, neck) fading out with a smoothstep, faster below the chin (the neck and shoulders
move less than the head); beyond, the background maps to itself. On top of the similarity, the face
outline's own motion (a turn narrows the far cheek and widens the near one) carries the ring and what lies
just outside it along (`OutlineSpokes`), fading out by OUTLINE_REACH radii: the ears and the hair beside
the cheeks stay on the cheeks instead of tearing away from them. The band is bounded: a head motion that
would fold it is scaled down (`fit_head_to_band`) rather than spread over the whole picture. The map is
computed on a coarse grid (every `step`-th pixel, vectorised) and upsampled linearly; where it bends
sharply (each eye, the lips) small patches are computed at every pixel instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from engine.face import topology as topo
from engine.warp.motion import Similarity
from engine.warp.raster import affine_dst_to_src, in_grid_units, max3, min3, rasterise_source_map

HEAD_ZONE = 1.3  # in face-oval radii: the mesh's head ring, out to which the head moves rigidly (hair, ears)
FALLOFF_END = 3.0  # in face-oval radii: the head's motion has faded out here; the background beyond stays put
NECK_STIFFNESS = 0.8  # below the chin the falloff runs this much faster at first: the neck moves less than the head
SQUEEZE_KNEE = 0.9  # fold load (1 - area ratio of the band's backward map) up to which the head moves as driven
MAX_SQUEEZE = 0.99  # fold load the band may reach at most: beyond, the head's motion is scaled down (never folds)
_PATCH_MARGIN = 3  # pixels around the eyes and lips computed exactly
# exact patches: each eye and the lips (all rasterised in the same pass as the coarse grid, so three small
# patches cost less than the one box around all three, which held the nose and cheeks as well)
_PATCH_POINTS = (topo.RIGHT_EYE, topo.LEFT_EYE, topo.OUTER_LIPS)
_PATCH_ALL = np.array(sum(_PATCH_POINTS, ()), dtype=np.intp)
_PATCH_STARTS = np.cumsum([0] + [len(points) for points in _PATCH_POINTS[:-1]])
OUTLINE_REACH = 2.6  # in face-oval radii: the face outline's own motion has faded out here
# the ring moves this much more than the outline beside it: ears and hair sit further back (a depth ratio of
# ~1.45). Checked on 12 windows of the training clips (self-reenactment, 120 frames each): the warp's face PSNR
# gains +0.070 / +0.075 / +0.075 dB on average with 0.75 / 1.0 / 1.5, so the held-out clips' larger gains at
# 1.5 (seen first, in the tear) do not decide it alone
OUTLINE_FOLLOW = 1.5
OUTLINE_MAX_STEEPNESS = 0.9  # the outline field is scaled down where its slope could exceed this (no fold)
OUTLINE_ORDER = 2  # harmonics of the angle around the face that the outline's motion is smoothed to
_GRADIENT_STEP = 1e-3  # pixels: the central differences giving the falloff weight's gradient on the band


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

    @cached_property
    def band(self) -> FalloffBand:
        """The falloff band's sample points with the weight and its gradient there (per portrait, kept)."""
        return FalloffBand.of(self)

    @cached_property
    def inverse_axes(self) -> tuple[float, float, float, float]:
        """(i00, i01, i10, i11): the inverse of `axes`, in closed form (np.linalg.inv costs ~0.5 ms here)."""
        (a, b), (c, d) = self.axes
        det = a * d - b * c
        return d / det, -b / det, -c / det, a / det

    def radius(self, points: np.ndarray) -> np.ndarray:
        """(..., 2) portrait points -> (...,) their distance from the centre in face-oval radii."""
        i00, i01, i10, i11 = self.inverse_axes
        x, y = points[..., 0] - self.centre[0], points[..., 1] - self.centre[1]
        u, v = i00 * x + i01 * y, i10 * x + i11 * y
        return np.sqrt(u * u + v * v)

    @cached_property
    def falloff_outline(self) -> np.ndarray:
        """(64, 2) points on the ellipse at FALLOFF_END: the reach of the head's motion (per portrait, kept)."""
        return self.outline(FALLOFF_END, 64)

    def outline(self, radius: float, count: int = 32) -> np.ndarray:
        """(count, 2) points on the ellipse scaled by `radius`."""
        angle = np.linspace(0.0, 2 * np.pi, count, endpoint=False)
        return self.centre + radius * np.stack([np.cos(angle), np.sin(angle)], 1) @ self.axes.T


@dataclass(frozen=True)
class FalloffBand:
    """`HeadShape.band_points` as `band_squeeze` needs them at any head motion: the falloff's weight there and
    its gradient, which depend on the portrait alone."""

    points: np.ndarray  # (N,) complex: x + i y
    weights: np.ndarray  # (N,) `_follow` of each point
    gradients: np.ndarray  # (N,) complex: the weight's gradient d/dx + i d/dy, by central differences

    @classmethod
    def of(cls, shape: HeadShape) -> FalloffBand:
        x, y = shape.band_points[:, 0] - shape.centre[0], shape.band_points[:, 1] - shape.centre[1]
        h = _GRADIENT_STEP
        d_dx = (_follow(shape, x + h, y) - _follow(shape, x - h, y)) / (2 * h)
        d_dy = (_follow(shape, x, y + h) - _follow(shape, x, y - h)) / (2 * h)
        return cls(shape.band_points @ np.array([1.0, 1j]), _follow(shape, x, y), d_dx + 1j * d_dy)


def _harmonics(out: np.ndarray) -> np.ndarray:
    """Fill rows 2 .. 2N-1 of `out` (2N, ...), whose rows 0 and 1 hold cos a and sin a, with cos n a, sin n a
    for n = 2 .. OUTLINE_ORDER by the angle-sum rule, in place (few numpy calls: the outside map's hot path)."""
    c1, s1 = out[0], out[1]
    for n in range(1, OUTLINE_ORDER):
        c, s = out[2 * n - 2], out[2 * n - 1]
        np.multiply(c, c1, out=out[2 * n])
        out[2 * n] -= s * s1
        np.multiply(s, c1, out=out[2 * n + 1])
        out[2 * n + 1] += c * s1
    return out


_ORDERS = np.repeat(np.arange(1, OUTLINE_ORDER + 1), 2)  # (2N,) the order n of each coefficient A_n, B_n


@dataclass(frozen=True)
class OutlineSpokes:
    """How a frame's outline field is fitted to the face oval's motion (per portrait, built with the mesh).

    The field is a displacement (complex: dx + i dy, output pixels) as a function of the angle around the
    face ellipse: d(a) = c_0 + sum_n (A_n cos n a + B_n sin n a), n = 1 .. OUTLINE_ORDER, its 2N + 1
    complex coefficients fitted by least squares to the oval landmarks' motion beyond the head's similarity,
    times OUTLINE_FOLLOW: under a turn what lies behind the outline (ears, the hair at the back) moves further
    than the outline itself, as it sits further from the face's front."""

    fit: np.ndarray  # (2N+1, S) complex: oval residuals (S,) -> coefficients [c_0, A_1, B_1, ...]
    at_spokes: np.ndarray  # (S, 2N+1) the basis at the spokes' angles: coefficients -> the ring's displacement
    radius: float  # the face ellipse's smaller half-axis, portrait pixels

    @classmethod
    def of(cls, shape: HeadShape, landmarks: np.ndarray) -> OutlineSpokes:
        """From the portrait's landmarks (478, 2); the spokes are its face oval, in order (as the ring's)."""
        oval = landmarks[list(topo.FACE_OVAL)]
        basis = _angle_basis(shape, oval)  # (S, 2N+1)
        # Weighted least squares on the spokes above the mouth: an opening mouth moves the jaw line, not the
        # head ring (the neck and the hair above do not follow it). The jaw's spokes weigh nothing (the
        # field there is the upper outline's, continued); a small ridge keeps the fit tame.
        mouth = (landmarks[topo.OUTER_LIP_UPPER[0]] + landmarks[topo.OUTER_LIP_UPPER[-1]]) / 2
        height = float(np.linalg.norm(landmarks[topo.CHIN] - landmarks[topo.FOREHEAD]))
        above = np.clip(((mouth - oval) @ shape.down) / (0.1 * height), 0.0, 1.0)  # 1 above the mouth corners
        weight = above ** 2
        lhs = basis.T @ (weight[:, None] * basis) + 1e-3 * weight.sum() * np.eye(basis.shape[1])
        radius = float(np.linalg.svd(shape.axes, compute_uv=False).min())
        return cls(OUTLINE_FOLLOW * np.linalg.solve(lhs, basis.T * weight[None, :]), basis, radius)

    def steepness(self, coefficients: np.ndarray, head: Similarity) -> float:
        """An upper bound of the outline field's slope in the outside map (portrait pixels per pixel): its
        largest size times the fade's steepest slope, plus its largest change around the ring, over the face
        ellipse's smaller half-axis. `_follow_outline` keeps it under OUTLINE_MAX_STEEPNESS. (A tighter bound,
        the largest Jacobian on a polar grid of the fade, let extreme turns fold the map where the field meets
        the head's own falloff: this one does not, tests/test_warp.py.)"""
        moduli = np.abs(coefficients) / abs(head.z)  # as the outside map subtracts them: portrait pixels
        size, turn = float(moduli.sum()), float((_ORDERS * moduli[1:]).sum())
        return (size * 1.5 / (OUTLINE_REACH - HEAD_ZONE) + turn / HEAD_ZONE) / self.radius


def _angle_basis(shape: HeadShape, points: np.ndarray) -> np.ndarray:
    """(N, 2) portrait points -> (N, 2N+1) [1, cos a, sin a, cos 2a, ...] of their angle around the ellipse."""
    i00, i01, i10, i11 = shape.inverse_axes
    x, y = points[:, 0] - shape.centre[0], points[:, 1] - shape.centre[1]
    u, v = i00 * x + i01 * y, i10 * x + i11 * y
    rho = np.maximum(np.sqrt(u * u + v * v), 1e-9)
    rows = np.empty((2 * OUTLINE_ORDER, len(points)))
    rows[0], rows[1] = u / rho, v / rho
    return np.concatenate([np.ones((len(points), 1)), _harmonics(rows).T], axis=1)


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
    corner_coords: np.ndarray  # (6T,) the triangles' corners in a flat vertex array, as (6, T) rows (FoldGraph's)
    head: Similarity
    shape: HeadShape
    image_size: tuple[int, int]  # (H, W)
    outline: np.ndarray | None = None  # (2N+1,) complex `OutlineSpokes` coefficients, output pixels; None: none


def _falloff_weight(radius: np.ndarray, along: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """Share of the head's motion a portrait point takes: 1 on the head, 0 from FALLOFF_END, faster below the
    chin. radius: its distance from the centre in face-oval radii; along: its offset from the centre projected
    on `HeadShape.down`; norm: that offset's length."""
    t = np.minimum(np.maximum((radius - HEAD_ZONE) / (FALLOFF_END - HEAD_ZONE), 0.0), 1.0)
    fade = t * t * (3.0 - 2.0 * t)
    below = np.minimum(np.maximum(along / np.maximum(norm, 1e-9), 0.0), 1.0)
    return (1.0 - fade) * (1.0 - NECK_STIFFNESS * below * fade)  # C1 at the ring: no crease around the head


def _follow(shape: HeadShape, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """`_falloff_weight` of portrait points given as offsets x, y from the face centre (columns, not stacked)."""
    i00, i01, i10, i11 = shape.inverse_axes
    u, v = i00 * x + i01 * y, i10 * x + i11 * y  # as HeadShape.radius
    return _falloff_weight(np.sqrt(u * u + v * v), x * shape.down[0] + y * shape.down[1], np.sqrt(x * x + y * y))


def band_squeeze(head: Similarity, shape: HeadShape) -> float:
    """Fold load of the falloff band: 1 - the smallest area ratio of its backward map (>= 1 would fold it) over
    the band's sample points.

    The backward map M(p) = p + w(q) (q - p), q = R p the head's inverse motion (linear part R), has the Jacobian
    I + w (R - I) + (q - p) (R^T grad w)^T. At the output point p of a band point, q is that band point: w and
    grad w are the band's own (`FalloffBand`), only the similarity is the frame's (a few (N,) operations).
    """
    band = shape.band
    inverse = 1.0 / head.z  # R as a complex number: alpha + i beta
    centre = complex(head.src_centre[0], head.src_centre[1])
    # q - p = q - head(q) = (1 - z) (q - src_centre) - (dst_centre - src_centre)
    offset = (1.0 - head.z) * (band.points - centre) - (complex(head.dst_centre[0], head.dst_centre[1]) - centre)
    slope = band.gradients * inverse.conjugate()  # R^T grad w
    diagonal = 1.0 + band.weights * (inverse.real - 1.0)
    turn = band.weights * inverse.imag
    dx, dy, sx, sy = offset.real, offset.imag, slope.real, slope.imag
    det = (diagonal + dx * sx) * (diagonal + dy * sy) - (dx * sy - turn) * (dy * sx + turn)
    return float(1.0 - det.min())


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
    if not (np.abs(motion.dst_vertices - motion.src_vertices) > 1e-3).any():
        return None
    # the outline and the vertices as contiguous (2, N) rows, one reduce each way (min and max are exact: the
    # same box); numpy's reduce over axis 0 of an (N, 2) array costs several times more
    points = np.concatenate([motion.head.apply(motion.shape.falloff_outline), motion.dst_vertices]).T.copy()
    (lx, ly), (hx, hy) = np.floor(points.min(axis=1)).tolist(), np.ceil(points.max(axis=1)).tolist()
    x0, y0 = min(max(int(lx), 0), w), min(max(int(ly), 0), h)
    x1, y1 = min(max(int(hx) + 1, 0), w), min(max(int(hy) + 1, 0), h)
    return None if x1 <= x0 or y1 <= y0 else (x0, y0, x1, y1)


@dataclass(frozen=True)
class Grid:
    """A regular grid of output pixels: columns at x0 + step_x j, rows at y0 + step_y i (image pixels)."""

    x0: float
    y0: float
    step_x: float
    step_y: float
    cols: int
    rows: int

    def xs(self) -> np.ndarray:
        return self.x0 + self.step_x * np.arange(self.cols, dtype=np.float64)

    def ys(self) -> np.ndarray:
        return self.y0 + self.step_y * np.arange(self.rows, dtype=np.float64)


def outside_grid(head: Similarity, shape: HeadShape, xs: np.ndarray, ys: np.ndarray,
                 out: np.ndarray | None = None, outline: np.ndarray | None = None) -> np.ndarray:
    """Output pixels xs x ys outside the mesh -> their sources: the head's inverse motion, faded by
    `_falloff_weight`, less the outline field (`OutlineSpokes`; coefficients `outline`, None: none) faded out
    by OUTLINE_REACH; (len(ys), len(xs), 2) float32, written into `out` when given.

    Every quantity before the falloff weight is affine in the pixel, so it is a column term plus a row term:
    one broadcast add per full-size array instead of the stacked per-point arithmetic.
    """
    inv = head.inverse()
    a, b = inv.z.real, inv.z.imag
    gx, gy = xs - inv.src_centre[0], ys - inv.src_centre[1]
    # the rigid (portrait) point relative to the face centre: xr = xr_c[j] + xr_r[i], yr likewise
    xr_c, xr_r = a * gx + (inv.dst_centre[0] - shape.centre[0]), -b * gy
    yr_c, yr_r = b * gx, a * gy + (inv.dst_centre[1] - shape.centre[1])
    i00, i01, i10, i11 = shape.inverse_axes
    u = (i00 * xr_c + i01 * yr_c)[None, :] + (i00 * xr_r + i01 * yr_r)[:, None]
    v = (i10 * xr_c + i11 * yr_c)[None, :] + (i10 * xr_r + i11 * yr_r)[:, None]
    xr, yr = xr_c[None, :] + xr_r[:, None], yr_c[None, :] + yr_r[:, None]
    d0, d1 = shape.down
    along = (xr_c * d0 + yr_c * d1)[None, :] + (xr_r * d0 + yr_r * d1)[:, None]
    rho = np.sqrt(u * u + v * v)
    weight = _falloff_weight(rho, along, np.sqrt(xr * xr + yr * yr))
    out = np.empty((len(ys), len(xs), 2), dtype=np.float32) if out is None else out
    # source = px + weight (rigid - px), rigid - px = xr + centre - px (again a column plus a row term)
    out[..., 0] = xs[None, :] + weight * ((xr_c + shape.centre[0] - xs)[None, :] + xr_r[:, None])
    out[..., 1] = ys[:, None] + weight * (yr_c[None, :] + (yr_r + shape.centre[1] - ys)[:, None])
    if outline is not None:
        rows, cols = _outline_block(head, shape, outline, xs, ys)
        _less_outline(out[rows, cols], outline * inv.z, u[rows, cols], v[rows, cols], rho[rows, cols])
    return out


def _outline_block(head: Similarity, shape: HeadShape, outline: np.ndarray, xs: np.ndarray, ys: np.ndarray
                   ) -> tuple[slice, slice]:
    """The rows and columns of the regular grid xs x ys that the outline field can reach: the box of the head's
    motion of the OUTLINE_REACH ellipse, grown by the field's largest displacement (scalar arithmetic only)."""
    (a, b), (c, d) = shape.axes  # the ellipse's points: centre + axes @ (cos, sin)
    z = head.z
    # the moved ellipse's axes: z (a + i c), z (b + i d); its half-extents along x and y
    p, q = z * complex(a, c), z * complex(b, d)
    grow = sum(abs(k) for k in outline.tolist())  # |d(a)| <= the sum of the coefficients' moduli
    half_x = OUTLINE_REACH * math.hypot(p.real, q.real) + grow
    half_y = OUTLINE_REACH * math.hypot(p.imag, q.imag) + grow
    centre = z * complex(shape.centre[0] - head.src_centre[0], shape.centre[1] - head.src_centre[1])
    cx, cy = centre.real + head.dst_centre[0], centre.imag + head.dst_centre[1]

    def span(grid: np.ndarray, lo: float, hi: float) -> slice:
        count = len(grid)
        first, second = grid[: 2].tolist() if count > 1 else (float(grid[0]), float(grid[0]) + 1.0)
        step = second - first
        return slice(min(max(math.ceil((lo - first) / step), 0), count),
                     min(max(math.floor((hi - first) / step) + 1, 0), count))

    return span(ys, cy - half_y, cy + half_y), span(xs, cx - half_x, cx + half_x)


def _less_outline(out: np.ndarray, coefficients: np.ndarray, u: np.ndarray, v: np.ndarray, rho: np.ndarray) -> None:
    """Subtract the outline field, in portrait pixels (`coefficients` (2N+1,) complex), from the sources `out`
    (h, w, 2) of output points whose rigid sources sit at (u, v) (h, w) in face-ellipse units, radius rho.

    float32, and the harmonics as one (2, 2N) x (2N, h w) product: at a few thousand points each numpy call's
    overhead is most of its cost, so the fewer the better."""
    if not out.size:
        return
    f32 = np.float32
    r = rho.astype(f32)
    t = np.clip((r - HEAD_ZONE) * f32(1.0 / (OUTLINE_REACH - HEAD_ZONE)), 0.0, 1.0)
    keep = 1.0 - t * t * (3.0 - 2.0 * t)  # 1 inside the ring, C1 there: no crease
    np.maximum(r, f32(1e-9), out=r)
    np.reciprocal(r, out=r)
    basis = np.empty((2 * OUTLINE_ORDER, *r.shape), dtype=f32)
    np.multiply(u, r, out=basis[0], casting="same_kind")  # cos a
    np.multiply(v, r, out=basis[1], casting="same_kind")  # sin a
    _harmonics(basis)
    linear = np.array([coefficients[1:].real, coefficients[1:].imag], dtype=f32)  # (2, 2N)
    shift = (linear @ basis.reshape(len(basis), -1)).reshape(2, *r.shape)
    shift[0] += f32(coefficients[0].real)
    shift[1] += f32(coefficients[0].imag)
    out[..., 0] -= keep * shift[0]
    out[..., 1] -= keep * shift[1]


def _grid_sources(motion: FrameMotion, grids: list[Grid], exact: list[bool]) -> list[np.ndarray]:
    """Source positions (rows, cols, 2) float32 of each output pixel grid.

    A grid marked `exact` lies inside the mesh (an eye, the lips): every point gets a triangle's map, the
    outside map is only a fallback for a point no triangle covered. All grids share one scan conversion.
    """
    sizes = np.array([g.rows * g.cols for g in grids], dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    flat = np.empty((int(sizes.sum()), 2), dtype=np.float32)
    maps = [flat[a : a + n].reshape(g.rows, g.cols, 2) for a, n, g in zip(starts, sizes, grids, strict=True)]
    for g, grid_map, inside in zip(grids, maps, exact, strict=True):
        if inside:
            grid_map[...] = np.nan
        else:
            outside_grid(motion.head, motion.shape, g.xs(), g.ys(), out=grid_map, outline=motion.outline)
    coords = motion.corner_coords
    dst = motion.dst_vertices.reshape(-1).take(coords).reshape(6, -1)  # (6, T) corner rows x0, y0, .., y2
    affine = affine_dst_to_src(dst, motion.src_vertices.reshape(-1).take(coords).reshape(6, -1))  # (6, T), once
    dx, dy = dst[0::2], dst[1::2]
    lo_x, hi_x, lo_y, hi_y = min3(dx), max3(dx), min3(dy), max3(dy)
    specs = [(g.x0, g.y0, g.step_x, g.step_y, g.cols, g.rows) for g in grids]
    ox, oy, sx, sy, cols, rows = (np.array(column) for column in zip(*specs, strict=True))
    last_x, last_y = ox + sx * (cols - 1), oy + sy * (rows - 1)
    near = ((hi_x[None] >= ox[:, None]) & (hi_y[None] >= oy[:, None]) & (lo_x[None] <= last_x[:, None])
            & (lo_y[None] <= last_y[:, None]))  # (G, T): each grid's triangles, grid-major, in mesh order
    # A triangle the frame turns over (its map mirrors: lips the tracker folds at a closed smile's corners, the
    # collapsed gap's slivers) is drawn first, so that the unfolded triangles overlapping it keep their pixels
    # (the raster keeps the later one): a fold shows its neighbours' skin, not a mirrored scrap of the portrait.
    mirrored = affine[0] * affine[4] < affine[1] * affine[3]  # (T,) the map's determinant < 0
    if mirrored.any():
        order = np.concatenate([mirrored.nonzero()[0], (~mirrored).nonzero()[0]])
        which, tri = near.take(order, axis=1).nonzero()
        tri = order.take(tri)
    else:
        which, tri = near.nonzero()  # (P,) each (grid, triangle) pair
    origin, step = (ox.take(which), oy.take(which)), (sx.take(which), sy.take(which))
    units = np.empty((6, len(tri)))  # the pairs' corners in their grid's units
    units[0::2] = (dx.take(tri, axis=1) - origin[0]) / step[0]
    units[1::2] = (dy.take(tri, axis=1) - origin[1]) / step[1]
    rasterise_source_map(units, in_grid_units(affine.take(tri, axis=1), origin, step),
                         np.array([rows.take(which), cols.take(which)]), starts.take(which), flat)
    if not np.isnan(flat[:, 0]).any():  # one test for all grids (the outside map is finite): the usual case
        return maps
    for g, grid_map, inside in zip(grids, maps, exact, strict=True):
        missed = np.isnan(grid_map[..., 0]) if inside else None
        if missed is not None and missed.any():  # never seen: the mesh covers its own inside
            full = outside_grid(motion.head, motion.shape, g.xs(), g.ys(), outline=motion.outline)
            grid_map[missed] = full[missed]
    return maps


def build_source_map(motion: FrameMotion, step: int) -> SourceMap | None:
    """The frame's backward map, or None when nothing moves (the output is the portrait itself)."""
    box = _box(motion)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    gw, gh = -(-(x1 - x0) // step) + 2, -(-(y1 - y0) // step) + 2
    offset = (step - 1) / 2.0 - step
    grids = [Grid(x0 + offset, y0 + offset, float(step), float(step), gw, gh)]
    corners = []
    if step > 1:
        # every patch's points as contiguous x and y rows, one reduce per patch at once
        pts = motion.dst_vertices.take(_PATCH_ALL, axis=0).T.copy()
        lows = np.floor(np.minimum.reduceat(pts, _PATCH_STARTS, axis=1)).astype(int).T.tolist()
        highs = np.ceil(np.maximum.reduceat(pts, _PATCH_STARTS, axis=1)).astype(int).T.tolist()
        for (lx, ly), (hx, hy) in zip(lows, highs, strict=True):
            px0, py0 = min(max(lx - _PATCH_MARGIN, x0), x1), min(max(ly - _PATCH_MARGIN, y0), y1)
            px1, py1 = min(max(hx + _PATCH_MARGIN + 1, x0), x1), min(max(hy + _PATCH_MARGIN + 1, y0), y1)
            if px1 > px0 and py1 > py0:
                corners.append((int(py0 - y0), int(px0 - x0)))
                grids.append(Grid(float(px0), float(py0), 1.0, 1.0, int(px1 - px0), int(py1 - py0)))
    maps = _grid_sources(motion, grids, [False] + [True] * (len(grids) - 1))
    return SourceMap(box, step, maps[0], [(*corner, patch) for corner, patch in zip(corners, maps[1:], strict=True)])
