"""Vectorised scan conversion of a triangle mesh into a backward source map on a regular grid.

Every triangle is cut into one span per grid row it crosses, all triangles at once (expanded over the row
counts, then over the span lengths), so no Python loop runs over the ~1,000 triangles of the face mesh.
Inside a triangle the source position is its affine map of the grid point: piecewise affine, continuous
across shared edges.
"""

from __future__ import annotations

import numpy as np


def min3(a: np.ndarray) -> np.ndarray:
    """(3, N) -> (N,) column minima, elementwise: numpy's reduce over a 3-long axis costs several times more."""
    return np.minimum(np.minimum(a[0], a[1]), a[2])


def max3(a: np.ndarray) -> np.ndarray:
    """(3, N) -> (N,) column maxima (see min3)."""
    return np.maximum(np.maximum(a[0], a[1]), a[2])


def affine_dst_to_src(d: np.ndarray, s: np.ndarray) -> np.ndarray:
    """(6, T) target and source corner rows (x0, y0, x1, y1, x2, y2) -> (6, T) rows a..f of the maps
    src = (a x + b y + c, d x + e y + f).

    Closed-form 2x2 inverse per triangle; degenerate target triangles cover no grid point and get the identity.
    """
    e1x, e1y = d[2] - d[0], d[3] - d[1]
    e2x, e2y = d[4] - d[0], d[5] - d[1]
    det = e1x * e2y - e1y * e2x
    good = np.abs(det) > 1e-9
    degenerate = not good.all()  # rarely: the fix-ups below cost more than the maps on a thousand triangles
    if degenerate:
        det = np.where(good, det, 1.0)
    f1x, f1y = s[2] - s[0], s[3] - s[1]
    f2x, f2y = s[4] - s[0], s[5] - s[1]
    # src offset = [f1 f2] inv([e1 e2]) (p - d0), the inverse [[e2y, -e2x], [-e1y, e1x]] / det
    out = np.empty((6, d.shape[1]))
    out[0] = (f1x * e2y - f2x * e1y) / det
    out[1] = (f2x * e1x - f1x * e2x) / det
    out[3] = (f1y * e2y - f2y * e1y) / det
    out[4] = (f2y * e1x - f1y * e2x) / det
    out[2] = s[0] - (out[0] * d[0] + out[1] * d[1])
    out[5] = s[1] - (out[3] * d[0] + out[4] * d[1])
    if degenerate:
        out[:, ~good] = np.array([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])[:, None]
    return out


