"""The cached tensor dataset: everything a training step reads, computed once, sampled on the device.

`build_cache` (run by `prepare`) writes, for one split, into DATA/cache_<split>/ as plain .npy files:
  frames   (N, R, R, 3) uint8    every frame of the split's video clips, clips one after another
  motion   (N, M, S, S) uint8    motion maps of the frames' landmarks (x 255)
  regions  (N, 2, R, R) uint8    loss regions: [soft face mask, mouth + eyes] (x 255)
  warps    (n, N, R, R, 3) uint8 frame i warped from reference j of its clip (the warp prior)
  refs     (n_clips, n) int64    global frame index of each clip's references, spread over the clip
  clips    (n_clips, 2) int64    [first frame, length] of each clip
Stills (one-frame clips) go to `stills` (S, R, R, 3) only: they train the codec, never the DiT.

`TrainingTensors` loads them onto a device once; `sample` draws a batch of self-reenactment sequences with
index arithmetic only (no decode, no warp): reference = one of the clip's references (never inside the
sequence's span when the clip is long enough), warp priors from it, targets = the real frames; time stride,
reversal, mirror and colour jitter, the same for reference, frames and priors.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from engine.data.clips import load_split
from engine.face import topology as topo

NAMES = ("frames", "motion", "regions", "warps", "refs", "clips", "stills")


def cache_dir(data_dir: Path, split: str) -> Path:
    """Folder of one split's tensor cache."""
    return Path(data_dir) / f"cache_{split}"


def _warps(args: tuple[np.ndarray, np.ndarray, int]) -> np.ndarray:
    """(frames (T, R, R, 3), landmarks (T, 478, 2), reference r) -> frame r warped to every frame (T, R, R, 3)."""
    from engine.warp import build_mesh, warp_with_mesh
    from engine.warp.mouth import MouthStyle

    frames, lms, r = args
    mesh = build_mesh(lms[r], frames.shape[1:3])
    style = MouthStyle.of(frames[r], lms[r])  # once per reference, as the animators do
    return np.stack([warp_with_mesh(frames[r], mesh, lm, style=style) for lm in lms])


