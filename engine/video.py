"""Video files in and out: a looping RGB frame source and a video writer that never leaves half a file."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from engine.errors import RecordingWriteError, VideoSourceError
from engine.output_file import container_for


class VideoFileSource:
    """Iterates a video file's frames as (H, W, 3) uint8 RGB, optionally looping for ever."""

    def __init__(self, path: str | Path, loop: bool = False) -> None:
        self.path = Path(path)
        self.loop = loop
        if not self.path.is_file():
            raise VideoSourceError(f"The video file {self.path} does not exist.")
        self._capture = cv2.VideoCapture(str(self.path))
        ok, first = self._capture.read() if self._capture.isOpened() else (False, None)
        if not ok or first is None:
            self._capture.release()
            raise VideoSourceError(f"{self.path.name} is not a video file that can be read.")
        self._pending: np.ndarray | None = first
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self._fps = float(fps) if fps and 1.0 <= fps <= 1000.0 else 30.0
        self.size = (first.shape[1], first.shape[0])  # (width, height)

    @property
    def fps(self) -> float:
        """Frames per second stated by the file (30 when it states none)."""
        return self._fps

    @property
    def frame_count(self) -> int:
        """Frame count stated by the file's header (may be approximate for some containers)."""
        return int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))

    def read(self) -> np.ndarray | None:
        """The next RGB frame, or None at the end (never None when looping)."""
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        ok, frame = self._capture.read()
        if not ok and self.loop:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._capture.read()
            if not ok:  # some containers cannot seek: reopen instead
                self._capture.release()
                self._capture = cv2.VideoCapture(str(self.path))
                ok, frame = self._capture.read()
        if not ok or frame is None:
            return None
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def __iter__(self) -> Iterator[np.ndarray]:
        while (frame := self.read()) is not None:
            yield frame

    def close(self) -> None:
        """Release the file."""
        self._capture.release()

    def __enter__(self) -> VideoFileSource:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def create_hidden_part(target: Path) -> Path:
    """A new empty hidden file next to `target` (`.name.XXXX.part.ext`), with the user's normal mode (umask)."""
    folder = target.parent if str(target.parent) else Path(".")
    while True:
        part = folder / f".{target.stem}.{secrets.token_hex(4)}.part{target.suffix.lower()}"
        try:
            os.close(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return part
        except FileExistsError:
            continue


def file_holds_frames(path: Path, frames: int) -> bool:
    """True when the video at `path` states `frames` frames (±1) and its last one decodes: a cheap check
    that the container's index was written, without decoding the whole file."""
    if frames < 1:
        return False
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened() or abs(capture.get(cv2.CAP_PROP_FRAME_COUNT) - frames) > 1:
            return False
        capture.set(cv2.CAP_PROP_POS_FRAMES, frames - 1)
        return bool(capture.read()[0])
    finally:
        capture.release()


class AtomicVideoWriter:
    """Writes RGB frames (H, W, 3) uint8 to a video that appears under its final name only once complete.

    The extension picks the container (engine/output_file.py). Frames go to a hidden temporary file next to
    the target; `close()` moves it into place with os.replace, `abort()` (or an exception inside `with`)
    deletes it.
    """

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int]) -> None:
        self.path = Path(path)
        self.size = size  # (width, height)
        container = container_for(self.path)
        folder = self.path.parent if str(self.path.parent) else Path(".")
        if not folder.is_dir():
            raise VideoSourceError(f"The output folder {folder} does not exist.")
        self._tmp = create_hidden_part(self.path)
        try:  # also on Ctrl+C here: the temporary file must not outlive a writer that never existed
            self._writer = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter_fourcc(*container.fourcc), float(fps),
                                           size)
            if not self._writer.isOpened():
                raise VideoSourceError(f"Cannot write a {container.description} video to {self.path}.")
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            raise
        self.frames_written = 0
        self._done = False

    def write(self, frame_rgb: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 RGB frame of the writer's size."""
        if (frame_rgb.shape[1], frame_rgb.shape[0]) != self.size:
            raise ValueError(f"frame size {frame_rgb.shape[1]}x{frame_rgb.shape[0]} != writer size {self.size}")
        self._writer.write(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))
        self.frames_written += 1

    def close(self) -> Path:
        """Finish the file and move it to its final name; returns that path.

        RecordingWriteError (and no file under the name) when the finished file does not hold every frame:
        OpenCV's writer fails silently on a full disk or a vanished device, so the file is checked here.
        """
        if not self._done:
            self._writer.release()
            self._done = True
            if self.frames_written and not file_holds_frames(self._tmp, self.frames_written):
                self._tmp.unlink(missing_ok=True)
                raise RecordingWriteError(f"{self.path.name} could not be written to the end (is the disk full "
                                          "or gone?), so nothing was saved.")
            os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Stop and delete the partial file; nothing is left under the final name."""
        if not self._done:
            self._writer.release()
            self._tmp.unlink(missing_ok=True)
            self._done = True

    def __enter__(self) -> AtomicVideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
