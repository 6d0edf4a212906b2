"""The open mouth of a warped frame: the portrait's teeth moved with their jaws, the rest shaded as a cavity.

Given as a layer over the warped image, so the CPU and the torch warps paint it the same way:
colour = portrait sampled at `sample_map` * gain + tint, blended in with the gap's antialiased coverage.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.face import topology as topo

_UPPER = np.array(topo.INNER_LIP_UPPER[1:-1], dtype=np.intp)  # index arrays, built once (not lists per frame)
_LOWER = np.array(topo.INNER_LIP_LOWER[1:-1], dtype=np.intp)
_CORNERS = [topo.INNER_LIP_UPPER[0], topo.INNER_LIP_UPPER[-1]]
_INNER = np.array(topo.INNER_LIPS, dtype=np.intp)
_INNER_UPPER_ALL = np.array(topo.INNER_LIP_UPPER, dtype=np.intp)
_INNER_LOWER_ALL = np.array(topo.INNER_LIP_LOWER, dtype=np.intp)
_CAVITY_COLOUR = np.array([34.0, 14.0, 16.0], dtype=np.float32)  # RGB at the throat side of the cavity
_TONGUE_COLOUR = np.array([112.0, 48.0, 54.0], dtype=np.float32)
_UPPER_TEETH_SHARE = 0.8  # share of the portrait's visible mouth interior that belongs to the upper jaw
_BACK_DARKENING = 0.6  # how much darker the middle (back) of the cavity is than its rim
_LIP_SHADOW = 0.45  # darkening right under the upper lip, fading over a quarter of the gap


@dataclass(frozen=True)
class MouthLayer:
    """Paint for the mouth gap over box (x0, y0, x1, y1) of the output; arrays are (h, w, c) float32."""

    box: tuple[int, int, int, int]
    sample_map: np.ndarray  # (h, w, 2) where to sample the portrait (teeth moved with their jaw)
    gain: np.ndarray  # (h, w, 1)
    tint: np.ndarray  # (h, w, 3)
    alpha: np.ndarray  # (h, w, 1) coverage of the gap between the inner lips


def polygon_mask(shape: tuple[int, int], polygon: np.ndarray) -> np.ndarray:
    """Antialiased (H, W) float32 coverage in [0, 1] of a polygon given in pixel coordinates."""
    mask = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(polygon * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
    return mask.astype(np.float32) / 255.0


_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def grey_sample_step(shape: tuple[int, ...]) -> int:
    """Pixel stride of the grey test's sample: about 48 x 48 pixels of any photo (skin alone tells colour)."""
    return max(1, min(shape[:2]) // 48)


def is_grey(image: np.ndarray, tolerance: int = 3) -> bool:
    """Whether an (H, W, 3) uint8 RGB photo has (almost) no colour: its channels agree within `tolerance`.
    A property of the portrait: animators ask it once per portrait and hand the answer to the warp."""
    step = grey_sample_step(image.shape)  # a sample of the pixels is enough to tell
    sample = image[::step, ::step].astype(np.int16)
    return bool(np.abs(sample - sample.mean(axis=2, keepdims=True)).max() <= tolerance)


def mouth_layer(src: np.ndarray, dst: np.ndarray, image_size: tuple[int, int],
                grey: bool = False) -> MouthLayer | None:
    """The layer for landmarks src (478, 2) of the portrait moved to dst (478, 2); None when the mouth is shut."""
    inner = dst.take(_INNER, axis=0)
    h, w = image_size
    rows = inner.T.copy()  # x and y contiguous: a reduce over axis 0 of (N, 2) costs several times more
    lx, ly = np.floor(rows.min(axis=1)).astype(int).tolist()
    hx, hy = np.ceil(rows.max(axis=1)).astype(int).tolist()
    lo = (min(max(lx - 1, 0), w), min(max(ly - 1, 0), h))  # Python ints: np.clip on two numbers costs more
    hi = (min(max(hx + 2, 0), w), min(max(hy + 2, 0), h))
    if hi[0] <= lo[0] or hi[1] <= lo[1]:
        return None
    origin = np.array(lo, dtype=np.float64)
    shape = (hi[1] - lo[1], hi[0] - lo[0])
    alpha = polygon_mask(shape, inner - origin)
    if alpha.max() < 0.05:
        return None
    # Teeth hang from their jaws: the upper part of the portrait's mouth interior moves with the upper lip,
    # the rest with the lower lip, each unstretched (a smile shows mostly upper teeth).
    src_up, src_lo = src.take(_UPPER, axis=0), src.take(_LOWER, axis=0)
    shift_up = np.add.reduce(dst.take(_UPPER, axis=0) - src_up, axis=0) / len(_UPPER)  # a mean, less its Python layer
    shift_lo = np.add.reduce(dst.take(_LOWER, axis=0) - src_lo, axis=0) / len(_LOWER)
    mid = src_up + _UPPER_TEETH_SHARE * (src_lo - src_up)
    a, b = src[_CORNERS[0]][None], src[_CORNERS[1]][None]
    upper_half = np.concatenate([a, src_up, b, mid[::-1]])
    lower_half = np.concatenate([a, mid, b, src_lo[::-1]])
    shown_up = polygon_mask(shape, upper_half + shift_up - origin)
    shown_lo = polygon_mask(shape, lower_half + shift_lo - origin)
    xs = np.arange(shape[1], dtype=np.float32)[None, :]  # (1, w) and (h, 1): what depends on one only stays 1-D
    ys = np.arange(shape[0], dtype=np.float32)[:, None]
    use_lower = shown_lo > shown_up
    up32, lo32, origin32 = shift_up.astype(np.float32), shift_lo.astype(np.float32), origin.astype(np.float32)
    sample_map = np.empty((*shape, 2), dtype=np.float32)
    sample_map[..., 0] = (xs + origin32[0]) - np.where(use_lower, lo32[0], up32[0])
    sample_map[..., 1] = (ys + origin32[1]) - np.where(use_lower, lo32[1], up32[1])
    shown = np.minimum(shown_up + shown_lo, 1.0)[..., None]
    depth, under_lip, tongue = _cavity_coordinates(xs, ys, dst, origin)
    cavity = _CAVITY_COLOUR * (1.0 - tongue) + _TONGUE_COLOUR * tongue
    if grey:  # a grey portrait gets a grey mouth, not a red tongue
        cavity = np.repeat((cavity @ _LUMA)[..., None], 3, axis=2)
    shade = (1.0 - _BACK_DARKENING * depth) * (1.0 - _LIP_SHADOW * under_lip)  # (h, w, 1)
    gain = shown  # the portrait's own teeth and cavity carry their own shading
    tint = (1.0 - shown) * cavity * shade
    box = (lo[0], lo[1], hi[0], hi[1])
    return MouthLayer(box, sample_map, gain.astype(np.float32), tint.astype(np.float32), alpha[..., None])


def _cavity_coordinates(xs: np.ndarray, ys: np.ndarray, lm: np.ndarray, origin: np.ndarray) -> tuple[np.ndarray, ...]:
    """(h, w, 1) each: depth (1 at the back of the mouth, 0 at the lips), the upper lip's shadow, tongue share.

    xs (1, w) and ys (h, 1): the lip lines and the across share are computed once per column; lm (478, 2)
    landmarks, origin (2,) the box's corner (only the inner lips are moved into box pixels).
    """
    up, down = lm.take(_INNER_UPPER_ALL, axis=0) - origin, lm.take(_INNER_LOWER_ALL, axis=0) - origin
    top = np.interp(xs, *_sorted(up))
    bottom = np.interp(xs, *_sorted(down))
    height = np.maximum(bottom - top, 1.0)
    t = np.minimum(np.maximum((ys - top) / height, 0.0), 1.0)  # 0 at the upper lip, 1 at the lower
    left, right = up[:, 0].min(), up[:, 0].max()
    q = np.minimum(np.maximum((xs - left) / max(right - left, 1.0), 0.0), 1.0)
    depth = np.sqrt(4 * t * (1 - t) * 4 * q * (1 - q))
    under_lip = np.exp(-t / 0.25)
    tongue = np.maximum((t - 0.5) / 0.5, 0.0) ** 2  # t <= 1
    return depth[..., None], under_lip[..., None], tongue[..., None]


def _sorted(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(points[:, 0])
    return points[order, 0], points[order, 1]


def paint_mouth(out: np.ndarray, image: np.ndarray, layer: MouthLayer) -> None:
    """Blend the mouth layer into `out` (H, W, 3) uint8 in place, sampling the portrait `image`."""
    x0, y0, x1, y1 = layer.box
    sample = cv2.remap(image, layer.sample_map, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    colour = sample.astype(np.float32) * layer.gain + layer.tint
    region = out[y0:y1, x0:x1]
    blended = region.astype(np.float32) * (1.0 - layer.alpha) + colour * layer.alpha
    region[...] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
