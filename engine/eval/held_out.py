"""Self-reenactment on held-out real video: where the animator's frames can be compared with the truth.

A held-out clip's first frame is the portrait; the clip's own tracked motion drives it; every output frame is
compared with the real frame in the face region (the face oval's box in the real frame) and in the mouth
region (the outer lips' box, grown by half its size), where the warp fails most. Also:
  flicker      mean absolute change of the face region between consecutive output frames, over the
               stillest 20 % of frames (least driving-landmark motion): a still face must give a still avatar
  vs warp      PSNR of the face region against the warp baseline's output (how much the system changes)
Contact sheets pick the clip's moments where a warp is weakest: widest open mouth, most closed eyes, largest
head turn, and a chunk border.

The clips: `carphone` (never trained on) and franck's held-out tail (frames after a gap of 100 from the
training part: `prepare --builtin`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.eval import metrics
from engine.eval.markdown import cell
from engine.eval.systems import DrivingClip
from engine.face import topology as topo

STILL_SHARE = 0.2  # stillest share of frames scored for flicker


@dataclass(frozen=True)
class HeldOutClip:
    """A range of frames of a real video used for self-reenactment."""

    name: str
    path: Path
    start: int = 0
    frames: int = 120


def _box(points: np.ndarray, shape: tuple[int, ...], grow: float = 0.0) -> tuple[slice, slice]:
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = (hi - lo) * grow
    x0, y0 = np.clip(np.floor(lo - pad).astype(int), 0, [shape[1] - 1, shape[0] - 1])
    x1, y1 = np.clip(np.ceil(hi + pad).astype(int) + 1, 1, [shape[1], shape[0]])
    return slice(y0, y1), slice(x0, x1)


def face_box(landmarks: np.ndarray, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """Rows/columns of the face oval's bounding box of (478, 2+) landmarks."""
    return _box(landmarks[list(topo.FACE_OVAL), :2], shape)


