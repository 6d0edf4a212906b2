"""CaptureWorker: driving frames from a webcam (reopened with growing delays when it is lost) or a looped
video file, paced like a live camera, into the generation queue and, a few at a time, to the window.
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import Signal

from app import texts
from app.queues import DropOldestQueue, GuiGate
from app.sources import SourceSpec
from app.threads import StoppableThread
from engine.assets import DEMO_CLIP
from engine.errors import KnotCamError, VideoSourceError

log = logging.getLogger(__name__)


def reconnect_delays(first_s: float = 0.5, factor: float = 2.0, longest_s: float = 8.0) -> Iterator[float]:
    """Seconds to wait before each attempt to reopen a lost webcam: 0.5, 1, 2, 4, 8, 8, ..."""
    delay = first_s
    while True:
        yield delay
        delay = min(delay * factor, longest_s)


WebcamOpener = Callable[[int], "tuple[object, bool, np.ndarray | None]"]  # index -> (capture, ok, first BGR frame)


class CaptureWorker(StoppableThread):
    """Reads driving frames from a webcam or a looped video file, mirrors them if asked, and hands them on.

    Each frame goes to the generation queue (drop-oldest) and, at most `gate` frames at a time, to the GUI.
    """

    frame_captured = Signal(object, float)  # (H, W, 3) uint8 RGB, time.monotonic() of capture
    source_opened = Signal(str, str)  # description, notice ('' or why the source is not the one asked for)

    def __init__(self, spec: SourceSpec, frames_out: DropOldestQueue, mirror: bool = True,
                 open_webcam: WebcamOpener | None = None) -> None:
        super().__init__()
        self.spec = spec
        self.frames_out = frames_out
        self.gate = GuiGate(2)
        self.mirror = mirror  # read by the loop each frame; a bool assignment is atomic
        self.open_webcam = open_webcam or _probe_webcam  # the device boundary (tests pass a stand-in)

    def set_mirror(self, on: bool) -> None:
        """Flip frames left-right from the next frame on."""
        self.mirror = on

    def run(self) -> None:
        try:
            frames = self._open()
            for rgb in frames:
                if self.stopping():
                    break
                now = time.monotonic()
                if self.mirror:
                    rgb = np.ascontiguousarray(rgb[:, ::-1])
                self.frames_out.put((rgb, now))
                if self.gate.try_enter():
                    self.frame_captured.emit(rgb, now)
        except KnotCamError as err:
            self.failed.emit(str(err))
        except Exception as err:  # noqa: BLE001 (a broken driver must not take the window down)
            log.exception("capture failed")
            self.failed.emit(f"The driving source stopped: {err}.")

    def _open(self):
        """Generator of RGB frames for the spec; emits source_opened once the first frame is in."""
        spec = self.spec
        if spec.kind == "webcam":
            return self._webcam_frames(spec.webcam_index, None, None)
        if spec.kind == "auto":
            capture, ok, bgr = self._try_open(spec.webcam_index)
            if ok:
                return self._webcam_frames(spec.webcam_index, capture, bgr)
            return self._file_frames(DEMO_CLIP, texts.NO_WEBCAM_FALLBACK)
        return self._file_frames(Path(spec.path), "")

    def _webcam_frames(self, index: int, capture, first_bgr: np.ndarray | None):
        """Frames of webcam `index` for as long as the worker runs. When it cannot be opened or stops, the
        window is told once, the avatar idles (the generation worker sees no frames) and the webcam is
        reopened after growing delays."""
        delays = reconnect_delays()
        while not self.stopping():
            if capture is None:
                capture, ok, first_bgr = self._try_open(index)
                if not ok:
                    capture, delay = None, next(delays)
                    self.failed.emit(texts.WEBCAM_UNAVAILABLE.format(index=index, seconds=delay))
                    if self._stop_event.wait(delay):
                        return
                    continue
            delays = reconnect_delays()
            self.source_opened.emit(f"webcam {index}", "")
            try:
                yield from self._frames_until_lost(capture, first_bgr)
            finally:
                capture.release()
            capture = None
            if not self.stopping():
                log.warning("webcam %d lost; reconnecting", index)
                self.failed.emit(texts.WEBCAM_LOST.format(index=index))

    def _try_open(self, index: int):
        """(capture, True, first BGR frame) of an open webcam, or (None, False, None); a driver that throws
        while opening counts as a webcam that cannot be opened."""
        try:
            capture, ok, bgr = self.open_webcam(index)
        except Exception:  # noqa: BLE001
            log.exception("opening webcam %d failed", index)
            return None, False, None
        if ok and bgr is not None:
            return capture, True, bgr
        capture.release()
        return None, False, None

    def _frames_until_lost(self, capture, bgr: np.ndarray):
        """RGB frames of an open webcam until it fails to deliver one (or raises) or the worker stops."""
        while not self.stopping():
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            try:
                ok, bgr = capture.read()
            except Exception:  # noqa: BLE001 (a driver that throws when unplugged is a lost webcam too)
                log.exception("webcam read failed")
                return
            if not ok or bgr is None:
                return

    def _file_frames(self, path: Path, notice: str):
        from engine.video import VideoFileSource

        with VideoFileSource(path, loop=True) as source:
            period = 1.0 / (source.fps or 30.0)
            self.source_opened.emit(path.name, notice)
            next_due = time.monotonic()
            for rgb in source:
                # Pace the file like a live camera; waiting on the stop flag keeps closing fast.
                if self._stop_event.wait(max(0.0, next_due - time.monotonic())):
                    return
                next_due = max(next_due + period, time.monotonic() - period)
                yield rgb
        if not self.stopping():  # a looping source only ends when the file can no longer be read
            raise VideoSourceError(texts.VIDEO_ENDED.format(name=path.name))


def _probe_webcam(index: int) -> tuple[cv2.VideoCapture, bool, np.ndarray | None]:
    """Open webcam `index` and read one frame; on Linux a missing /dev/videoN is not even tried (no noise)."""
    if platform.system() == "Linux" and not Path(f"/dev/video{index}").exists():
        return cv2.VideoCapture(), False, None
    capture = cv2.VideoCapture(index)
    ok, bgr = capture.read() if capture.isOpened() else (False, None)
    return capture, ok, bgr
