"""The animator's per-frame image work where its model runs (the GPU path): warp, crop and paste as tensors.

On a GPU, KnotAnimator keeps the portrait on the device and never moves a float image to the host: the
warp prior is the torch warp (engine.warp.torch_warp, planned on the CPU from a few thousand numbers), the
face crop is a resampling of it on the device, and the model's correction is pasted into it there; one uint8
frame per emitted frame comes back. Each step matches its OpenCV twin (CropBox.crop, PasteRegion) within
resampling rounding, so the two paths give the same avatar (tests/test_device_frames.py).

Shapes: portrait (H, W, 3) uint8 on the device; crops (1, 3, R, R) float in [-1, 1]; corrections and faces
(3, R, R) float in grey levels; masks (R, R) float in [0, 1].
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from engine.face.crop import CropBox
from engine.knot.composition import PasteRegion
from engine.warp.mesh import WarpPlan
from engine.warp.torch_warp import apply_plan_torch


def area_weights(size_in: int, size_out: int, ratio: float | None = None) -> np.ndarray:
    """(size_out, size_in) weights of OpenCV's INTER_AREA shrink along one axis (fractional pixel coverage);
    ratio: input pixels per output pixel (cv2.resize with fx uses 1 / fx, not size_in / size_out)."""
    ratio = size_in / size_out if ratio is None else ratio
    lo = np.arange(size_out)[:, None] * ratio
    hi = np.minimum(lo + ratio, size_in)
    j = np.arange(size_in)[None, :]
    cover = np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0.0, None)
    return (cover / cover.sum(axis=1, keepdims=True)).astype(np.float32)


def _grid(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(..., 2) pixel coordinates (x, y) in an image of size (w, h) -> grid_sample's align_corners=True units."""
    w, h = size
    return (points / np.array([max(w - 1, 1), max(h - 1, 1)]) * 2.0 - 1.0).astype(np.float32)


def _affine_points(matrix: np.ndarray, width: int, height: int) -> np.ndarray:
    """(2, 3) affine map of pixel coordinates -> (height, width, 2) images of every pixel (x, y)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    return np.stack([matrix[0, 0] * xs + matrix[0, 1] * ys + matrix[0, 2],
                     matrix[1, 0] * xs + matrix[1, 1] * ys + matrix[1, 2]], axis=-1)


class DeviceFrames:
    """One portrait's warp, crop and paste on its device (the GPU path of KnotAnimator)."""

    def __init__(self, image: np.ndarray, box: CropBox, region: PasteRegion, resolution: int,
                 device: torch.device) -> None:
        """region: the animator's PasteRegion of `box` (its matrix and bounds are reused, not rebuilt)."""
        self.image = torch.tensor(image, device=device)  # (H, W, 3) uint8, a copy (the portrait is read-only)
        h, w = image.shape[:2]
        r = resolution
        # Crop: as CropBox.crop, an optional INTER_AREA shrink (two matrices) then bilinear, border replicated.
        s = r / box.side
        self.shrink = None
        src_w, src_h = w, h
        if s < 0.5:
            src_w, src_h = max(1, int(round(w * 2 * s))), max(1, int(round(h * 2 * s)))
            self.shrink = (torch.from_numpy(area_weights(h, src_h, 0.5 / s)).to(device),
                           torch.from_numpy(area_weights(w, src_w, 0.5 / s)).to(device))
        pre_x, pre_y = src_w / w, src_h / h
        x0, y0 = box.cx - box.side / 2, box.cy - box.side / 2
        crop_to_src = np.array([[pre_x / s, 0.0, (0.5 + s * x0 - 0.5 * s / pre_x) * pre_x / s],
                                [0.0, pre_y / s, (0.5 + s * y0 - 0.5 * s / pre_y) * pre_y / s]])
        self.crop_grid = torch.from_numpy(_grid(_affine_points(crop_to_src, r, r), (src_w, src_h)))[None].to(device)
        # Paste: as PasteRegion, the crop resampled into the box's part of the frame, zero outside the crop.
        self.region = region
        rw, rh = self.region.size
        self.paste_grid = None
        if rw > 0 and rh > 0:
            a = np.vstack([self.region.matrix, [0.0, 0.0, 1.0]])
            region_to_crop = np.linalg.inv(a)[:2]
            self.paste_grid = torch.from_numpy(_grid(_affine_points(region_to_crop, rw, rh), (r, r)))[None].to(device)

    def warp(self, plan: WarpPlan | None) -> torch.Tensor:
        """A frame's warp plan (engine.warp.mesh.plan_warp of this portrait) -> (H, W, 3) uint8 portrait warped
        by it, on the device."""
        return apply_plan_torch(self.image, plan)

    def crop(self, full: torch.Tensor) -> torch.Tensor:
        """(H, W, 3) uint8 frame -> (1, 3, R, R) float face crop in [-1, 1] (the codec's input)."""
        x = full.permute(2, 0, 1).float()  # (3, H, W)
        if self.shrink is not None:  # OpenCV's shrink writes uint8 before the crop samples it: rounded
            rows, cols = self.shrink
            x = torch.matmul(torch.matmul(rows, x), cols.T).round()  # (3, h', w')
        crop = F.grid_sample(x[None], self.crop_grid, mode="bilinear", padding_mode="border", align_corners=True)
        return crop.round().div(127.5).sub(1.0)

    def _to_region(self, crop: torch.Tensor) -> torch.Tensor:
        """(c, R, R) crop-space image -> (c, rh, rw) in the frame's box region, zero where the crop is not."""
        return F.grid_sample(crop[None], self.paste_grid, mode="bilinear", padding_mode="zeros", align_corners=True)[0]

    def add(self, full: torch.Tensor, delta: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """full (H, W, 3) uint8 + mask * delta (3, R, R), inside the box region -> the same tensor, uint8."""
        if self.paste_grid is None:
            return full
        g = self.region
        region = full[g.y0:g.y1, g.x0:g.x1].permute(2, 0, 1).float() + self._to_region(delta * mask)
        full[g.y0:g.y1, g.x0:g.x1] = region.add(0.5).clamp(0, 255).permute(1, 2, 0).to(torch.uint8)
        return full

    def replace(self, full: torch.Tensor, face: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """full (H, W, 3) uint8 with face (3, R, R) in grey levels pasted inside mask -> the same tensor."""
        if self.paste_grid is None:
            return full
        g = self.region
        m = self._to_region(mask[None])
        region = full[g.y0:g.y1, g.x0:g.x1].permute(2, 0, 1).float()
        region = region * (1 - m) + self._to_region(face) * m
        full[g.y0:g.y1, g.x0:g.x1] = region.add(0.5).clamp(0, 255).permute(1, 2, 0).to(torch.uint8)
        return full
