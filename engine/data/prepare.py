"""`main.py prepare`: folders of videos and still portraits -> a training set of aligned clips.

For every video: track the face per frame, keep runs of consecutive tracked frames, take one smoothed crop
box per run, crop to the preset's resolution, store landmarks and warp priors. Every still portrait becomes a
clip by driving it with the motion of a driving video (landmark-driven warps: augmentation that adds
identities when real video is scarce). Unreadable or faceless files get a line in report.txt, never a crash.
Splits are by identity: `--holdout` identities go to test (and val), the rest to train.

Identity of a file: its parent folder's name when the folder is inside the input folder (DIR/person/x.mp4),
else the file's stem.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from engine.assets import CLIPS_DIR, PORTRAITS_DIR, STILLS_DIR

log = logging.getLogger(__name__)

VIDEO_EXT = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"}
IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
MIN_RUN = 16  # shortest run of tracked frames kept as a clip


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--videos", type=Path, help="folder of talking-face videos (searched recursively)")
    p.add_argument("--images", type=Path, help="folder of still portraits (searched recursively)")
    p.add_argument("--builtin", action="store_true",
                   help="use the set shipped in assets/ (carphone clip, stills and portraits; biden held out)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--preset", default="tiny", help="model preset whose resolution the crops use")
    p.add_argument("--holdout", default="biden", help="comma-separated identities kept out of training")
    p.add_argument("--max-frames", type=int, default=300, help="frames read per video at most")


def _identity(path: Path, root: Path) -> str:
    return path.parent.name if path.parent != root else path.stem


def _files(folder: Path | None, exts: set[str]) -> list[tuple[Path, Path]]:
    if folder is None:
        return []
    return [(p, folder) for p in sorted(folder.rglob("*")) if p.suffix.lower() in exts]


def _clip_from_frames(frames: list[np.ndarray], landmarks: list[np.ndarray], resolution: int, meta: dict):
    from engine.config import FACE_CROP_SCALE
    from engine.data.clips import Clip
    from engine.face.crop import CropBox, smooth_boxes

    box = smooth_boxes([CropBox.from_landmarks(lm, FACE_CROP_SCALE) for lm in landmarks])
    crops = np.stack([box.crop(f, resolution) for f in frames])
    lms = np.stack([box.to_crop(lm[:, :2], resolution) for lm in landmarks]).astype(np.float32)
    return Clip(crops, lms, meta)


def _video_clips(path: Path, identity: str, resolution: int, max_frames: int, tracker) -> list:
    from engine.video import VideoFileSource

    runs, frames, lms = [], [], []
    with VideoFileSource(path) as source:
        for i, frame in enumerate(source):
            if i >= max_frames:
                break
            lm = tracker.track(frame)
            if lm is None:
                if len(frames) >= MIN_RUN:
                    runs.append((frames, lms))
                frames, lms = [], []
                continue
            frames.append(frame)
            lms.append(lm)
    if len(frames) >= MIN_RUN:
        runs.append((frames, lms))
    meta = {"identity": identity, "source": str(path), "kind": "video"}
    return [_clip_from_frames(f, lm, resolution, {**meta, "run": k}) for k, (f, lm) in enumerate(runs)]


def _still_clip(image: np.ndarray, landmarks: np.ndarray, driving: list[np.ndarray], identity: str, source: Path,
                resolution: int):
    """A still portrait animated by a driving landmark track (warps), as a clip."""
    from engine.face.retarget import Retargeter
    from engine.warp import build_mesh, warp_with_mesh

    retargeter = Retargeter(landmarks)
    mesh = build_mesh(landmarks[:, :2], image.shape[:2])
    frames, lms = [], []
    for t, d in enumerate(driving):
        motion = retargeter.retarget(d, t / 30.0)
        frames.append(warp_with_mesh(image, mesh, motion.landmarks))
        lms.append(np.concatenate([motion.landmarks, landmarks[:, 2:3]], axis=1))
    meta = {"identity": identity, "source": str(source), "kind": "still"}
    return _clip_from_frames(frames, lms, resolution, meta)


def prepare(videos: list[tuple[Path, Path]], images: list[tuple[Path, Path]], out: Path, resolution: int,
            holdout: set[str], max_frames: int) -> dict:
    """Build the set; returns the splits dict. Writes clip files, splits.json and report.txt under `out`."""
    from engine.data.clips import save_clip
    from engine.errors import KnotCamError
    from engine.face.portrait import load_portrait
    from engine.face.tracker import FaceTracker

    out.mkdir(parents=True, exist_ok=True)
    report, clips = [], []  # clips: (file name, identity)
    driving_tracks: list[list[np.ndarray]] = []

    def add(clip, name: str) -> None:
        save_clip(out / name, clip)
        clips.append((name, clip.identity))
        report.append(f"ok      {name}: {len(clip.frames)} frames, identity {clip.identity}")

    for path, root in videos:
        identity = _identity(path, root)
        try:
            with FaceTracker() as tracker:
                made = _video_clips(path, identity, resolution, max_frames, tracker)
        except KnotCamError as err:
            report.append(f"skipped {path}: {err}")
            continue
        if not made:
            report.append(f"skipped {path}: no run of {MIN_RUN} consecutive frames with a face")
        for k, clip in enumerate(made):
            add(clip, f"video_{identity}_{path.stem}_{k}.npz")
            # The driving track in the original frames' pixels is what stills are animated with.
            driving_tracks.append(_track_in_pixels(clip))
    with FaceTracker(static_image_mode=True) as tracker:
        for path, root in images:
            identity = _identity(path, root)
            try:
                portrait = load_portrait(path, tracker)
            except KnotCamError as err:
                report.append(f"skipped {path}: {err}")
                continue
            if not driving_tracks:
                report.append(f"skipped {path}: stills need at least one video to drive them")
                continue
            for k, track in enumerate(driving_tracks[:2]):  # reversal etc. happen at load time (augmentation)
                clip = _still_clip(portrait.image, portrait.landmarks, track, identity, path, resolution)
                add(clip, f"still_{identity}_{path.stem}_{k}.npz")
    splits = {"train": [n for n, i in clips if i not in holdout],
              "val": [n for n, i in clips if i in holdout], "test": [n for n, i in clips if i in holdout]}
    (out / "splits.json").write_text(json.dumps({**splits, "holdout": sorted(holdout)}, indent=1) + "\n")
    (out / "report.txt").write_text("\n".join(report) + "\n")
    return splits


def _track_in_pixels(clip) -> list[np.ndarray]:
    """A clip's landmarks as (478, 3) arrays (z = 0), usable as a driving track for the retargeter."""
    return [np.concatenate([lm, np.zeros((len(lm), 1), np.float32)], axis=1) for lm in clip.landmarks]


def run(args: argparse.Namespace) -> int:
    from engine.config import get_preset
    from engine.errors import KnotCamError

    videos, images = _files(args.videos, VIDEO_EXT), _files(args.images, IMAGE_EXT)
    if args.builtin:
        videos += _files(CLIPS_DIR, VIDEO_EXT)
        images += _files(STILLS_DIR, IMAGE_EXT) + _files(PORTRAITS_DIR, IMAGE_EXT)
    if not videos and not images:
        raise KnotCamError("nothing to prepare: give --videos and/or --images, or --builtin")
    holdout = {h.strip() for h in args.holdout.split(",") if h.strip()}
    splits = prepare(videos, images, args.out, get_preset(args.preset).model.resolution, holdout, args.max_frames)
    print((args.out / "report.txt").read_text(), end="")
    print(f"prepared {sum(len(v) for k, v in splits.items() if k != 'test')} clips into {args.out} "
          f"(train {len(splits['train'])}, val/test {len(splits['val'])})")
    return 0