def _maps(args: tuple[np.ndarray, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(landmarks (T, 478, 2), crop side R, motion size S) -> motion (T, M, S, S), regions (T, 2, R, R) uint8."""
    from engine.face.motion_map import MotionRenderer

    lms, r, motion_size = args
    renderer = MotionRenderer(motion_size)
    motion = np.stack([renderer.render(lm * (motion_size / r)) for lm in lms])
    return np.round(motion * 255).astype(np.uint8), np.stack([loss_regions(lm, r) for lm in lms])


def loss_regions(landmarks: np.ndarray, size: int) -> np.ndarray:
    """(478, 2) crop landmarks -> (2, size, size) uint8: the soft face mask the app composes with, and the
    mouth + eyes where the warp fails most (dilated a little), both x 255."""
    face = np.zeros((size, size), np.float32)
    hull = cv2.convexHull(landmarks[list(topo.FACE_OVAL)].astype(np.float32))
    cv2.fillConvexPoly(face, np.round(hull).astype(np.int32), 1.0, lineType=cv2.LINE_AA)
    k = max(3, size // 16) | 1
    face = cv2.GaussianBlur(face, (k, k), 0)
    detail = np.zeros((size, size), np.uint8)
    for loop in (topo.OUTER_LIPS, topo.RIGHT_EYE, topo.LEFT_EYE):
        pts = cv2.convexHull(landmarks[list(loop)].astype(np.float32))
        cv2.fillConvexPoly(detail, np.round(pts).astype(np.int32), 255, lineType=cv2.LINE_AA)
    detail = cv2.dilate(detail, np.ones((max(3, size // 32) | 1,) * 2, np.uint8))
    return np.stack([np.round(face * 255).astype(np.uint8), detail])


def _reference_frames(length: int, count: int) -> np.ndarray:
    """`count` frame indices spread over a clip of `length` frames (the centres of equal parts)."""
    return np.clip(((np.arange(count) + 0.5) * length / count).astype(np.int64), 0, length - 1)


def build_cache(data_dir: Path, split: str, motion_size: int, refs_per_clip: int = 6,
                workers: int | None = None, progress: Callable[[str], None] | None = None) -> Path:
    """Write the tensor cache of one split (see the module docstring); returns its folder."""
    clips = load_split(data_dir, split)
    videos = [c for c in clips if c.meta.get("kind") != "still"]
    stills = [c for c in clips if c.meta.get("kind") == "still"]
    out = cache_dir(data_dir, split)
    out.mkdir(parents=True, exist_ok=True)
    res = (videos or stills or [None])[0]
    if res is None:
        raise ValueError(f"split {split!r} of {data_dir} has no clips")
    r = res.frames.shape[1]
    refs_local = [_reference_frames(len(c.frames), refs_per_clip) for c in videos]
    total = sum(len(c.frames) for c in videos)
    warps = np.lib.format.open_memmap(out / "warps.npy.tmp", "w+", np.uint8, (refs_per_clip, total, r, r, 3))
    motion = np.lib.format.open_memmap(out / "motion.npy.tmp", "w+", np.uint8, (total, 3, motion_size, motion_size))
    regions = np.lib.format.open_memmap(out / "regions.npy.tmp", "w+", np.uint8, (total, 2, r, r))
    starts = np.cumsum([0] + [len(c.frames) for c in videos])[:-1].astype(np.int64)
    # One job per (clip, reference): the long clips dominate, and their references spread over the workers.
    warp_jobs = [(i, j) for i in range(len(videos)) for j in range(refs_per_clip)]
    workers = workers or max(1, min(len(warp_jobs), os.cpu_count() or 1))
    pool = ProcessPoolExecutor(workers) if workers > 1 and len(warp_jobs) > 1 else None
    run = pool.map if pool else map
    try:
        for i, (m, g) in enumerate(run(_maps, [(c.landmarks, r, motion_size) for c in videos])):
            a = int(starts[i])
            motion[a:a + len(m)], regions[a:a + len(m)] = m, g
        jobs = [(videos[i].frames, videos[i].landmarks, int(refs_local[i][j])) for i, j in warp_jobs]
        for done, ((i, j), w) in enumerate(zip(warp_jobs, run(_warps, jobs), strict=True)):
            warps[j, int(starts[i]):int(starts[i]) + len(w)] = w
            if progress and (done + 1) % refs_per_clip == 0:
                progress(f"cache {split}: clip {i + 1}/{len(videos)} ({len(w)} frames, {refs_per_clip} references)")
    finally:
        if pool:
            pool.shutdown()
    for arr in (warps, motion, regions):
        arr.flush()
    frames = np.concatenate([c.frames for c in videos]) if videos else np.zeros((0, r, r, 3), np.uint8)
    still_frames = np.concatenate([c.frames for c in stills]) if stills else np.zeros((0, r, r, 3), np.uint8)
    arrays = {"frames": frames, "stills": still_frames,
              "refs": np.stack([rl + s for rl, s in zip(refs_local, starts, strict=True)]) if videos
              else np.zeros((0, refs_per_clip), np.int64),
              "clips": np.stack([starts, [len(c.frames) for c in videos]], axis=1) if videos
              else np.zeros((0, 2), np.int64)}
    for name, arr in arrays.items():
        with open(out / f"{name}.npy.tmp", "wb") as f:  # a file object: np.save would append ".npy" to a name
            np.save(f, arr)
    del warps, motion, regions
    for name in NAMES:  # rename last: a cache is complete or absent
        (out / f"{name}.npy.tmp").replace(out / f"{name}.npy")
    (out / "meta.json").write_text(json.dumps({"clips": [c.meta for c in videos], "motion_size": motion_size,
                                               "resolution": r, "refs_per_clip": refs_per_clip}) + "\n")
    return out


@dataclass
class TrainingTensors:
    """One split's cache, on a device. Shapes as in the module docstring."""

    frames: torch.Tensor
    motion: torch.Tensor
    regions: torch.Tensor
    warps: torch.Tensor
    refs: torch.Tensor
    clips: torch.Tensor
    stills: torch.Tensor

    @classmethod
    def load(cls, data_dir: Path, split: str, device: str | torch.device = "cpu") -> TrainingTensors:
        """Load a cache written by build_cache (FileNotFoundError names the command that writes it)."""
        folder = cache_dir(data_dir, split)
        if not (folder / "meta.json").is_file():
            raise FileNotFoundError(f"{folder} has no tensor cache: run `main.py prepare` again")
        return cls(**{n: torch.from_numpy(np.load(folder / f"{n}.npy")).to(device) for n in NAMES})

    @property
    def num_clips(self) -> int:
        return int(self.clips.shape[0])

    @property
    def device(self) -> torch.device:
        return self.frames.device

    def sample(self, batch: int, length: int, gen: torch.Generator, augment: bool = True,
               far_references: bool = False, exact_prior_share: float = 0.0,
               clip_balance: float = 1.0, degrade_share: float = 0.0,
               hue_share: float = 0.0) -> dict[str, torch.Tensor]:
        """A batch of self-reenactment sequences of `length` frames.

        The reference is any of the clip's references (only the half farthest from the sequence with
        `far_references`). `exact_prior_share` of the sequences get the real frames as their warp prior: a
        prior that needs no correction, so the model learns to leave a good warp alone (without them it
        "corrects" an accurate warp as much as a poor one, and loses several dB where the warp is right).
        A clip is drawn with weight frames**`clip_balance` (1: every frame equally likely to start a sequence).
        `degrade_share` of the sequences (with `augment`) are seen through a lower-resolution camera: reference,
        frames and priors alike, so the model learns to keep a soft portrait soft instead of inventing detail.
        `hue_share` of them get a random hue rotation (about the grey axis, any angle), alike for the whole
        sequence: a few identities' skin, lips and teeth in many colours, so the colours must come from the
        reference instead of being remembered.

        Returns ref (B, R, R, 3) uint8, ref_motion (B, M, S, S) float, frames/warps (B, L, R, R, 3) uint8,
        motion (B, L, M, S, S) float in [0, 1], regions (B, L, 2, R, R) float in [0, 1].
        """
        dev = self.device

        def rand(n: int = batch) -> torch.Tensor:
            return torch.rand(n, generator=gen, device=gen.device).to(dev)

        weights = self.clips[:, 1].double() ** clip_balance
        cumulative = weights.cumsum(0)
        clip = torch.searchsorted(cumulative, rand().double() * cumulative[-1], right=True).clamp_max(
            self.num_clips - 1)  # (B,)
        first, n = self.clips[clip, 0], self.clips[clip, 1]
        stride = torch.ones_like(n)
        if augment:
            stride = torch.where((rand() < 0.5) & (n >= 2 * length), 2, 1)
        span = (length - 1) * stride + 1
        start = (rand() * (n - span + 1).clamp_min(1)).long()
        steps = torch.arange(length, device=dev)
        if augment:
            steps = torch.where((rand() < 0.5)[:, None], length - 1 - steps, steps)  # reversed in time
        idx = (first[:, None] + (start[:, None] + stride[:, None] * steps).clamp_max(n[:, None] - 1)
               .clamp_min(0)).long()  # (B, L)
        ref_slot = (self._far_reference(clip, idx, rand()) if far_references
                    else (rand() * self.refs.shape[1]).long().clamp_max(self.refs.shape[1] - 1))
        ref_idx = self.refs[clip, ref_slot]
        out = {"ref": self.frames[ref_idx], "ref_motion": self.motion[ref_idx].float() / 255,
               "frames": self.frames[idx], "warps": self.warps[ref_slot[:, None], idx],
               "motion": self.motion[idx].float() / 255, "regions": self.regions[idx].float() / 255}
        if exact_prior_share > 0:
            exact = (rand() < exact_prior_share).view(-1, 1, 1, 1, 1)
            out["warps"] = torch.where(exact, out["frames"], out["warps"])
        if augment:
            flip = rand() < 0.5  # mirror: images and maps together (the motion map's channels are symmetric)
            for key in out:
                x = out[key]
                out[key] = torch.where(flip.view(-1, *[1] * (x.dim() - 1)), x.flip(-2 if x.shape[-1] == 3 else -1), x)
            gain, bias, sat = 0.8 + 0.4 * rand(), -20 + 40 * rand(), 0.7 + 0.6 * rand()
            tint = (torch.rand(batch, 3, generator=gen, device=gen.device).to(dev) - 0.5) * 20
            angle = (torch.where(rand() < hue_share, 2 * np.pi * rand(), torch.zeros(batch, device=dev))
                     if hue_share > 0 else None)
            factor = (torch.where(rand() < degrade_share, 1.5 + 1.5 * rand(), torch.ones(batch, device=dev))
                      if degrade_share > 0 else None)
            for key in ("ref", "frames", "warps"):  # one look for the whole sequence
                x = _colour(out[key], gain, bias, sat, tint)
                x = x if angle is None else _rotate_hue(x, angle)
                out[key] = x if factor is None else _soften(x, factor)
        return out

    def _far_reference(self, clip: torch.Tensor, idx: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """A reference slot per sample, drawn among those farthest in time from the sequence (the half of the
        clip's references with the largest distance), so that the prior must really move the reference."""
        refs = self.refs[clip]  # (B, n)
        distance = (refs[:, :, None] - idx[:, None, :]).abs().min(dim=2).values  # (B, n)
        order = distance.argsort(dim=1, descending=True)
        half = max(1, refs.shape[1] // 2)
        pick = (u * half).long().clamp_max(half - 1)
        return order[torch.arange(len(clip), device=clip.device), pick]

    def still_images(self, count: int, gen: torch.Generator) -> torch.Tensor:
        """Random frames, priors and stills for the codec: (count, R, R, 3) uint8."""
        pools = [self.frames, self.warps.flatten(0, 1)] + ([self.stills] if len(self.stills) else [])
        per = -(-count // len(pools))
        picks = [p[(torch.rand(per, generator=gen, device=gen.device).to(self.device) * len(p)).long()
                   .clamp_max(len(p) - 1)] for p in pools if len(p)]
        images = torch.cat(picks)[:count]
        flip = (torch.rand(len(images), generator=gen, device=gen.device).to(self.device) < 0.5)
        return torch.where(flip[:, None, None, None], images.flip(-2), images)


def _colour(images: torch.Tensor, gain: torch.Tensor, bias: torch.Tensor, sat: torch.Tensor,
            tint: torch.Tensor) -> torch.Tensor:
    """The same brightness/contrast/saturation/tint change per sample: uint8 (B, ..., 3) -> uint8."""
    shape = (-1,) + (1,) * (images.dim() - 1)
    x = images.float()
    grey = x.mean(dim=-1, keepdim=True)
    x = (grey + (x - grey) * sat.view(shape)) * gain.view(shape) + bias.view(shape)
    x = x + tint.view(tint.shape[0], *([1] * (images.dim() - 2)), 3)
    return x.clamp(0, 255).round().to(torch.uint8)


def _rotate_hue(images: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Each sample's colours rotated by `angle` (radians) about the grey axis, greys unchanged (Rodrigues):
    uint8 (B, ..., 3), angle (B,) -> uint8, same shape."""
    k = torch.full((3,), 3 ** -0.5, device=images.device)
    cross = torch.tensor([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]], device=images.device) * 3 ** -0.5
    c, s = angle.cos().view(-1, 1, 1), angle.sin().view(-1, 1, 1)
    rot = c * torch.eye(3, device=images.device) + s * cross + (1 - c) * torch.outer(k, k)  # (B, 3, 3)
    x = images.float().reshape(images.shape[0], -1, 3)
    return torch.einsum("bij,bnj->bni", rot, x).clamp(0, 255).round().to(torch.uint8).reshape(images.shape)


#: the resolution factors a degraded sequence is rounded to (one resize pair per factor, not per sample)
SOFTEN_FACTORS = (1.5, 2.0, 2.5, 3.0)


def _soften(images: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Each sample seen at 1/factor of its resolution (area down, bilinear up), factor rounded to SOFTEN_FACTORS;
    factor 1 leaves a sample exactly as it was: uint8 (B, ..., R, R, 3), factor (B,) -> uint8, same shape."""
    shape = images.shape
    side = shape[-2]
    x = images.reshape(shape[0], -1, side, side, 3)
    out = x.clone()
    levels = torch.tensor(SOFTEN_FACTORS, device=factor.device)
    nearest = (factor[:, None] - levels).abs().argmin(dim=1)
    for i, f in enumerate(SOFTEN_FACTORS):
        pick = (factor > 1.0) & (nearest == i)
        if not bool(pick.any()):
            continue
        sel = x[pick].flatten(0, 1).permute(0, 3, 1, 2).float()  # (n, 3, R, R)
        low = torch.nn.functional.interpolate(sel, size=max(1, round(side / f)), mode="area")
        up = torch.nn.functional.interpolate(low, size=side, mode="bilinear", align_corners=False)
        out[pick] = up.permute(0, 2, 3, 1).clamp(0, 255).round().to(torch.uint8).reshape(-1, *x.shape[1:])
    return out.reshape(shape)
