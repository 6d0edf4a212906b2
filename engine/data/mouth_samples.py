"""`main.py mouth-prior`: the mean open mouth of real video, the prior the warp paints mouth gaps from.

Every `--stride`-th frame of each video with a visible mouth interior is sampled on the prior's (q, t) grid
between its tracked inner lips (engine/warp/mouth_prior.py), divided by that frame's skin colour, and averaged
per opening, teeth left out (the portrait's own teeth are moved with their jaws; the prior paints the rest);
each sample also counts mirrored (a mouth is symmetric, its lighting is the scene's). Only
training frames are read: the builtin set is assets/training/ with franck's held-out tail left out (as
`prepare`'s split), never the held-out carphone. Run: python main.py mouth-prior [--videos DIR] [--out PATH].
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from engine.assets import MOUTH_PRIOR_FILE, ROOT, TRAINING_DIR
from engine.data.prepare import BUILTIN_TAIL, VIDEO_EXT, parse_tail, training_frames
from engine.warp.mouth_prior import COLS, ROWS, MouthAxes, MouthPrior, skin_colour

OPENINGS = (0.03, 0.10, 0.18, 0.26, 0.40)  # bin edges in mouth widths: below the first, no interior shows
TEETH = 0.85  # a cell whose green and blue both exceed this share of the skin's is a tooth (skin is red-heavy)


def interior_sample(frame: np.ndarray, landmarks: np.ndarray) -> tuple[float, np.ndarray] | None:
    """One frame (H, W, 3) uint8 with its (478, 2) landmarks -> (opening, (ROWS, COLS, 3) colour / skin colour),
    or None when its mouth shows no interior."""
    axes = MouthAxes.of(landmarks)
    opening = axes.openness()
    if opening < OPENINGS[0]:
        return None
    q = (np.arange(COLS) + 0.5) / COLS
    t = (np.arange(ROWS) + 0.5) / ROWS
    pts = axes.points(q[None, :], t[:, None]).astype(np.float32)  # (ROWS, COLS, 2)
    patch = cv2.remap(frame, pts[..., 0], pts[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    skin = np.maximum(skin_colour(frame, landmarks), 1.0)
    return opening, patch.astype(np.float32) / skin


def average(samples: list[tuple[float, np.ndarray]]) -> MouthPrior:
    """Mean interior per opening bin (mirrored samples included); bins without frames are left out."""
    openings = np.array([o for o, _ in samples])
    patches = np.stack([p for _, p in samples]) if samples else np.zeros((0, ROWS, COLS, 3), np.float32)
    centres, means, counts = [], [], []
    for lo, hi in zip(OPENINGS[:-1], OPENINGS[1:], strict=True):
        inside = (openings >= lo) & (openings < hi) if hi != OPENINGS[-1] else openings >= lo
        if inside.sum() == 0:
            continue
        chosen = patches[inside]
        chosen = np.concatenate([chosen, chosen[:, :, ::-1]])
        keep = ~((chosen[..., 1] > TEETH) & (chosen[..., 2] > TEETH))[..., None]  # teeth: the portrait's own
        means.append((chosen * keep).sum(axis=0) / np.maximum(keep.sum(axis=0), 1))
        centres.append(float(np.median(openings[inside])))
        counts.append(int(inside.sum()))
    if len(centres) < 2:
        raise ValueError(f"{len(samples)} open-mouth frames fill fewer than two openings: give more video")
    return MouthPrior(np.array(centres), np.stack(means).astype(np.float32), np.array(counts))


def video_samples(path: Path, tracks_dir: Path | None, stride: int, tail: tuple[int, int] | None,
                  max_frames: int = 100_000) -> list[tuple[float, np.ndarray]]:
    """The interior samples of one video's training frames (tracked once, cached in `tracks_dir`)."""
    from engine.data.tracks import video_track
    from engine.face.tracker import FaceTracker
    from engine.video import VideoFileSource

    lms = video_track(path, tracks_dir, max_frames, FaceTracker)
    keep = set(training_frames(len(lms), tail)[::stride])
    out = []
    with VideoFileSource(path) as source:
        for i, frame in enumerate(source):
            if i >= len(lms):
                break
            if i in keep and np.isfinite(lms[i]).all():
                sample = interior_sample(frame, lms[i])
                if sample is not None:
                    out.append(sample)
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--videos", type=Path, default=TRAINING_DIR,
                        help="folder of face videos (default: the bundled training clips)")
    parser.add_argument("--tail", default=BUILTIN_TAIL,
                        help="IDENTITY:FRAMES:GAP held out as in `prepare` (default: %(default)s)")
    parser.add_argument("--stride", type=int, default=2, help="use every N-th frame (default: %(default)s)")
    parser.add_argument("--tracks", type=Path, default=ROOT / "runs" / "mouth-prior" / "tracks",
                        help="where face tracks are cached (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=MOUTH_PRIOR_FILE, help="prior file (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    tail = parse_tail(args.tail)
    videos = sorted(p for p in Path(args.videos).iterdir() if p.suffix.lower() in VIDEO_EXT)
    if not videos:
        print(f"no videos in {args.videos}")
        return 1
    samples = []
    for path in videos:
        found = video_samples(path, args.tracks, max(1, args.stride), tail.get(path.stem))
        print(f"{path.name}: {len(found)} open-mouth frames", flush=True)
        samples += found
    try:
        prior = average(samples)
    except ValueError as e:
        print(e)
        return 1
    prior.save(args.out)
    print(f"wrote {args.out}: openings {np.round(prior.openness, 3).tolist()}, frames {prior.frames.tolist()}")
    return 0
