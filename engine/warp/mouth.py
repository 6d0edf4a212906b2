"""The open mouth of a warped frame: the portrait's teeth moved with their jaws, the rest painted from the mean
real mouth at that opening (engine/warp/mouth_prior.py) in the portrait's own skin light.

Given as a layer over the warped image, so the CPU and the torch warps paint it the same way:
colour = portrait sampled at `sample_map` * gain + tint, blended in with the gap's antialiased coverage.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.face import topology as topo
from engine.warp.mouth_prior import MouthAxes, MouthPrior, skin_colour

_UPPER = np.array(topo.INNER_LIP_UPPER[1:-1], dtype=np.intp)  # index arrays, built once (not lists per frame)
_LOWER = np.array(topo.INNER_LIP_LOWER[1:-1], dtype=np.intp)
_CORNERS = [topo.INNER_LIP_UPPER[0], topo.INNER_LIP_UPPER[-1]]
_INNER = np.array(topo.INNER_LIPS, dtype=np.intp)
_UPPER_TEETH_SHARE = 0.8  # share of the portrait's visible mouth interior that belongs to the upper jaw


@dataclass(frozen=True)
class MouthLayer:
    """Paint for the mouth gap over box (x0, y0, x1, y1) of the output; arrays are (h, w, c) float32."""

    box: tuple[int, int, int, int]
    sample_map: np.ndarray  # (h, w, 2) where to sample the portrait (teeth moved with their jaw)
    gain: np.ndarray  # (h, w, 1)
    tint: np.ndarray  # (h, w, 3)
    alpha: np.ndarray  # (h, w, 1) coverage of the gap between the inner lips


@dataclass(frozen=True)
class MouthStyle:
    """What the mouth gap of one portrait is painted with, found once per portrait: the real-video prior of
    a mouth's inside, lit and tinted by the portrait's skin colour; grey for a grey photo."""

    grey: bool
    skin: np.ndarray  # (3,) float32 RGB, the portrait's cheeks
    prior: MouthPrior

    @classmethod
    def of(cls, image: np.ndarray, landmarks: np.ndarray, prior: MouthPrior | None = None) -> MouthStyle:
        """image (H, W, 3) uint8 RGB, its landmarks (478, 2); the shipped prior unless one is given."""
        return cls(is_grey(image), skin_colour(image, landmarks), prior or MouthPrior.load())


@dataclass(frozen=True)
class _Jaw:
    """How the teeth behind one lip move: the lip's mean shift across, each column's own shift up and down."""

    across: np.float32  # the lip's mean x shift
    xs: np.ndarray  # (N,) the lip's points' output x, increasing
    dy: np.ndarray  # (N,) their y shifts

    @classmethod
    def of(cls, src: np.ndarray, dst: np.ndarray) -> _Jaw:
        """A lip's points (N, 2) in the portrait and in the output."""
        shift = dst - src
        order = np.argsort(dst[:, 0], kind="stable")
        return cls(np.float32(shift[:, 0].mean()), dst[order, 0], shift[order, 1])

    def lift(self, x: np.ndarray) -> np.ndarray:
        """y shift at output columns x (held at the lip's ends beyond them), same shape, float32."""
        return np.interp(x, self.xs, self.dy).astype(np.float32)

    def move(self, points: np.ndarray) -> np.ndarray:
        """Portrait points (N, 2) -> where this jaw takes them in the output."""
        x = points[:, 0] + float(self.across)
        return np.stack([x, points[:, 1] + np.interp(x, self.xs, self.dy)], axis=1)


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
                style: MouthStyle) -> MouthLayer | None:
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
    # the rest with the lower lip (a smile shows mostly upper teeth). Across, each jaw moves as a whole (its
    # lip's mean shift); up and down, each column follows its own lip, so the teeth stay against the lip even
    # where a smile bends it.
    src_up, src_lo = src.take(_UPPER, axis=0), src.take(_LOWER, axis=0)
    up_jaw, lo_jaw = _Jaw.of(src_up, dst.take(_UPPER, axis=0)), _Jaw.of(src_lo, dst.take(_LOWER, axis=0))
    mid = src_up + _UPPER_TEETH_SHARE * (src_lo - src_up)
    a, b = src[_CORNERS[0]][None], src[_CORNERS[1]][None]
    upper_half = np.concatenate([a, src_up, b, mid[::-1]])
    lower_half = np.concatenate([a, mid, b, src_lo[::-1]])
    shown_up = polygon_mask(shape, up_jaw.move(upper_half) - origin)
    shown_lo = polygon_mask(shape, lo_jaw.move(lower_half) - origin)
    xs = np.arange(shape[1], dtype=np.float32)[None, :]  # (1, w) and (h, 1): what depends on one only stays 1-D
    ys = np.arange(shape[0], dtype=np.float32)[:, None]
    use_lower = shown_lo > shown_up
    origin32 = origin.astype(np.float32)
    columns = xs + origin32[0]
    sample_map = np.empty((*shape, 2), dtype=np.float32)
    sample_map[..., 0] = columns - np.where(use_lower, lo_jaw.across, up_jaw.across)
    sample_map[..., 1] = (ys + origin32[1]) - np.where(use_lower, lo_jaw.lift(columns), up_jaw.lift(columns))
    shown = np.minimum(shown_up + shown_lo, 1.0)[..., None]
    # the rest of the gap: the mean real mouth at this opening, in the portrait's own skin light
    axes = MouthAxes.of(dst)
    q, t = axes.coordinates(columns, ys + origin32[1])
    cavity = style.prior.sample(axes.openness(), q, t, scale=style.skin)
    if style.grey:  # a grey portrait gets a grey mouth, not a red tongue
        cavity = np.repeat((cavity @ _LUMA)[..., None], 3, axis=2)
    gain = shown  # the portrait's own teeth and cavity carry their own shading
    tint = (1.0 - shown) * cavity
    box = (lo[0], lo[1], hi[0], hi[1])
    return MouthLayer(box, sample_map, gain.astype(np.float32), tint.astype(np.float32), alpha[..., None])


def paint_mouth(out: np.ndarray, image: np.ndarray, layer: MouthLayer) -> None:
    """Blend the mouth layer into `out` (H, W, 3) uint8 in place, sampling the portrait `image`."""
    x0, y0, x1, y1 = layer.box
    sample = cv2.remap(image, layer.sample_map, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    colour = sample.astype(np.float32) * layer.gain + layer.tint
    region = out[y0:y1, x0:x1]
    blended = region.astype(np.float32) * (1.0 - layer.alpha) + colour * layer.alpha
    region[...] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
