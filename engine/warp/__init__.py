"""The warp prior: the portrait warped to the driving landmarks, the baseline animator and the DiT's prior.

  mesh.py        the mesh of a portrait (landmarks, head ring, background), the per-frame warp (plan + apply),
                 WarpAnimator
  planner.py     warp plans made ahead in worker processes (renders and benchmarks on a GPU)
  motion.py      the head's similarity motion, shut-eye closing, fold relaxation (no inverted triangle)
  source_map.py  the backward source map: face by the mesh, head by its similarity and the face outline's own
                 motion, a bounded falloff
  raster.py      vectorised scan conversion of all triangles at once (no Python loop over triangles)
  mouth.py       the mouth layer: teeth on both jaws, the rest of the gap from the mouth prior
  mouth_prior.py the mean real open mouth (by opening, in mouth coordinates), lit by the portrait's skin
  torch_warp.py  the same warp with grid_sample, for a GPU path
"""

from engine.warp.mesh import (
    GRID_STEP,
    WarpAnimator,
    WarpMesh,
    build_mesh,
    frame_motion,
    upsample_map,
    warp_image,
    warp_with_mesh,
)
from engine.warp.mouth import is_grey

__all__ = ["GRID_STEP", "WarpAnimator", "WarpMesh", "build_mesh", "frame_motion", "is_grey", "upsample_map",
           "warp_image", "warp_with_mesh"]
