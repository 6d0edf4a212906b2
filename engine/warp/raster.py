"""Vectorised scan conversion of a triangle mesh into a backward source map on a regular grid.

Every triangle is cut into one span per grid row it crosses, all triangles at once (np.repeat over the
row counts, then over the span lengths), so no Python loop runs over the ~1,000 triangles of the face mesh.
Inside a triangle the source position is its affine map of the grid point: piecewise affine, continuous
across shared edges.
"""

from __future__ import annotations

import numpy as np


def min3(a: np.ndarray) -> np.ndarray:
    """(N, 3) -> (N,) row minima, elementwise: numpy's reduce over a 3-wide axis costs several times more."""
    return np.minimum(np.minimum(a[:, 0], a[:, 1]), a[:, 2])


def max3(a: np.ndarray) -> np.ndarray:
    """(N, 3) -> (N,) row maxima (see min3)."""
    return np.maximum(np.maximum(a[:, 0], a[:, 1]), a[:, 2])


def affine_dst_to_src(d: np.ndarray, s: np.ndarray) -> np.ndarray:
    """(T, 3, 2) target and source triangles -> (T, 6) maps src = (a x + b y + c, d x + e y + f).

    Closed-form 2x2 inverse per triangle; degenerate target triangles cover no grid point and get the identity.
    """
    e1x, e1y = d[:, 1, 0] - d[:, 0, 0], d[:, 1, 1] - d[:, 0, 1]
    e2x, e2y = d[:, 2, 0] - d[:, 0, 0], d[:, 2, 1] - d[:, 0, 1]
    det = e1x * e2y - e1y * e2x
    good = np.abs(det) > 1e-9
    det = np.where(good, det, 1.0)
    f1x, f1y = s[:, 1, 0] - s[:, 0, 0], s[:, 1, 1] - s[:, 0, 1]
    f2x, f2y = s[:, 2, 0] - s[:, 0, 0], s[:, 2, 1] - s[:, 0, 1]
    # src offset = [f1 f2] inv([e1 e2]) (p - d0), the inverse [[e2y, -e2x], [-e1y, e1x]] / det
    out = np.empty((len(d), 6))
    out[:, 0] = (f1x * e2y - f2x * e1y) / det
    out[:, 1] = (f2x * e1x - f1x * e2x) / det
    out[:, 3] = (f1y * e2y - f2y * e1y) / det
    out[:, 4] = (f2y * e1x - f1y * e2x) / det
    out[:, 2] = s[:, 0, 0] - (out[:, 0] * d[:, 0, 0] + out[:, 1] * d[:, 0, 1])
    out[:, 5] = s[:, 0, 1] - (out[:, 3] * d[:, 0, 0] + out[:, 4] * d[:, 0, 1])
    out[~good] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    return out


def in_grid_units(affine: np.ndarray, origin: tuple[float, float], step: tuple[float, float]) -> np.ndarray:
    """(T, 6) maps of image pixels -> the same maps of grid points (col j, row i) at origin + step * (j, i)."""
    a, b, c, d, e, f = affine.T
    (ox, oy), (sx, sy) = origin, step
    return np.stack([a * sx, b * sy, a * ox + b * oy + c, d * sx, e * sy, d * ox + e * oy + f], axis=1)


# the vertex order of a triangle from its three y comparisons (y0 <= y1, y0 <= y2, y1 <= y2) as a 3-bit code:
# row 2v, 2v + 1 of the (6, T) corner rows for the top, middle and bottom vertex (ties as np.where chains did)
def _sort_rows():
    rows = []
    for code in range(8):
        c01, c02, c12 = bool(code & 4), bool(code & 2), bool(code & 1)
        top = (0 if c02 else 2) if c01 else (1 if c12 else 2)
        bottom = (0 if not c02 else 2) if not c01 else (1 if not c12 else 2)
        mid = 3 - top - bottom
        rows.append([2 * top, 2 * top + 1, 2 * mid, 2 * mid + 1, 2 * bottom, 2 * bottom + 1])
    return np.array(rows, dtype=np.intp).T  # (6, 8)