def mouth_box(landmarks: np.ndarray, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """Rows/columns of the outer lips' box, grown by half its size on each side."""
    return _box(landmarks[list(topo.OUTER_LIPS), :2], shape, 0.5)


def still_frames(landmarks: np.ndarray, share: float = STILL_SHARE) -> np.ndarray:
    """Indices i >= 1 of the `share` of frames whose landmarks moved least from frame i - 1."""
    iod = np.array([metrics.inter_ocular_distance(lm) for lm in landmarks])
    motion = np.linalg.norm(landmarks[1:, :, :2] - landmarks[:-1, :, :2], axis=2).mean(axis=1) / iod[1:]
    motion = np.where(np.isfinite(motion), motion, np.inf)
    count = max(1, int(len(motion) * share))
    return np.sort(np.argsort(motion)[:count] + 1)


@dataclass
class HeldOutScores:
    """One system on one clip."""

    values: dict[str, float] = field(default_factory=dict)
    faces: list[np.ndarray] = field(default_factory=list)  # face-region crops per frame (for `vs warp`)
    tiles: dict[str, np.ndarray] = field(default_factory=dict)  # moment -> output frame


def moments(clip: DrivingClip, chunk_frames: int) -> dict[str, int]:
    """Frame indices of the clip's open mouth, blink, head turn and a chunk border (frame >= 1)."""
    lms = clip.landmarks[:, :, :2]
    ok = np.isfinite(lms).all(axis=(1, 2))
    ok[0] = False
    iod = np.array([metrics.inter_ocular_distance(lm) if o else np.nan for lm, o in zip(lms, ok, strict=True)])
    mouth = np.abs(lms[:, 13, 1] - lms[:, 14, 1]) / iod  # inner lips, upper and lower middle
    eyes = (np.abs(lms[:, 159, 1] - lms[:, 145, 1]) + np.abs(lms[:, 386, 1] - lms[:, 374, 1])) / iod
    oval = lms[:, list(topo.FACE_OVAL)]
    turn = np.abs(lms[:, 1, 0] - oval.mean(axis=1)[:, 0]) / (oval[:, :, 0].max(1) - oval[:, :, 0].min(1))
    pick = {"open mouth": np.nanargmax(np.where(ok, mouth, np.nan)),
            "blink": np.nanargmin(np.where(ok, eyes, np.nan)),
            "head turn": np.nanargmax(np.where(ok, turn, np.nan))}
    border = (len(lms) // 2) // chunk_frames * chunk_frames  # first frame of a chunk, mid-clip
    pick["chunk border"] = max(chunk_frames, border)
    return {k: int(v) for k, v in pick.items()}


def score_clip(frames: dict[int, np.ndarray], clip: DrivingClip, chunk_frames: int) -> HeldOutScores:
    """Face/mouth PSNR and SSIM, still-face flicker of one system's output frames (index -> RGB)."""
    lms = clip.landmarks
    n = len(clip.frames)
    face_psnr, face_ssim, mouth_psnr, faces, sharp, real_sharp = [], [], [], [], [], []
    for i in range(1, n):
        if not np.isfinite(lms[i]).all():
            faces.append(np.zeros((1, 1, 3), np.uint8))
            continue
        fb, mb = face_box(lms[i], clip.frames[i].shape), mouth_box(lms[i], clip.frames[i].shape)
        out, real = frames[i], clip.frames[i]
        face_psnr.append(metrics.psnr(out[fb], real[fb]))
        face_ssim.append(metrics.ssim(out[fb], real[fb]))
        sharp.append(metrics.sharpness(out[fb]))
        real_sharp.append(metrics.sharpness(real[fb]))
        mouth_psnr.append(metrics.psnr(out[mb], real[mb]))
        faces.append(out[fb].copy())
    still = still_frames(lms)
    flicker = []
    for i in still:
        if i - 1 < 1 or not np.isfinite(lms[i]).all():
            continue
        fb = face_box(lms[i], clip.frames[i].shape)
        flicker.append(np.abs(frames[i][fb].astype(np.float32) - frames[i - 1][fb].astype(np.float32)).mean())
    values = {"face_psnr": float(np.mean(face_psnr)), "face_ssim": float(np.mean(face_ssim)),
              "sharpness_vs_real": metrics.ratio(float(np.mean(sharp)), float(np.mean(real_sharp))),
              "mouth_psnr": float(np.mean(mouth_psnr)), "flicker": float(np.mean(flicker)) if flicker else np.nan}
    tiles = {name: frames[i] for name, i in moments(clip, chunk_frames).items()}
    return HeldOutScores(values, faces, tiles)


def compare_with_warp(scores: dict[str, HeldOutScores]) -> None:
    """Adds `vs_warp_psnr` (face region against the warp's output) and `flicker_vs_warp` to every system."""
    warp = scores.get("warp")
    if warp is None:
        return
    for s in scores.values():
        pairs = [(a, b) for a, b in zip(s.faces, warp.faces, strict=True) if a.size > 3]
        s.values["vs_warp_psnr"] = (float(np.mean([metrics.psnr(a, b) for a, b in pairs])) if s is not warp
                                    else float("inf"))
        s.values["flicker_vs_warp"] = metrics.ratio(s.values["flicker"], warp.values["flicker"])


COLUMNS: list[tuple[str, str, str]] = [
    ("face_psnr", "face PSNR dB ↑", "{:.2f}"),
    ("face_ssim", "face SSIM ↑", "{:.4f}"),
    ("sharpness_vs_real", "face sharpness / real's", "{:.2f}"),
    ("mouth_psnr", "mouth PSNR dB ↑", "{:.2f}"),
    ("flicker", "still-face flicker ↓", "{:.2f}"),
    ("flicker_vs_warp", "flicker / warp's", "{:.2f}"),
    ("vs_warp_psnr", "face PSNR vs warp dB", "{:.1f}"),
]


def table(per_clip: dict[str, dict[str, HeldOutScores]]) -> str:
    """Markdown: one row per (clip, system)."""
    import math

    head = "| clip | system | " + " | ".join(h for _, h, _ in COLUMNS) + " |"
    rule = "|---|---|" + "---:|" * len(COLUMNS)
    rows = [f"| {clip} | {name} | " + " | ".join(cell(s.values.get(k, math.nan), f) for k, _, f in COLUMNS) + " |"
            for clip, systems in per_clip.items() for name, s in systems.items()]
    return "\n".join([head, rule, *rows])


def contact_sheet(per_clip: dict[str, dict[str, HeldOutScores]], clips: dict[str, DrivingClip],
                  shown: list[str], out_png: Path, tile_of: Callable[[np.ndarray, np.ndarray], np.ndarray],
                  chunk_frames: int) -> None:
    """Rows: real | each shown system; columns: each clip's moments. `tile_of(image, landmarks)` crops a tile."""
    from engine.eval import plots

    columns, labels = {"real": []}, []
    for name in shown:
        columns[name] = []
    for clip_name, systems in per_clip.items():
        clip = clips[clip_name]
        for moment, i in moments(clip, chunk_frames).items():
            lm = clip.landmarks[i]
            labels.append(f"{clip_name}: {moment} ({i})")
            columns["real"].append(tile_of(clip.frames[i], lm))
            for name in shown:
                columns[name].append(tile_of(systems[name].tiles[moment], lm))
    plots.contact_sheet(list(columns.items()), labels, out_png,
                        "Held-out self-reenactment at the warp's hard moments (real | systems, face crops)")
