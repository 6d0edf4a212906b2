"""The same warp in torch (grid_sample), for the GPU path: one frame's plan from the CPU, pixels on the device.

The per-frame plan (mesh motion, coarse source map, exact patches, mouth layer) is a few thousand numbers
built by engine.warp on the CPU; the full-resolution upsampling, sampling and mouth blend run where the
image tensor lives. Matches `warp_with_mesh` within a grey level.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from engine.face import topology as topo
from engine.warp.mesh import GRID_STEP, WarpMesh, frame_motion
from engine.warp.mouth import grey_sample_step, is_grey, mouth_layer
from engine.warp.source_map import build_source_map


def _sample(image: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """image (1, 3, H, W) float, where (h, w, 2) source pixels (x, y) -> (3, h, w), edges replicated."""
    h, w = image.shape[-2:]
    scale = torch.tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)], device=where.device)
    grid = where * scale - 1.0  # align_corners=True: pixel centres at -1 .. 1
    return F.grid_sample(image, grid[None], mode="bilinear", padding_mode="border", align_corners=True)[0]


@torch.no_grad()
def warp_with_mesh_torch(image: torch.Tensor, mesh: WarpMesh, dst: np.ndarray, step: int = GRID_STEP,
                         grey: bool | None = None) -> torch.Tensor:
    """(H, W, 3) uint8 tensor (any device) of the portrait -> (H, W, 3) uint8 tensor warped to dst (478, 2).

    grey: the portrait's `is_grey` when the caller knows it (no copy to the host per frame); None tests it."""
    dst = np.asarray(dst, dtype=np.float64)[:, :2]
    if np.abs(dst - mesh.src_vertices[: topo.NUM_LANDMARKS]).max() <= 1e-3:
        return image.clone()
    device = image.device
    motion = frame_motion(mesh, dst)
    source = build_source_map(motion, step)
    portrait = image.permute(2, 0, 1)[None].float()  # (1, 3, H, W)
    out = portrait[0].clone()
    if source is not None:
        x0, y0, x1, y1 = source.box
        s = source.step
        coarse = torch.from_numpy(source.coarse).to(device).permute(2, 0, 1)[None]  # (1, 2, gh, gw)
        dense = F.interpolate(coarse, scale_factor=s, mode="bilinear", align_corners=False)[0]
        dense = dense[:, s : s + y1 - y0, s : s + x1 - x0].permute(1, 2, 0).contiguous()  # (h, w, 2)
        for py, px, patch in source.patches:
            dense[py : py + patch.shape[0], px : px + patch.shape[1]] = torch.from_numpy(patch).to(device)
        out[:, y0:y1, x0:x1] = _sample(portrait, dense)
    out = out.round().clamp(0, 255)  # the CPU warp's remap rounds to uint8 before the mouth is painted
    if grey is None:
        step = grey_sample_step(tuple(image.shape))  # the same pixel sample as the CPU warp's grey test
        grey = is_grey(image[::step, ::step].cpu().numpy())
    layer = mouth_layer(mesh.src_vertices[: topo.NUM_LANDMARKS], motion.dst_vertices[: topo.NUM_LANDMARKS],
                        tuple(image.shape[:2]), grey)
    if layer is not None:
        x0, y0, x1, y1 = layer.box

        def on_device(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(a).to(device).permute(2, 0, 1)  # (c, h, w)

        sample = _sample(portrait, torch.from_numpy(layer.sample_map).to(device))
        colour = sample * on_device(layer.gain) + on_device(layer.tint)
        alpha = on_device(layer.alpha)
        region = out[:, y0:y1, x0:x1]
        out[:, y0:y1, x0:x1] = (region * (1 - alpha) + colour * alpha).clamp(0, 255).add(0.5).floor()
    return out.permute(1, 2, 0).to(torch.uint8)