_SORTED_ROWS = _sort_rows()


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
    count = len(dst_tris)
    corner = dst_tris.reshape(-1, 6).T.copy()  # (6, T): x0, y0, x1, y1, x2, y2, each contiguous
    y0, y1, y2 = corner[1], corner[3], corner[5]
    rows, cols = grid_shape[:, 0], grid_shape[:, 1]
    r_lo = np.maximum(np.ceil(np.minimum(np.minimum(y0, y1), y2) - 1e-9), 0).astype(np.int64)
    r_hi = np.minimum(np.floor(np.maximum(np.maximum(y0, y1), y2) + 1e-9), rows - 1).astype(np.int64)
    rows_per_tri = np.maximum(r_hi - r_lo + 1, 0)
    tri = np.repeat(np.arange(count), rows_per_tri)  # (P,) one entry per (triangle, row)
    first = np.cumsum(rows_per_tri) - rows_per_tri
    row = np.arange(len(tri)) - np.repeat(first - r_lo, rows_per_tri)
    # A row crosses the long edge (top to bottom vertex) and one short edge: the upper one (top to middle)
    # above the middle vertex, the lower one below it; a level short edge crosses no row (the other one does),
    # a level long edge means a flat triangle, which covers nothing. Per triangle: its vertices sorted by y,
    # gathered in one take by the order its three comparisons give.
    code = (y0 <= y1) * 4 + (y0 <= y2) * 2 + (y1 <= y2)
    xt, yt, xm, ym, xb, yb = corner.reshape(-1).take(_SORTED_ROWS.take(code, axis=1) * count + np.arange(count))
    level_up, level_down = np.abs(ym - yt) <= 1e-12, np.abs(yb - ym) <= 1e-12
    per_tri = [ym, level_up & ~level_down, level_down]
    for (xp, yp), (xq, yq) in (((xt, yt), (xb, yb)), ((xt, yt), (xm, ym)), ((xm, ym), (xb, yb))):  # long, up, down
        dy = yq - yp
        slope = (xq - xp) / np.where(np.abs(dy) <= 1e-12, 1.0, dy)
        per_tri += [xp - slope * yp, slope, np.minimum(xp, xq), np.maximum(xp, xq)]
    both = level_up & level_down  # only the long edge crosses: it stands in for the short one
    per_tri[7:11] = [np.where(both, long, short) for long, short in zip(per_tri[3:7], per_tri[7:11], strict=True)]
    per_tri[3] = np.where(np.abs(yb - yt) <= 1e-12, np.nan, per_tri[3])  # flat: no x, no span
    y_mid, down_only, up_only, x0_l, s_l, lo_l, hi_l, x0_u, s_u, lo_u, hi_u, x0_d, s_d, lo_d, hi_d = (
        np.stack(per_tri, axis=1).take(tri, axis=0).T)  # (P,) each
    y = row.astype(np.float64)
    up = ((y < y_mid) & (down_only == 0)) | (up_only != 0)
    x_long = np.minimum(np.maximum(x0_l + s_l * y, lo_l), hi_l)  # clipped: no overshoot past an edge's end
    x_short = np.minimum(np.maximum(np.where(up, x0_u, x0_d) + np.where(up, s_u, s_d) * y, np.where(up, lo_u, lo_d)),
                         np.where(up, hi_u, hi_d))
    c_lo = np.maximum(np.ceil(np.minimum(x_long, x_short) - 1e-6), 0)
    c_hi = np.minimum(np.floor(np.maximum(x_long, x_short) + 1e-6), cols[tri] - 1)
    c_lo, c_hi = np.where(np.isnan(x_long), np.inf, c_lo), np.where(np.isnan(x_long), -np.inf, c_hi)
    lengths = np.maximum(c_hi - c_lo + 1, 0).astype(np.int64)  # a row no edge crosses: inf -> -inf, 0
    # Per span: its first point's source and linear index; per point: that plus its offset k along the span.
    c_lo = np.where(lengths > 0, c_lo, 0.0)
    coef = affine.take(tri, axis=0)  # (P, 6); take: several times faster than [tri] on rows
    start = np.cumsum(lengths) - lengths
    span = np.stack([coef[:, 0] * c_lo + coef[:, 1] * y + coef[:, 2], coef[:, 3] * c_lo + coef[:, 4] * y + coef[:, 5],
                     coef[:, 0], coef[:, 3], start])
    bx, by, ax, ay, first_point = np.repeat(span, lengths, axis=1)  # (5, N)
    k = np.arange(len(bx), dtype=np.float64) - first_point
    lin = np.repeat(grid_start[tri] + row * cols[tri] + c_lo.astype(np.int64) - start, lengths) + np.arange(len(bx))
    flat_map[lin, 0] = bx + ax * k
    flat_map[lin, 1] = by + ay * k
