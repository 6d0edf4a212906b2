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


def rasterise_source_map(dst_tris: np.ndarray, src_tris: np.ndarray, shape: tuple[int, int],
                         source_map: np.ndarray) -> np.ndarray:
    """Write, for every grid point covered by a triangle, its source position into `source_map` in place.

    dst_tris: (T, 3, 2) triangles in grid units (grid point (row i, col j) sits at (x=j, y=i));
    src_tris: (T, 3, 2) the same triangles in source pixels; source_map: (gh, gw, 2) float32.
    Returns the (gh, gw) bool mask of covered grid points.
    """
    gh, gw = shape
    covered = np.zeros(gh * gw, dtype=bool)
    if len(dst_tris) == 0:
        return covered.reshape(gh, gw)
    ys = dst_tris[:, :, 1]
    r_lo = np.maximum(np.ceil(ys.min(axis=1) - 1e-9), 0).astype(np.int64)
    r_hi = np.minimum(np.floor(ys.max(axis=1) + 1e-9), gh - 1).astype(np.int64)
    rows_per_tri = np.maximum(r_hi - r_lo + 1, 0)
    tri = np.repeat(np.arange(len(dst_tris)), rows_per_tri)  # (P,) one entry per (triangle, row)
    first = np.cumsum(rows_per_tri) - rows_per_tri
    row = r_lo[tri] + np.arange(len(tri)) - first[tri]
    y = row.astype(np.float64)
    x_min = np.full(len(tri), np.inf)
    x_max = np.full(len(tri), -np.inf)
    for a, b in _EDGES:  # three edges, each vectorised over all spans
        pa, pb = dst_tris[tri, a], dst_tris[tri, b]
        dy = pb[:, 1] - pa[:, 1]
        crosses = (np.minimum(pa[:, 1], pb[:, 1]) <= y + 1e-9) & (y - 1e-9 <= np.maximum(pa[:, 1], pb[:, 1]))
        crosses &= np.abs(dy) > 1e-12
        t = np.clip((y - pa[:, 1]) / np.where(crosses, dy, 1.0), 0.0, 1.0)
        x = pa[:, 0] + t * (pb[:, 0] - pa[:, 0])
        x_min = np.where(crosses, np.minimum(x_min, x), x_min)
        x_max = np.where(crosses, np.maximum(x_max, x), x_max)
    c_lo = np.maximum(np.ceil(x_min - 1e-6), 0)
    c_hi = np.minimum(np.floor(x_max + 1e-6), gw - 1)
    lengths = np.where(np.isfinite(c_lo) & np.isfinite(c_hi), np.maximum(c_hi - c_lo + 1, 0), 0).astype(np.int64)
    span = np.repeat(np.arange(len(tri)), lengths)  # (N,) one entry per covered grid point
    start = np.cumsum(lengths) - lengths
    col = c_lo[span].astype(np.int64) + np.arange(len(span)) - start[span]
    row_px = row[span]
    ids = tri[span]
    affine = affine_dst_to_src(dst_tris, src_tris)[ids]  # (N, 6)
    cx, cy = col.astype(np.float64), row_px.astype(np.float64)
    flat = source_map.reshape(-1, 2)
    lin = row_px * gw + col
    flat[lin, 0] = affine[:, 0] * cx + affine[:, 1] * cy + affine[:, 2]
    flat[lin, 1] = affine[:, 3] * cx + affine[:, 4] * cy + affine[:, 5]
    covered[lin] = True
    return covered.reshape(gh, gw)
