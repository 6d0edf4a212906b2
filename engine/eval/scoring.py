"""From one system's streamed runs to its row of numbers: which frames are scored, and how.

Cross-reenactment (held-out portrait, looped driving clip): motion following, jitter, chunk-boundary jump,
sharpness and identity over the first `eval_frames`, and drift between two windows (minute 1 and minute 10
of the full run). Self-reenactment (a clip's first frame as portrait): PSNR and SSIM to the clip itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.animator import Motion, Portrait
from engine.config import FACE_CROP_SCALE
from engine.eval import metrics
from engine.eval.held_out import face_box
from engine.eval.identity import FaceDescriptor
from engine.eval.systems import DrivingClip, RunOutput
from engine.face import topology as topo
from engine.face.crop import CropBox
from engine.face.tracker import FaceTracker

TILE = 160  # side of a contact-sheet tile in pixels


@dataclass(frozen=True)
class EvalPlan:
    """Frame counts of one evaluation. The default is the full run; `QUICK` the CI-sized one."""

    eval_frames: int = 120  # cross-reenactment frames scored for the main table (one pass of the clip)
    self_frames: int = 120  # self-reenactment frames scored for PSNR / SSIM
    drift_early_end: int = 1800  # end of the "minute 1" window (frames at 30 fps)
    drift_late_end: int = 18000  # end of the "minute 10" window: the cross run's length
    drift_window: int = 60  # frames scored in each drift window
    identity_stride: int = 3  # identity is measured on every n-th frame (dlib is ~0.1 s a face on a CPU)
    contact_rows: int = 5  # time samples in the contact sheets
    attention_frames: int = 1800  # frames of the attention probe (reference_attention.py): distances up to that

    @property
    def total_frames(self) -> int:
        """Length of the cross-reenactment run."""
        return max(self.eval_frames, self.drift_late_end)

    def window(self, end: int) -> range:
        """The drift window that ends at frame `end`."""
        return range(max(0, end - self.drift_window), end)

    def keeps(self, index: int) -> bool:
        """Whether a frame of the cross run is needed for scoring."""
        return (index < self.eval_frames or index in self.window(self.drift_early_end)
                or index in self.window(self.drift_late_end))

    def contact_indices(self, frames: int) -> list[int]:
        """Evenly spaced frame indices for contact-sheet rows."""
        return [int(i) for i in np.linspace(frames * 0.08, frames - 1, self.contact_rows).round()]


QUICK = EvalPlan(eval_frames=120, self_frames=60, drift_early_end=60, drift_late_end=300, drift_window=30,
                 identity_stride=6, attention_frames=300)


@dataclass
class Scores:
    """One system's numbers and the per-frame series the plots need."""

    values: dict[str, float] = field(default_factory=dict)
    frame_diffs: np.ndarray | None = None  # (T-1,) frame difference over the eval window
    borders: np.ndarray | None = None  # (T-1,) True where the pair straddles a chunk border
    tiles: list[np.ndarray] = field(default_factory=list)  # contact-sheet crops at plan.contact_indices
    drift_tiles: list[np.ndarray] = field(default_factory=list)  # last frame of the minute-1 / minute-10 windows


