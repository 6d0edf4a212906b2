"""The same warp in torch (grid_sample), for the GPU path: one frame's plan from the CPU, pixels on the device.

The per-frame plan (`WarpPlan`: coarse source map, exact patches, mouth layer) is a few thousand numbers
built by engine.warp on the CPU (`plan_warp`, or ahead of time in worker processes: engine.warp.planner);
the full-resolution upsampling, sampling and mouth blend run where the image tensor lives. Matches
`warp_with_mesh` within a grey level.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from engine.device_copy import to_device
from engine.face import topology as topo
from engine.warp.mesh import GRID_STEP, WarpMesh, WarpPlan, plan_warp
from engine.warp.mouth import MouthStyle


def _sample(image: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """image (1, 3, H, W) float, where (h, w, 2) source pixels (x, y) -> (3, h, w), edges replicated."""
    h, w = image.shape[-2:]
    # align_corners=True: pixel centres at -1 .. 1 (scalars, so no small tensor is copied to the device)
    grid = torch.stack((where[..., 0] * (2.0 / max(w - 1, 1)), where[..., 1] * (2.0 / max(h - 1, 1))), dim=-1) - 1.0
    return F.grid_sample(image, grid[None], mode="bilinear", padding_mode="border", align_corners=True)[0]


def _upload(arrays: list[np.ndarray], device: torch.device) -> list[torch.Tensor]:
    """Host arrays -> float32 tensors of the same shapes on `device`, in one copy (a frame's plan is a few
    small arrays: one transfer instead of one each)."""
    flat = np.concatenate([np.asarray(a, np.float32).ravel() for a in arrays]) if arrays else np.zeros(0, np.float32)
    packed = to_device(flat, device)
    out, at = [], 0
    for a in arrays:
        out.append(packed[at:at + a.size].view(a.shape))
        at += a.size
    return out


@torch.no_grad()
def warp_with_mesh_torch(image: torch.Tensor, mesh: WarpMesh, dst: np.ndarray, step: int = GRID_STEP,
                         style: MouthStyle | None = None) -> torch.Tensor:
    """(H, W, 3) uint8 tensor (any device) of the portrait -> (H, W, 3) uint8 tensor warped to dst (478, 2).

    style: the portrait's `MouthStyle` when the caller knows it (no copy to the host per frame); None finds it."""
    if style is None:
        style = MouthStyle.of(image.cpu().numpy(), mesh.src_vertices[: topo.NUM_LANDMARKS])
    return apply_plan_torch(image, plan_warp(mesh, dst, style, step))


@torch.no_grad()
def apply_plan_torch(image: torch.Tensor, plan: WarpPlan | None) -> torch.Tensor:
    """(H, W, 3) uint8 tensor of the portrait -> a new (H, W, 3) uint8 tensor warped by `plan` (engine.warp.mesh
    `plan_warp`; None: a copy), on the image's device: its arrays go up in one copy."""
    if plan is None:
        return image.clone()
    source, layer = plan.source, plan.layer
    arrays = [] if source is None else [source.coarse, *(patch for _, _, patch in source.patches)]
    if layer is not None:
        arrays += [layer.sample_map, layer.gain, layer.tint, layer.alpha]
    on_device = iter(_upload(arrays, image.device))
    portrait = image.permute(2, 0, 1)[None].float()  # (1, 3, H, W)
    out = portrait[0].clone()
    if source is not None:
        x0, y0, x1, y1 = source.box
        s = source.step
        coarse = next(on_device).permute(2, 0, 1)[None]  # (1, 2, gh, gw)
        dense = F.interpolate(coarse, scale_factor=s, mode="bilinear", align_corners=False)[0]
        dense = dense[:, s : s + y1 - y0, s : s + x1 - x0].permute(1, 2, 0).contiguous()  # (h, w, 2)
        for py, px, patch in source.patches:
            dense[py : py + patch.shape[0], px : px + patch.shape[1]] = next(on_device)
        out[:, y0:y1, x0:x1] = _sample(portrait, dense)
    out = out.round().clamp(0, 255)  # the CPU warp's remap rounds to uint8 before the mouth is painted
    if layer is not None:
        x0, y0, x1, y1 = layer.box
        sample_map, gain, tint, alpha = (next(on_device) for _ in range(4))
        sample = _sample(portrait, sample_map)
        colour = sample * gain.permute(2, 0, 1) + tint.permute(2, 0, 1)
        alpha = alpha.permute(2, 0, 1)  # (1, h, w)
        region = out[:, y0:y1, x0:x1]
        out[:, y0:y1, x0:x1] = (region * (1 - alpha) + colour * alpha).clamp(0, 255).add(0.5).floor()
    return out.permute(1, 2, 0).to(torch.uint8)
