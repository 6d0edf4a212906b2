"""Training samples from prepared clips: sequences of aligned frames with their warp priors and motion maps.

Warp priors (a reference frame of the clip warped to each frame's landmarks) are computed once at load, for
a few reference frames per clip, in a process pool. Augmentation happens per sample: time stride (speed),
reversal, horizontal flip and colour jitter, applied identically to the reference, frames and warps.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from engine.data.clips import Clip
from engine.face.motion_map import MotionRenderer

REFS_PER_CLIP = 4


def _clip_warps(args: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """(frames (T,R,R,3), landmarks (T,478,2), refs (n,)) -> warps (n, T, R, R, 3) uint8."""
    from engine.warp import build_mesh, warp_with_mesh

    frames, lms, refs = args
    size = frames.shape[1:3]
    out = np.empty((len(refs), *frames.shape), np.uint8)
    for i, r in enumerate(refs):
        mesh = build_mesh(lms[r], size)
        for t in range(len(frames)):
            out[i, t] = warp_with_mesh(frames[r], mesh, lms[t])
    return out


@dataclass
class Sample:
    """One training sequence (numpy, uint8 images, float32 maps)."""

    ref: np.ndarray  # (R, R, 3)
    ref_motion: np.ndarray  # (M, S, S)
    frames: np.ndarray  # (L, R, R, 3)
    warps: np.ndarray  # (L, R, R, 3)
    motion: np.ndarray  # (L, M, S, S)


class ClipSet:
    """Clips + precomputed warp priors; draws augmented sequences of `length` frames."""

    def __init__(self, clips: list[Clip], motion_size: int, workers: int | None = None) -> None:
        if not clips:
            raise ValueError("no clips to train on")
        self.clips = clips
        self.refs = [np.linspace(0, len(c.frames) - 1, REFS_PER_CLIP).round().astype(np.int64) for c in clips]
        jobs = [(c.frames, c.landmarks, r) for c, r in zip(clips, self.refs, strict=True)]
        workers = workers or min(len(jobs), os.cpu_count() or 1)
        if workers > 1:
            with ProcessPoolExecutor(workers) as pool:
                self.warps = list(pool.map(_clip_warps, jobs))
        else:
            self.warps = [_clip_warps(j) for j in jobs]
        self.resolution = clips[0].frames.shape[1]
        self.renderer = MotionRenderer(motion_size)
        self.motion_scale = motion_size / self.resolution

    def _motion(self, lms: np.ndarray) -> np.ndarray:
        return np.stack([self.renderer.render(lm * self.motion_scale) for lm in lms])

    def sample(self, length: int, rng: np.random.Generator, augment: bool = True) -> Sample:
        """A random sequence of `length` frames from a random clip, with one of its references."""
        ci = int(rng.integers(len(self.clips)))
        clip = self.clips[ci]
        t_total = len(clip.frames)
        stride = int(rng.integers(1, 3)) if augment and t_total >= 2 * length else 1
        span = (length - 1) * stride + 1
        start = int(rng.integers(0, max(1, t_total - span + 1)))
        idx = np.clip(start + stride * np.arange(length), 0, t_total - 1)
        if augment and rng.random() < 0.5:
            idx = idx[::-1]
        ri = int(rng.integers(len(self.refs[ci])))
        r = int(self.refs[ci][ri])
        ref, ref_lm = clip.frames[r], clip.landmarks[r]
        frames, lms, warps = clip.frames[idx], clip.landmarks[idx], self.warps[ci][ri][idx]
        if augment and rng.random() < 0.5:  # mirror: images and landmark x; motion-map channels are symmetric
            ref, frames, warps = ref[:, ::-1], frames[:, :, ::-1], warps[:, :, ::-1]
            ref_lm = _mirror(ref_lm, self.resolution)
            lms = _mirror(lms, self.resolution)
        if augment:
            ref, frames, warps = _colour_jitter((ref, frames, warps), rng)
        return Sample(np.ascontiguousarray(ref), self._motion(ref_lm[None])[0], np.ascontiguousarray(frames),
                      np.ascontiguousarray(warps), self._motion(lms))

    def images(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """Random single frames and warp priors for the codec: (count, R, R, 3) uint8."""
        out = []
        for _ in range(count):
            ci = int(rng.integers(len(self.clips)))
            t = int(rng.integers(len(self.clips[ci].frames)))
            if rng.random() < 0.5:
                img = self.clips[ci].frames[t]
            else:
                img = self.warps[ci][int(rng.integers(REFS_PER_CLIP))][t]
            if rng.random() < 0.5:
                img = img[:, ::-1]
            out.append(_colour_jitter((img,), rng)[0])
        return np.stack(out)


def _mirror(lms: np.ndarray, size: int) -> np.ndarray:
    out = lms.copy()
    out[..., 0] = size - 1 - out[..., 0]
    return out


def _colour_jitter(images: tuple[np.ndarray, ...], rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Same brightness/contrast/saturation/tint change for every image given."""
    gain = rng.uniform(0.8, 1.2)
    bias = rng.uniform(-20, 20)
    sat = rng.uniform(0.7, 1.3)
    tint = rng.uniform(-10, 10, size=3)
    out = []
    for img in images:
        x = img.astype(np.float32)
        grey = x.mean(axis=-1, keepdims=True)
        x = (grey + (x - grey) * sat) * gain + bias + tint
        out.append(np.clip(x, 0, 255).astype(np.uint8))
    return tuple(out)


def collate(samples: list[Sample], device: torch.device | str) -> dict[str, torch.Tensor]:
    """Stack samples into tensors on `device`: images stay uint8 (B, ..., 3), maps float32."""
    def stack(name: str) -> torch.Tensor:
        return torch.from_numpy(np.stack([getattr(s, name) for s in samples])).to(device, non_blocking=True)

    return {name: stack(name) for name in ("ref", "ref_motion", "frames", "warps", "motion")}
