"""The source map's scan conversion as tensor ops (the GPU path): every grid point against every triangle.

On the CPU (engine.warp.raster) the triangles are cut into spans, a hundred numpy calls whose cost is the
largest part of the warp's per-frame plan; a GPU does the same by brute force in a few kernels: each grid
point's signed distances to the three edges of all T triangles, the highest-numbered triangle holding it (the
CPU raster's last write wins the same way), and that triangle's affine map of the point. Points no triangle
holds keep the fallback the CPU sends with the plan (the head's faded motion on the coarse grid,
`outside_grid`). Equal to the CPU map up to float rounding: where two triangles share an edge both maps agree there.

Shapes: per-triangle table (15, T) float32 rows (edge planes, then the affine map); points (P, 2) float32 output
pixels (x, y); fallbacks (P, 2) float32 source pixels; the result (P, 2) float32 source pixels.
"""

from __future__ import annotations

import numpy as np
import torch

from engine.warp.raster import affine_dst_to_src
from engine.warp.source_map import FrameMotion, Grid, outside_grid

EDGE_TOLERANCE = 1e-4  # pixels: a point this close outside an edge still counts as inside (float32 rounding)
POINTS_PER_BLOCK = 8192  # grid points tested at once (a 512x512 frame's ~7,800 in one): bounds the (block, T)
# temporaries (32 MB each at T = 1,000)


def triangle_table(motion: FrameMotion) -> np.ndarray:
    """(15, T) float32 rows per destination triangle: its three edges as planes a (3 rows), b (3), c (3) with
    a x + b y + c the signed distance in pixels (positive inside), then its affine map to the source (6 rows,
    `affine_dst_to_src`). A degenerate triangle gets planes no point satisfies."""
    coords = motion.corner_coords
    dst = motion.dst_vertices.reshape(-1).take(coords).reshape(6, -1)  # (6, T) corner rows x0, y0, .., y2
    affine = affine_dst_to_src(dst, motion.src_vertices.reshape(-1).take(coords).reshape(6, -1))  # (6, T)
    x, y = dst[0::2], dst[1::2]  # (3, T)
    twice_area = (x[1] - x[0]) * (y[2] - y[0]) - (y[1] - y[0]) * (x[2] - x[0])
    sign = np.where(twice_area < 0, -1.0, 1.0)  # either winding: inside is where all three are >= 0
    xn, yn = np.roll(x, -1, axis=0), np.roll(y, -1, axis=0)  # edge i runs from corner i to corner i + 1
    length = np.maximum(np.hypot(xn - x, yn - y), 1e-12)
    a, b = -(yn - y) * sign / length, (xn - x) * sign / length  # inward normal of each edge
    c = -(a * x + b * y)
    degenerate = np.abs(twice_area) <= 1e-9
    a[:, degenerate], b[:, degenerate], c[:, degenerate] = 0.0, 0.0, -1.0  # -1 px everywhere: holds no point
    return np.concatenate([a, b, c, affine]).astype(np.float32)


def grid_points(grids: list[Grid]) -> np.ndarray:
    """(P, 2) float32 output pixels (x, y) of every grid point, grid after grid, each row-major."""
    points = []
    for g in grids:
        xs, ys = np.meshgrid(g.xs(), g.ys())
        points.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
    return np.concatenate(points).astype(np.float32)


def device_plan(motion: FrameMotion, grids: list[Grid]) -> list[np.ndarray]:
    """What `scan_points` needs from the CPU for these grids (the coarse one first, then the exact patches):
    [table (15, T), points (P, 2), fallback (P, 2)]. The fallback is the head's faded motion (`outside_grid`)
    on the coarse grid and NaN on the patches: they lie inside the mesh (eyes, lips), and a point the mesh
    missed there takes the upsampled coarse map instead (`torch_warp`), with no outside map computed for it."""
    coarse = outside_grid(motion.head, motion.shape, grids[0].xs(), grids[0].ys()).reshape(-1, 2)
    patches = np.full((sum(g.rows * g.cols for g in grids[1:]), 2), np.nan, dtype=np.float32)
    return [triangle_table(motion), grid_points(grids), np.concatenate([coarse, patches])]


@torch.no_grad()
def scan_points(table: torch.Tensor, points: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    """table (15, T), points (P, 2), fallback (P, 2) on one device -> (P, 2) source pixels of the points."""
    a, b, c, affine = table[0:3], table[3:6], table[6:9], table[9:15].T  # (3, T) x3, (T, 6)
    ids = torch.arange(1, table.shape[1] + 1, device=table.device, dtype=torch.int32)  # 1-based: 0 = none
    out = torch.empty_like(fallback)
    for start in range(0, points.shape[0], POINTS_PER_BLOCK):
        block = slice(start, start + POINTS_PER_BLOCK)
        x, y = points[block, 0], points[block, 1]  # (B,)
        worst = None
        for e in range(3):  # the smallest of the three signed edge distances, (B, T)
            distance = torch.addcmul(torch.addcmul(c[e], x[:, None], a[e]), y[:, None], b[e])
            worst = distance if worst is None else torch.minimum(worst, distance)
        holder = torch.where(worst >= -EDGE_TOLERANCE, ids, 0).amax(dim=1)  # (B,) highest triangle holding it
        m = affine.index_select(0, (holder - 1).clamp_(min=0))  # (B, 6)
        mapped = torch.stack([torch.addcmul(torch.addcmul(m[:, 2], m[:, 0], x), m[:, 1], y),
                              torch.addcmul(torch.addcmul(m[:, 5], m[:, 3], x), m[:, 4], y)], dim=1)
        out[block] = torch.where(holder[:, None] > 0, mapped, fallback[block])
    return out
