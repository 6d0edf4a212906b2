"""RealTimeRecorder: avatar frames stamped with the wall clock, written at a constant rate by a writer thread.

A take lasts as long as it did in wall time: each output slot of 1/fps s shows the newest frame that had
arrived by then, so slow generation repeats frames and fast bursts drop them. `send` never blocks: frames
wait in a bounded drop-oldest queue and the writer thread letterboxes and encodes them (no Qt here), at a lower
CPU priority than the avatar's threads, so a busy machine slows the encoder before it slows the avatar.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.queues import DropOldestQueue
from engine.errors import KnotCamError, RecordingWriteError

log = logging.getLogger(__name__)

QUEUE_FRAMES = 32  # avatar frames waiting for the writer (~25 MB at 512x512); beyond that the oldest go
FREE_SPACE_CHECK_S = 1.0
MIN_FREE_BYTES = 16 * 1024 * 1024  # stop before the disk is full: a full disk would cut the file's index


def free_bytes(folder: Path) -> int:
    """Bytes an unprivileged user may still write in `folder`'s filesystem."""
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


class RealTimeRecorder:
    """Records (H, W, 3) uint8 RGB frames to `path` at `fps`, letterboxed to `size`, in real time.

    The file appears under `path` only when `close()` succeeds; `failure` is set (and the partial file
    removed) as soon as a write error stops the recording.
    """

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int],
                 clock: Callable[[], float] = time.monotonic, min_free_bytes: int = MIN_FREE_BYTES) -> None:
        from engine.output_file import check_video_output
        from engine.video import AtomicVideoWriter

        self.path = Path(path)
        self.fps, self.size = float(fps), size
        self.clock, self.min_free_bytes = clock, min_free_bytes
        check_video_output(self.path)
        self._folder = self.path.parent if str(self.path.parent) else Path(".")
        self._check_free_space()
        self._writer = AtomicVideoWriter(self.path, self.fps, size)
        self._frames: DropOldestQueue[tuple[float, np.ndarray] | None] = DropOldestQueue(QUEUE_FRAMES)
        self._stop_time: float | None = None
        self.failure: KnotCamError | None = None
        self._thread = threading.Thread(target=self._write_loop, name="recorder", daemon=True)
        self._thread.start()

    @property
    def frames_written(self) -> int:
        """Output frames encoded so far (repeats included)."""
        return self._writer.frames_written

    @property
    def frames_dropped(self) -> int:
        """Frames the writer never saw because it fell behind by more than the queue holds."""
        return self._frames.dropped

    def send(self, image: np.ndarray) -> None:
        """Stamp the frame with the clock and queue it; returns at once."""
        if self.failure is None and self._stop_time is None:
            self._frames.put((self.clock(), image))

    def close(self) -> Path:
        """Stop the take now, write out the queued frames and move the file into place; returns its path.

        RecordingWriteError when the take could not be written (nothing is left under `path`).
        """
        if self._stop_time is None:
            self._stop_time = self.clock()
            self._frames.put(None)
        self._thread.join()
        if self.failure is not None:
            raise self.failure
        try:
            if self._writer.frames_written == 0:
                self._writer.abort()
                raise RecordingWriteError("No avatar frame arrived while recording, so nothing was saved.")
            return self._writer.close()
        except RecordingWriteError as err:
            self.failure = err
            raise

    def abort(self) -> None:
        """Stop and delete the partial file."""
        if self._stop_time is None:
            self._stop_time = self.clock()
            self._frames.put(None)
        self._thread.join()
        self._writer.abort()

    # ---- writer thread ------------------------------------------------------------------------------------
    def _write_loop(self) -> None:
        from engine.threads import lower_this_thread

        lower_this_thread()  # before the encoder opens (first frame): its worker threads inherit the priority
        try:
            self._write_frames()
        except Exception as err:  # noqa: BLE001 (any write failure stops the take with one sentence)
            log.exception("recording failed")
            self._writer.abort()
            self.failure = err if isinstance(err, KnotCamError) else RecordingWriteError(
                f"Recording stopped: {self.path.name} could not be written ({err}); nothing was saved.")

    def _write_frames(self) -> None:
        from app.sinks import letterbox

        width, height = self.size
        first_time: float | None = None
        shown: np.ndarray | None = None  # the letterboxed frame the current slots repeat
        shown_written = False  # whether `shown` is in the file already (its repeats need no new conversion)
        last_check = time.monotonic()
        while True:
            item = self._frames.get(0.25)
            if item is None and self._stop_time is None:
                continue
            stamp = self._stop_time if item is None else item[0]
            if first_time is None and item is not None:
                first_time = stamp
            if first_time is not None and shown is not None:
                # slots before this stamp show the previous frame: repeat it up to here (or drop nothing)
                slots = (stamp - first_time) * self.fps
                due = math.floor(slots + 0.5) if item is None else math.floor(slots + 1e-6)
                while self._writer.frames_written < due:
                    if shown_written:
                        self._writer.write_again()
                    else:
                        self._writer.write(shown)
                        shown_written = True
            if item is None:
                if self._writer.frames_written == 0 and shown is not None:
                    self._writer.write(shown)  # a take shorter than one slot still holds its frame
                return
            image = item[1]
            shown = image if image.shape[:2] == (height, width) else letterbox(image, width, height)
            shown_written = False
            if time.monotonic() - last_check >= FREE_SPACE_CHECK_S:
                last_check = time.monotonic()
                self._check_free_space()

    def _check_free_space(self) -> None:
        try:
            left = free_bytes(self._folder)
        except OSError as err:
            raise RecordingWriteError(f"Recording stopped: the folder {self._folder} is gone; nothing was saved.") \
                from err
        if left < self.min_free_bytes:
            raise RecordingWriteError(f"Recording stopped: the disk holding {self._folder} is full; "
                                      "nothing was saved.")