def in_grid_units(affine: np.ndarray, origin: tuple[np.ndarray, np.ndarray],
                  step: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(6, T) map rows of image pixels -> the same maps of grid points (col j, row i) at origin + step * (j, i);
    origin and step (x, y), each (T,)."""
    a, b, c, d, e, f = affine
    (ox, oy), (sx, sy) = origin, step
    return np.array([a * sx, b * sy, a * ox + b * oy + c, d * sx, e * sy, d * ox + e * oy + f])  # np.stack costs more


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


def _edge(xp: np.ndarray, yp: np.ndarray, xq: np.ndarray, yq: np.ndarray) -> tuple[np.ndarray, ...]:
    """(T,) each: the edge p-q's x at row y as x0 + slope y, and its x range (lo, hi) that x is clipped to."""
    dy = yq - yp
    slope = (xq - xp) / np.where(np.abs(dy) <= 1e-12, 1.0, dy)
    return xp - slope * yp, slope, np.minimum(xp, xq), np.maximum(xp, xq)


# the per-half fields of `rasterise_source_map`, rows of its (18, 2, T) table
_ROW_OFFSET, _LONG, _SHORT, _LAST_COL, _AFFINE, _COLS, _START = 0, slice(1, 5), slice(5, 9), 9, slice(10, 16), 16, 17


def _owners(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(K,) group sizes -> (N,) each element's group (as np.arange(K).repeat(counts)), and (K,) the groups'
    starts. repeat's inner loop runs as long as each count: on these mostly 0-2 long groups its branches
    mispredict and cost more than counting the groups' starts (a group owns the elements from its start on)."""
    starts = counts.cumsum() - counts
    total = int(starts[-1] + counts[-1]) if len(counts) else 0
    return np.bincount(starts, minlength=total + 1)[:total].cumsum() - 1, starts


def rasterise_source_map(corners: np.ndarray, affine: np.ndarray, grid_shape: np.ndarray, grid_start: np.ndarray,
                         flat_map: np.ndarray) -> None:
    """Write, for every grid point covered by a triangle, its source position into `flat_map` in place.

    Several grids (a coarse one and exact patches) are filled in one pass: each triangle names its own.
    corners: (6, T) rows x0, y0, x1, y1, x2, y2 of the triangles in their grid's units (grid point (row i, col j)
    sits at (x=j, y=i)); affine: (6, T) rows of each triangle's map from its grid's units to source pixels
    (`in_grid_units`); grid_shape (2, T) rows and cols of each triangle's grid, grid_start (T,) where that grid
    starts in flat_map (M, 2) float32 (grids row-major). Where triangles overlap, the later one's map is kept.
    """
    count = corners.shape[1]
    if count == 0:
        return
    y0, y1, y2 = corners[1], corners[3], corners[5]
    # Per triangle: its vertices sorted by y (top, middle, bottom), gathered in one take by the order its three
    # comparisons give. A row crosses the long edge (top to bottom) and one short edge: the upper one (top to
    # middle) above the middle vertex, the lower one from it on; a level short edge crosses no row (the other one
    # does; both level: the long edge stands in), a level long edge means a flat triangle, which covers nothing.
    code = (y0 <= y1) * 4 + (y0 <= y2) * 2 + (y1 <= y2)
    xt, yt, xm, ym, xb, yb = corners.reshape(-1).take(_SORTED_ROWS.take(code, axis=1) * count + np.arange(count))
    r_lo = np.maximum(np.ceil(yt - 1e-9), 0)
    r_hi = np.minimum(np.floor(yb + 1e-9), grid_shape[0] - 1)
    level_up, level_down = np.abs(ym - yt) <= 1e-12, np.abs(yb - ym) <= 1e-12
    rows = np.where(np.abs(yb - yt) <= 1e-12, 0, np.maximum(r_hi - r_lo + 1, 0))
    upper = np.where(level_down, rows, np.where(level_up, 0, np.minimum(np.maximum(np.ceil(ym) - r_lo, 0), rows)))
    # Each triangle as two halves (its rows above the middle vertex, and the rest), each with one pair of edges:
    # a table of (18, 2, T) fields, one row gather per (half, row) in triangle and row order.
    table = np.empty((18, 2, count))
    long, up, down = _edge(xt, yt, xb, yb), _edge(xt, yt, xm, ym), _edge(xm, ym, xb, yb)
    both = level_up & level_down
    for j in range(4):
        table[_LONG.start + j] = long[j]
        table[_SHORT.start + j, 0] = np.where(both, long[j], up[j])
        table[_SHORT.start + j, 1] = down[j]
    table[_LAST_COL] = grid_shape[1] - 1
    table[_AFFINE] = affine[:, None]
    table[_COLS] = grid_shape[1]
    table[_START] = grid_start
    counts = np.array([upper, rows - upper], dtype=np.int64).T.reshape(-1)  # (2T,) triangle by triangle
    table[_ROW_OFFSET, 0] = r_lo  # a row's grid row: its index among all rows plus its half's offset
    table[_ROW_OFFSET, 1] = r_lo + upper
    owner, half_start = _owners(counts)
    table[_ROW_OFFSET] -= half_start.reshape(-1, 2).T
    which = np.arange(2 * count).reshape(2, count).T.reshape(-1).take(owner)  # (P,) a column of table
    off, x0_l, s_l, lo_l, hi_l, x0_s, s_s, lo_s, hi_s, last_col, a, b, c, d, e, f, cols, start = (
        table.reshape(18, -1).take(which, axis=1))  # (P,) each, contiguous
    y = np.arange(len(which), dtype=np.float64) + off
    x_long = np.minimum(np.maximum(x0_l + s_l * y, lo_l), hi_l)  # clipped: no overshoot past an edge's end
    x_short = np.minimum(np.maximum(x0_s + s_s * y, lo_s), hi_s)
    c_lo = np.maximum(np.ceil(np.minimum(x_long, x_short) - 1e-6), 0)
    c_hi = np.minimum(np.floor(np.maximum(x_long, x_short) + 1e-6), last_col)
    lengths = np.maximum(c_hi - c_lo + 1, 0).astype(np.int64)
    # Per span: its first point's source and linear index; per point: that plus its offset k along the span.
    owner, first = _owners(lengths)
    span = np.array([a * c_lo + b * y + c, d * c_lo + e * y + f, a, d, first, start + y * cols + c_lo - first])
    bx, by, ax, ay, first_point, lin0 = span.take(owner, axis=1)  # (N,) each
    at = np.arange(len(bx), dtype=np.float64)
    k = at - first_point
    lin = (lin0 + at).astype(np.intp)
    flat_map[lin, 0] = bx + ax * k
    flat_map[lin, 1] = by + ay * k
