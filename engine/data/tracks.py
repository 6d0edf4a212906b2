"""Face tracks of source files, computed once with mediapipe and cached by content.

A track is what `prepare` needs of a video besides its pixels: per frame, the (478, 2) landmark positions
in the frame's pixels (NaN where no face was found), stored as 1/16-pixel fixed point (uint16, a third of
float32's size: the tracks of the bundled videos travel to the GPU machine). It is cached as
`TRACKS/<stem>-<sha1[:12]>.npz`, so a set can be rebuilt (another preset's resolution, another split) without
tracking again, and on a machine without mediapipe (the GPU machine) from a carried tracks folder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

NUM_LANDMARKS = 478
_FIXED = 16.0  # fixed-point steps per pixel
_MISSING = np.iinfo(np.uint16).max  # marks a frame without a face


def file_digest(path: Path) -> str:
    """First 12 hex digits of the file's SHA-1 (its content, not its name or date)."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:12]


def track_path(tracks_dir: Path, source: Path) -> Path:
    """Where the cached track of `source` lives."""
    return Path(tracks_dir) / f"{source.stem}-{file_digest(source)}.npz"


def video_track(path: Path, tracks_dir: Path | None, max_frames: int,
                tracker_factory: Callable[[], object]) -> np.ndarray:
    """(T, 478, 2) float32 landmark pixels of the first `max_frames` frames of a video, NaN where no face
    (quantised to 1/16 pixel, cached or not, so a rebuilt set is the same set).

    Read from the cache when present (and long enough); else tracked with `tracker_factory()` (a context
    manager with `.track(frame)`) and written to the cache.
    """
    cached = track_path(tracks_dir, path) if tracks_dir else None
    if cached is not None and cached.is_file():
        with np.load(cached) as z:
            fixed, complete = z["landmarks"], bool(z["complete"])
        if len(fixed) >= max_frames or complete:
            return _decode(fixed[:max_frames])
    from engine.video import VideoFileSource

    out = []
    with tracker_factory() as tracker, VideoFileSource(path) as source:
        for i, frame in enumerate(source):
            if i >= max_frames:
                break
            lm = tracker.track(frame)
            out.append(np.full((NUM_LANDMARKS, 2), np.nan, np.float32) if lm is None else lm[:, :2])
        complete = len(out) < max_frames  # the whole video was read
    fixed = _encode(np.stack(out) if out else np.zeros((0, NUM_LANDMARKS, 2), np.float32))
    if cached is not None:
        _save(cached, fixed, complete)
    return _decode(fixed)


def _encode(landmarks: np.ndarray) -> np.ndarray:
    """(T, 478, 2) float pixels (NaN rows = no face) -> uint16 fixed point; positions clamped to the format."""
    missing = ~np.isfinite(landmarks).all(axis=(1, 2))
    fixed = np.clip(np.round(np.nan_to_num(landmarks) * _FIXED), 0, _MISSING - 1).astype(np.uint16)
    fixed[missing] = _MISSING
    return fixed


def _decode(fixed: np.ndarray) -> np.ndarray:
    out = fixed.astype(np.float32) / _FIXED
    out[(fixed == _MISSING).all(axis=(1, 2))] = np.nan
    return out


def _save(path: Path, fixed: np.ndarray, complete: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, landmarks=fixed, complete=np.array(complete))
    tmp.replace(path)


def read_frames(path: Path, count: int) -> list[np.ndarray]:
    """The first `count` RGB frames of a video."""
    from engine.video import VideoFileSource

    frames = []
    with VideoFileSource(path) as source:
        for frame in source:
            if len(frames) >= count:
                break
            frames.append(frame)
    return frames


class CachedDetector:
    """`detect(image)` of a still-image FaceTracker, cached by the image's content in `tracks_dir`.

    So stills, like videos, need mediapipe only the first time (the GPU machine has none). A missing entry
    is detected by a real FaceTracker(static_image_mode=True), made on first need; NoFaceFoundError passes
    through and is not cached.
    """

    def __init__(self, tracks_dir: Path) -> None:
        self.tracks_dir = Path(tracks_dir)
        self._tracker = None

    def detect(self, image: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> (478, 3) float32 landmarks of its face."""
        key = hashlib.sha1(np.ascontiguousarray(image).tobytes() + str(image.shape).encode()).hexdigest()[:12]
        path = self.tracks_dir / f"still-{key}.npy"
        if path.is_file():
            return np.load(path)
        if self._tracker is None:
            from engine.face.tracker import FaceTracker

            self._tracker = FaceTracker(static_image_mode=True)
        landmarks = self._tracker.detect(image).astype(np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".tmp"), "wb") as f:
            np.save(f, landmarks)
        path.with_name(path.name + ".tmp").replace(path)
        return landmarks

    def close(self) -> None:
        if self._tracker is not None:
            self._tracker.close()
            self._tracker = None

    def __enter__(self) -> CachedDetector:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
