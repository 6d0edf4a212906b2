"""`main.py prepare`: folders of videos and still portraits -> a training set of aligned clips + its tensor cache.

For every video: track the face per frame (cached by content in `--tracks`), keep runs of consecutive tracked
frames, take one crop box per run (the median face box at ModelConfig.crop_scale), crop to the preset's
resolution and store frames and landmarks.
A still portrait becomes a one-frame clip: stills train the codec and never the DiT, since a still has no
real frame to be the target of its own warp (a still animated by its own warp only teaches copying).
Then the tensor cache (`engine/data/cache.py`) is written once: warp priors, motion maps, loss regions, so a
training step never decodes video or warps. Unreadable or faceless files get a line in report.txt.

Splits are by identity: `--holdout` identities go to test (and val), the rest to train. `--tail` keeps the
last frames of one identity's videos out of training (after a gap), a same-identity check: val and test.

Identity of a file: its parent folder's name when the folder is inside the input folder (DIR/person/x.mp4),
else the file's stem.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from engine.config import ModelConfig

log = logging.getLogger(__name__)

VIDEO_EXT = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"}
IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
MIN_RUN = 16  # shortest run of tracked frames kept as a clip
BUILTIN_HOLDOUT = "carphone,biden"  # the held-out talking identity and the held-out still (cross-reenactment)
BUILTIN_TAIL = "franck:600:100"  # franck's last 600 frames, after a gap of 100, are a same-identity check


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--videos", type=Path, help="folder of talking-face videos (searched recursively)")
    p.add_argument("--images", type=Path, help="folder of still portraits (searched recursively)")
    p.add_argument("--builtin", action="store_true",
                   help="use the set shipped in assets/ (training videos, carphone, stills, portraits)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--preset", default="tiny", help="model preset whose resolution the crops use")
    p.add_argument("--holdout", help=f"comma-separated identities kept out of training (builtin: {BUILTIN_HOLDOUT})")
    p.add_argument("--tail", help="IDENTITY:FRAMES:GAP, the last FRAMES frames of that identity held out after "
                                  f"GAP frames (builtin: {BUILTIN_TAIL})")
    p.add_argument("--max-frames", type=int, default=6000, help="frames read per video at most")
    p.add_argument("--tracks", type=Path, help="face-track cache folder (default OUT/tracks)")
    p.add_argument("--refs", type=int, default=6, help="reference frames per clip in the tensor cache")


def _identity(path: Path, root: Path) -> str:
    return path.parent.name if path.parent != root else path.stem


def _files(folder: Path | None, exts: set[str]) -> list[tuple[Path, Path]]:
    if folder is None:
        return []
    # hidden names are left out: a writer's unfinished part file, macOS's "._name" resource forks
    return [(p, folder) for p in sorted(folder.rglob("*")) if p.suffix.lower() in exts
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)]


def _clip_from_frames(frames: list[np.ndarray], landmarks: list[np.ndarray], resolution: int, crop_scale: float,
                      meta: dict):
    from engine.data.clips import Clip
    from engine.face.crop import CropBox, median_box

    box = median_box([CropBox.from_landmarks(lm, crop_scale) for lm in landmarks])
    crops = np.stack([box.crop(f, resolution) for f in frames])
    lms = np.stack([box.to_crop(lm[:, :2], resolution) for lm in landmarks]).astype(np.float32)
    return Clip(crops, lms, meta)


def _runs(found: np.ndarray, first: int, end: int) -> list[tuple[int, int]]:
    """[start, stop) runs of at least MIN_RUN consecutive tracked frames within [first, end)."""
    runs, start = [], None
    for i in range(first, end + 1):
        ok = i < end and found[i]
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            if i - start >= MIN_RUN:
                runs.append((start, i))
            start = None
    return runs


def training_frames(count: int, tail: tuple[int, int] | None) -> range:
    """The frames of a `count`-frame video that are trained on: all of them, or those before its held-out tail
    (the last FRAMES) and the GAP before it, for tail = (FRAMES, GAP)."""
    if tail is None:
        return range(count)
    frames_out, gap = tail
    return range(max(0, count - frames_out - gap))


def _video_clips(path: Path, identity: str, resolution: int, crop_scale: float, max_frames: int,
                 tracks_dir: Path | None, tail: tuple[int, int] | None) -> list[tuple[str, object]]:
    """(part, clip) pairs of one video: part "train", or "tail" for its held-out last frames."""
    from engine.data.tracks import read_frames, video_track
    from engine.face.tracker import FaceTracker

    lms = video_track(path, tracks_dir, max_frames, FaceTracker)
    found = np.isfinite(lms).all(axis=(1, 2))
    parts = [("train", 0, len(training_frames(len(lms), tail)))]
    if tail is not None:
        parts.append(("tail", max(0, len(lms) - tail[0]), len(lms)))
    frames = read_frames(path, len(lms))
    meta = {"identity": identity, "source": path.name, "kind": "video"}
    out = []
    for part, first, end in parts:
        for k, (a, b) in enumerate(_runs(found, first, min(end, len(frames)))):
            clip = _clip_from_frames(frames[a:b], list(lms[a:b]), resolution, crop_scale,
                                     {**meta, "run": k, "part": part, "first_frame": a})
            out.append((part, clip))
    return out


def _still_clip(path: Path, identity: str, resolution: int, crop_scale: float, tracker):
    """A still portrait as a one-frame clip (codec training, and the held-out portrait of cross-reenactment)."""
    from engine.face.portrait import load_portrait

    portrait = load_portrait(path, tracker)
    meta = {"identity": identity, "source": path.name, "kind": "still"}
    return _clip_from_frames([portrait.image], [portrait.landmarks], resolution, crop_scale, meta)


def parse_tail(text: str | None) -> dict[str, tuple[int, int]]:
    """"name:frames:gap" -> {name: (frames, gap)}; a clear ValueError otherwise."""
    if not text:
        return {}
    try:
        name, frames, gap = text.split(":")
        return {name: (int(frames), int(gap))}
    except ValueError:
        raise ValueError(f"--tail must look like IDENTITY:FRAMES:GAP, not {text!r}") from None


def prepare(videos: list[tuple[Path, Path]], images: list[tuple[Path, Path]], out: Path, resolution: int,
            holdout: set[str], max_frames: int, tail: dict[str, tuple[int, int]] | None = None,
            tracks_dir: Path | None = None, crop_scale: float = ModelConfig().crop_scale) -> dict:
    """Build the set (face crops of `resolution` pixels, side `crop_scale` x the face's extent: ModelConfig);
    returns the splits dict. Writes clip files, splits.json and report.txt under `out`.

    Splits: train = clips of identities not held out (tails excluded); val = tail clips, else the held-out
    clips; test = held-out clips and tail clips. No held-out identity's clip is ever in train.
    """
    from engine.data.clips import save_clip
    from engine.data.tracks import CachedDetector
    from engine.errors import KnotCamError

    tail = tail or {}
    out.mkdir(parents=True, exist_ok=True)
    tracks_dir = tracks_dir or out / "tracks"
    report: list = []  # a line, or (name, frames, identity) of a written clip: its splits are named at the end
    clips = []  # (file name, identity, part)

    def add(clip, name: str, part: str) -> None:
        save_clip(out / name, clip)
        clips.append((name, clip.identity, part))
        report.append((name, len(clip.frames), clip.identity))

    for path, root in videos:
        identity = _identity(path, root)
        try:
            made = _video_clips(path, identity, resolution, crop_scale, max_frames, tracks_dir, tail.get(identity))
        except KnotCamError as err:
            report.append(f"skipped {path}: {err}")
            continue
        if not made:
            report.append(f"skipped {path}: no run of {MIN_RUN} consecutive frames with a face")
        for k, (part, clip) in enumerate(made):
            add(clip, f"video_{identity}_{path.stem}_{part}_{k}.npz", part)
    if images:
        with CachedDetector(tracks_dir) as tracker:
            for path, root in images:
                identity = _identity(path, root)
                try:
                    clip = _still_clip(path, identity, resolution, crop_scale, tracker)
                except KnotCamError as err:
                    report.append(f"skipped {path}: {err}")
                    continue
                add(clip, f"still_{identity}_{path.stem}.npz", "still")
    held = [n for n, i, p in clips if i in holdout]
    tails = [n for n, i, p in clips if p == "tail" and i not in holdout]
    splits = {"train": [n for n, i, p in clips if i not in holdout and p != "tail"],
              "val": tails or held, "test": held + tails}
    (out / "splits.json").write_text(json.dumps({**splits, "holdout": sorted(holdout),
                                                 "tail": {k: list(v) for k, v in tail.items()}}, indent=1) + "\n")
    (out / "report.txt").write_text("\n".join(_report_line(entry, splits) for entry in report) + "\n")
    return splits


def _report_line(entry: str | tuple[str, int, str], splits: dict[str, list[str]]) -> str:
    """One report line; a written clip says which splits hold it (a held-out clip never says train)."""
    if isinstance(entry, str):
        return entry
    name, frames, identity = entry
    held_in = [split for split in ("train", "val", "test") if name in splits[split]]
    return f"ok      {name}: {frames} frames, identity {identity}, in {' + '.join(held_in) or 'no split'}"


def run(args: argparse.Namespace) -> int:
    from engine.assets import CLIPS_DIR, PORTRAITS_DIR, STILLS_DIR, TRAINING_DIR
    from engine.config import get_preset
    from engine.data.cache import build_cache
    from engine.errors import KnotCamError

    videos, images = _files(args.videos, VIDEO_EXT), _files(args.images, IMAGE_EXT)
    holdout_text, tail_text = args.holdout, args.tail
    if args.builtin:
        videos += _files(TRAINING_DIR, VIDEO_EXT) + _files(CLIPS_DIR, VIDEO_EXT)
        images += _files(STILLS_DIR, IMAGE_EXT) + _files(PORTRAITS_DIR, IMAGE_EXT)
        holdout_text = BUILTIN_HOLDOUT if holdout_text is None else holdout_text
        tail_text = BUILTIN_TAIL if tail_text is None else tail_text
    if not videos and not images:
        raise KnotCamError("nothing to prepare: give --videos and/or --images, or --builtin")
    try:
        tail = parse_tail(tail_text)
    except ValueError as err:
        raise KnotCamError(str(err)) from None
    holdout = {h.strip() for h in (holdout_text or "").split(",") if h.strip()}
    model = get_preset(args.preset).model
    splits = prepare(videos, images, args.out, model.resolution, holdout, args.max_frames, tail, args.tracks,
                     model.crop_scale)
    print((args.out / "report.txt").read_text(), end="")
    for split in ("train", "val"):
        build_cache(args.out, split, model.motion_size, args.refs, progress=print)
    print(f"prepared {len(splits['train'])} train clips, {len(splits['val'])} val, {len(splits['test'])} test "
          f"into {args.out}")
    return 0
