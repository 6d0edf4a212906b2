"""Vectorised scan conversion of a triangle mesh into a backward source map on a regular grid.

Every triangle is cut into one span per grid row it crosses, all triangles at once (np.repeat over the
row counts, then over the span lengths), so no Python loop runs over the ~1,000 triangles of the face mesh.
Inside a triangle the source position is its affine map of the grid point: piecewise affine, continuous
across shared edges.
"""

from __future__ import annotations

import numpy as np

_EDGES = ((0, 1), (1, 2), (2, 0))


def affine_dst_to_src(d: np.ndarray, s: np.ndarray) -> np.ndarray:
    """(T, 3, 2) target and source triangles -> (T, 6) maps src = (a x + b y + c, d x + e y + f).

    Closed-form 2x2 inverse per triangle; degenerate target triangles cover no grid point and get the identity.
    """
    e1, e2 = d[:, 1] - d[:, 0], d[:, 2] - d[:, 0]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    good = np.abs(det) > 1e-9
    det = np.where(good, det, 1.0)
    # inverse of [[e1x, e2x], [e1y, e2y]]: barycentric (u, v) = inv @ (p - d0)
    inv = np.stack([np.stack([e2[:, 1], -e2[:, 0]], 1), np.stack([-e1[:, 1], e1[:, 0]], 1)], 1) / det[:, None, None]
    f1, f2 = s[:, 1] - s[:, 0], s[:, 2] - s[:, 0]
    basis = np.stack([f1, f2], axis=2)  # (T, 2, 2) columns: source edges
    lin = (basis[:, :, :, None] * inv[:, None, :, :]).sum(axis=2)  # (T, 2, 2): src offset = lin @ (p - d0)
    offset = s[:, 0] - (lin * d[:, None, 0]).sum(axis=2)
    out = np.concatenate([lin[:, 0], offset[:, :1], lin[:, 1], offset[:, 1:]], axis=1)
    out[~good] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    return out


def in_grid_units(affine: np.ndarray, origin: tuple[float, float], step: tuple[float, float]) -> np.ndarray:
    """(T, 6) maps of image pixels -> the same maps of grid points (col j, row i) at origin + step * (j, i)."""
    a, b, c, d, e, f = affine.T
    (ox, oy), (sx, sy) = origin, step
    return np.stack([a * sx, b * sy, a * ox + b * oy + c, d * sx, e * sy, d * ox + e * oy + f], axis=1)


def rasterise_source_map(dst_tris: np.ndarray, affine: np.ndarray, grid_shape: np.ndarray, grid_start: np.ndarray,
                         flat_map: np.ndarray) -> None:
    """Write, for every grid point covered by a triangle, its source position into `flat_map` in place.

    Several grids (a coarse one and exact patches) are filled in one pass: each triangle names its own.
    dst_tris: (T, 3, 2) triangles in their grid's units (grid point (row i, col j) sits at (x=j, y=i));
    affine: (T, 6) each triangle's map from its grid's units to source pixels (`in_grid_units`);
    grid_shape (T, 2) (rows, cols) of each triangle's grid, grid_start (T,) where that grid starts in
    flat_map (M, 2) float32 (grids row-major).
    """
    if len(dst_tris) == 0:
        return
    rows, cols = grid_shape[:, 0], grid_shape[:, 1]
    ys = dst_tris[:, :, 1]
    r_lo = np.maximum(np.ceil(ys.min(axis=1) - 1e-9), 0).astype(np.int64)
    r_hi = np.minimum(np.floor(ys.max(axis=1) + 1e-9), rows - 1).astype(np.int64)
    rows_per_tri = np.maximum(r_hi - r_lo + 1, 0)
    tri = np.repeat(np.arange(len(dst_tris)), rows_per_tri)  # (P,) one entry per (triangle, row)
    first = np.cumsum(rows_per_tri) - rows_per_tri
    row = r_lo[tri] + np.arange(len(tri)) - first[tri]
    # Per triangle edge (T, 3): its y range and x as a line in y; then all spans' three edges at once.
    pa, pb = dst_tris, dst_tris[:, [1, 2, 0]]
    e_lo, e_hi = np.minimum(pa[..., 1], pb[..., 1]), np.maximum(pa[..., 1], pb[..., 1])
    dy = pb[..., 1] - pa[..., 1]
    level = np.abs(dy) <= 1e-12
    slope = (pb[..., 0] - pa[..., 0]) / np.where(level, 1.0, dy)
    x_at_0 = pa[..., 0] - slope * pa[..., 1]
    x_lo, x_hi = np.minimum(pa[..., 0], pb[..., 0]), np.maximum(pa[..., 0], pb[..., 0])
    y = row.astype(np.float64)[:, None]  # (P, 1)
    crosses = (e_lo[tri] <= y + 1e-9) & (y - 1e-9 <= e_hi[tri]) & ~level[tri]  # (P, 3)
    x = np.clip(x_at_0[tri] + slope[tri] * y, x_lo[tri], x_hi[tri])  # clipped: no overshoot past an edge's end
    x_min = np.where(crosses, x, np.inf).min(axis=1)
    x_max = np.where(crosses, x, -np.inf).max(axis=1)
    c_lo = np.maximum(np.ceil(x_min - 1e-6), 0)
    c_hi = np.minimum(np.floor(x_max + 1e-6), cols[tri] - 1)
    lengths = np.where(np.isfinite(c_lo) & np.isfinite(c_hi), np.maximum(c_hi - c_lo + 1, 0), 0).astype(np.int64)
    span = np.repeat(np.arange(len(tri)), lengths)  # (N,) one entry per covered grid point
    start = np.cumsum(lengths) - lengths
    col = c_lo[span].astype(np.int64) + np.arange(len(span)) - start[span]
    row_px = row[span]
    ids = tri[span]
    affine = affine[ids]  # (N, 6)
    cx, cy = col.astype(np.float64), row_px.astype(np.float64)
    lin = grid_start[ids] + row_px * cols[ids] + col
    flat_map[lin, 0] = affine[:, 0] * cx + affine[:, 1] * cy + affine[:, 2]
    flat_map[lin, 1] = affine[:, 3] * cx + affine[:, 4] * cy + affine[:, 5]
