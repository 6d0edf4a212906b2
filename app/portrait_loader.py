"""PortraitLoader: validates portrait files and makes gallery thumbnails in its own thread (face detection and
disk reads never run on the GUI thread), and says in one sentence what loading changed about a photo.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
from PySide6.QtCore import Signal

from app import texts
from app.threads import POLL_S, StoppableThread
from engine.errors import KnotCamError

log = logging.getLogger(__name__)


class PortraitLoader(StoppableThread):
    """Validates portraits (file or array) and makes gallery thumbnails, off the GUI thread."""

    portrait_loaded = Signal(object, str, str)  # engine.animator.Portrait, source path, notice ('' or a sentence)
    portrait_failed = Signal(str, str)  # source path, one sentence why
    thumbnail_ready = Signal(str, object)  # path, (h, w, 3) uint8 RGB

    THUMBNAIL = 96

    def __init__(self) -> None:
        super().__init__()
        self._tracker = None

    def load(self, path: str) -> None:
        """Validate the image at `path`; answers with portrait_loaded or portrait_failed."""
        self._post(lambda: self._load(path))

    def thumbnail(self, path: str) -> None:
        """Make a small preview of the image at `path`; answers with thumbnail_ready (nothing if unreadable)."""
        self._post(lambda: self._thumbnail(path))

    def run(self) -> None:
        try:
            while not self.stopping():
                self._run_commands()
                self._stop_event.wait(POLL_S)
        finally:
            if self._tracker is not None:
                self._tracker.close()

    def _load(self, path: str) -> None:
        from engine.face.portrait import load_portrait
        from engine.face.tracker import FaceTracker

        if self._tracker is None:
            self._tracker = FaceTracker(static_image_mode=True)
        try:
            portrait = load_portrait(Path(path), self._tracker)
        except KnotCamError as err:
            self.portrait_failed.emit(path, str(err))
            return
        except Exception as err:  # noqa: BLE001 (any unreadable file is a user error here)
            log.exception("portrait load failed")
            self.portrait_failed.emit(path, f"{Path(path).name} could not be read as a portrait ({err}).")
            return
        self.portrait_loaded.emit(portrait, path, portrait_notice(path))

    def _thumbnail(self, path: str) -> None:
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            return
        scale = self.THUMBNAIL / max(bgr.shape[:2])
        small = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        self.thumbnail_ready.emit(path, cv2.cvtColor(small, cv2.COLOR_BGR2RGB))


def portrait_notice(path: str) -> str:
    """What loading changed about the photo at `path` (grey, transparency, size), as one sentence or ''."""
    from engine.face.portrait import MAX_SIDE

    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is None:
        return ""
    name, (height, width) = Path(path).name, image.shape[:2]
    if image.ndim == 2 or image.shape[2] == 1:
        return texts.PORTRAIT_GRAYSCALE.format(name=name)
    if image.shape[2] == 4 and image[..., 3].min() < 255:
        return texts.PORTRAIT_ALPHA.format(name=name)
    if max(height, width) > MAX_SIDE:
        return texts.PORTRAIT_SHRUNK.format(name=name, width=width, height=height, limit=MAX_SIDE)
    return ""