def face_region(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The part of `image` inside the bounding box of the face oval of (478, 2) landmarks."""
    return image[face_box(np.asarray(landmarks), image.shape)]


def track_frames(frames: list[np.ndarray]) -> np.ndarray:
    """(T, 478, 2) landmarks found by a fresh mediapipe tracker (tracking mode), NaN where none."""
    out = np.full((len(frames), topo.NUM_LANDMARKS, 2), np.nan)
    with FaceTracker() as tracker:
        for i, frame in enumerate(frames):
            found = tracker.track(frame)
            if found is not None:
                out[i] = found[:, :2]
    return out


def following_scores(frames: list[np.ndarray], targets: np.ndarray, driving: np.ndarray
                     ) -> tuple[dict[str, float], np.ndarray]:
    """How well output frames follow their motion: mediapipe run on the output; its landmarks' error to the
    `targets` (T, 478, 2) per region (mouth, eyes, pose) and their jitter against the `driving` tracks
    (T, 478, 2). Returns the numbers and the landmarks found (T, 478, 2), NaN where no face was found."""
    found = track_frames(frames)
    values = dict(metrics.landmark_errors(found, targets))
    values["jitter"] = metrics.temporal_jitter(found, driving)
    return values, found


def chunk_ids_for_jump(chunk_ids: np.ndarray, nominal_chunk: int) -> np.ndarray:
    """Chunk of each frame; an animator that emits one frame per call is cut into nominal chunks instead,
    so the warp baseline is measured on the same grid (its ratio then shows what seamless looks like)."""
    if len(np.unique(chunk_ids)) == len(chunk_ids):
        return np.arange(len(chunk_ids)) // nominal_chunk
    return chunk_ids


def identity_score(descriptor: FaceDescriptor, reference: np.ndarray, frames: dict[int, np.ndarray],
                   motions: list[Motion], indices: range | list[int]) -> float:
    """Mean cosine similarity to the portrait's descriptor over some kept frames (face box from the motion)."""
    sims = [metrics.cosine_similarity(descriptor.describe(frames[i], motions[i].landmarks), reference)
            for i in indices]
    return float(np.nanmean(sims)) if sims else math.nan


def mean_sharpness(frames: dict[int, np.ndarray], motions: list[Motion], indices) -> float:
    """Mean variance of the Laplacian of the face region over some kept frames."""
    return float(np.mean([metrics.sharpness(face_region(frames[i], motions[i].landmarks)) for i in indices]))


def score_cross(run: RunOutput, motions: list[Motion], clip: DrivingClip, portrait: Portrait, plan: EvalPlan,
                descriptor: FaceDescriptor, reference: np.ndarray, nominal_chunk: int) -> Scores:
    """Cross-reenactment numbers of one run (see the module docstring)."""
    t = plan.eval_frames
    frames = [run.frames[i] for i in range(t)]
    targets = np.stack([m.landmarks for m in motions[:t]])  # (T, 478, 2)
    driving = np.stack([clip.landmarks[i % len(clip.frames), :, :2] for i in range(t)])
    v, found = following_scores(frames, targets, driving)
    ids = chunk_ids_for_jump(run.chunk_ids[:t], nominal_chunk)
    stride = plan.identity_stride
    early, late = plan.window(plan.drift_early_end), plan.window(plan.drift_late_end)
    v["chunk_jump"] = metrics.chunk_boundary_jump(np.stack(frames), ids)
    v["sharpness"] = mean_sharpness(run.frames, motions, range(t))
    v["identity"] = identity_score(descriptor, reference, run.frames, motions, range(0, t, stride))
    v["faces_found"] = float(np.isfinite(found).all(axis=(1, 2)).mean())
    v["identity_min1"] = identity_score(descriptor, reference, run.frames, motions, early[::stride])
    v["identity_min10"] = identity_score(descriptor, reference, run.frames, motions, late[::stride])
    v["sharpness_min1"] = mean_sharpness(run.frames, motions, early)
    v["sharpness_min10"] = mean_sharpness(run.frames, motions, late)
    v["identity_drift"] = metrics.ratio(v["identity_min10"], v["identity_min1"])
    v["sharpness_drift"] = metrics.ratio(v["sharpness_min10"], v["sharpness_min1"])
    v["fps"] = run.fps
    box = CropBox.from_landmarks(portrait.landmarks, FACE_CROP_SCALE)
    return Scores(v, metrics.frame_differences(np.stack(frames)), ids[1:] != ids[:-1],
                  [box.crop(run.frames[i], TILE) for i in plan.contact_indices(t)],
                  [box.crop(run.frames[w[-1]], TILE) for w in (early, late)])


def score_self(run: RunOutput, truth: list[np.ndarray], plan: EvalPlan) -> dict[str, float]:
    """PSNR (dB) and SSIM of self-reenactment frames against the driving clip's own frames.

    Frame 0 is skipped: it is the portrait itself (and its PSNR may be infinite).
    """
    pairs = [(run.frames[i], truth[i % len(truth)]) for i in range(1, plan.self_frames)]
    return {"psnr": float(np.mean([metrics.psnr(a, b) for a, b in pairs])),
            "ssim": float(np.mean([metrics.ssim(a, b) for a, b in pairs]))}
