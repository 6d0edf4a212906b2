"""The systems compared by `main.py eval`, the shared driving input, and one streamed run of an animator.

All systems see the same Motion sequence: the driving clip is tracked once and retargeted once onto the
portrait, then the clip loops (frame i answers clip frame i mod n at time i / fps). Only the animator's time
in push/flush is counted as its speed, so tracking, which every system shares, does not blur the comparison.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from engine.animator import Animator, Motion, Portrait
from engine.config import StreamConfig
from engine.face.retarget import RetargetConfig, Retargeter
from engine.face.tracker import FaceTracker
from engine.video import VideoFileSource


@dataclass(frozen=True)
class System:
    """One animator configuration under evaluation; `stream` None is the warp baseline. `blur_sigma` > 0: its
    frames blurred (engine/eval/blurred.py), a reference for what softness alone does to the metrics."""

    name: str
    description: str
    stream: StreamConfig | None
    blur_sigma: float = 0.0


REFERENCE_BLUR_SIGMA = 1.0  # px: the blur of the "warp, blurred" reference row


def standard_systems(base: StreamConfig) -> list[System]:
    """Warp baseline (and its blurred reference); Knot Forcing with `base`; the paper's window of generated
    frames; and the ablations of the paper's ideas, each one switch changed from that generated-window
    configuration."""
    gen = replace(base, window_source="generated")
    return [
        System("warp", "piecewise-affine warp of the portrait (baseline, and the DiT's warp prior)", None),
        System("warp, blurred", "reference only, not a product: the warp's frames through a Gaussian blur of sigma "
                                f"{REFERENCE_BLUR_SIGMA:g} px (what a softer picture alone does to PSNR and SSIM)",
               None, REFERENCE_BLUR_SIGMA),
        System("knot", f"Knot Forcing as shipped (K={base.chunk_frames}, k={base.knot_frames}, "
                       f"W={base.window_frames}, window of {base.window_source.replace('_', ' ')} latents)", base),
        System("generated window", "the window keeps the generated latents (the paper's design); the rows below "
                                   "change one switch of this", gen),
        System("no knot", "k = 0: chunks are not tied by a knot frame", replace(gen, knot_frames=0)),
        System("no running ahead", "reference time index fixed instead of kept ahead of the chunk",
               replace(gen, running_ahead=False)),
        System("no reference cache", "portrait only in the sliding window, evicted after W frames",
               replace(gen, use_reference_cache=False)),
        System("short window", "W = 3 clean frames in the window", replace(gen, window_frames=3)),
        System("long window", "W = 12 clean frames in the window", replace(gen, window_frames=12)),
    ]


def build_animator(system: System, weights: Path, device: str) -> Animator:
    """A fresh animator for `system` (Knot Forcing ones load `weights`, whatever preset they are), exactly:
    EngineUnavailableError when it cannot be loaded."""
    from engine.animator_factory import AnimatorSpec, load_animator

    if system.stream is None:
        animator = load_animator(AnimatorSpec("warp"))
    else:
        animator = load_animator(AnimatorSpec("knot", None, device, Path(weights), system.stream))
    if system.blur_sigma > 0:
        from engine.eval.blurred import BlurredAnimator

        return BlurredAnimator(animator, system.blur_sigma)
    return animator


@dataclass
class DrivingClip:
    """A driving video tracked once."""

    frames: list[np.ndarray]  # n x (H, W, 3) uint8 RGB
    landmarks: np.ndarray  # (n, 478, 3) float32 pixels, NaN where no face was found
    fps: float
    track_ms: float  # mediapipe time per frame, for the report

    def landmarks_at(self, i: int) -> np.ndarray | None:
        """Landmarks of looped frame i, or None where no face was found."""
        lm = self.landmarks[i % len(self.frames)]
        return lm if np.isfinite(lm).all() else None


def track_clip(path: Path, tracker: FaceTracker, start: int = 0, count: int | None = None) -> DrivingClip:
    """Read a driving clip (frames start .. start + count, default all) and track its face in tracking mode."""
    with VideoFileSource(path) as source:
        frames = list(itertools.islice(source, start, None if count is None else start + count))
        fps = source.fps
    start = time.perf_counter()
    tracked = [tracker.track(f) for f in frames]
    track_ms = (time.perf_counter() - start) * 1000 / max(len(frames), 1)
    nan = np.full((478, 3), np.nan, np.float32)
    return DrivingClip(frames, np.stack([nan if t is None else t for t in tracked]), fps, track_ms)


def retarget_clip(portrait: Portrait, clip: DrivingClip, total: int,
                  config: RetargetConfig | None = None) -> list[Motion]:
    """`total` motions on `portrait`: the clip looped, frame i at time i / fps."""
    retargeter = Retargeter(portrait.landmarks, config)
    return [retargeter.retarget(clip.landmarks_at(i), i / clip.fps) for i in range(total)]


@dataclass
class RunOutput:
    """What one streamed run left for scoring."""

    frames: dict[int, np.ndarray]  # frame index -> (H, W, 3) uint8 RGB, only the indices asked for
    chunk_ids: np.ndarray  # (T,) number of the push/flush call that emitted each frame
    seconds: float  # time spent inside the animator
    frames_out: int

    @property
    def fps(self) -> float:
        """Frames per second of animator time."""
        return self.frames_out / self.seconds if self.seconds > 0 else float("nan")


def run_animator(animator: Animator, portrait: Portrait, motions: Sequence[Motion],
                 keep: Callable[[int], bool], progress: Callable[[int], None] | None = None) -> RunOutput:
    """Stream `motions` through `animator` and keep the frames whose index `keep` accepts."""
    animator.set_portrait(portrait)
    kept: dict[int, np.ndarray] = {}
    chunk_ids = np.full(len(motions), -1, np.int64)
    seconds = 0.0
    count = 0
    for call in range(len(motions) + 1):
        start = time.perf_counter()
        out = animator.push(motions[call]) if call < len(motions) else animator.flush()
        seconds += time.perf_counter() - start
        for frame in out:
            if frame.index < len(chunk_ids):
                chunk_ids[frame.index] = call
            if keep(frame.index):
                kept[frame.index] = frame.image.copy()
        count += len(out)
        if progress is not None and call % 500 == 0:
            progress(call)
    return RunOutput(kept, chunk_ids, seconds, count)
