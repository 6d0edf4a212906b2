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
        self.portrait_loaded.emit(portrait, path, portrait_notice(path, portrait.faces_found))

    def _thumbnail(self, path: str) -> None:
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            return
        scale = self.THUMBNAIL / max(bgr.shape[:2])
        small = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        self.thumbnail_ready.emit(path, cv2.cvtColor(small, cv2.COLOR_BGR2RGB))


def portrait_notice(path: str, faces_found: int = 1) -> str:
    """What loading changed about the photo at `path` (several faces, grey, transparency, size), as one or two
    sentences or ''."""
    name = Path(path).name
    faces = texts.PORTRAIT_SEVERAL_FACES.format(name=name, count=faces_found) if faces_found > 1 else ""
    return " ".join(s for s in (faces, _image_notice(path)) if s)


def _image_notice(path: str) -> str:
    """Grey, transparency or size of the photo at `path`; huge photos are judged by their header only."""
    from PIL import Image

    from engine.face.portrait import MAX_HEADER_PIXELS, MAX_PIXELS, MAX_SIDE, pillow_header_limit

    name = Path(path).name
    try:
        with pillow_header_limit(MAX_HEADER_PIXELS), Image.open(path) as img:
            (width, height), mode = img.size, img.mode
    except Exception:  # noqa: BLE001 (the portrait was read a moment ago; no notice rather than a second error)
        return ""
    if width * height > MAX_PIXELS:  # never decoded in full here
        return texts.PORTRAIT_SHRUNK.format(name=name, width=width, height=height, limit=MAX_SIDE)
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is None:
        return ""
    height, width = image.shape[:2]
    if image.ndim == 2 or image.shape[2] == 1 or mode in ("L", "LA", "I", "I;16"):
        return texts.PORTRAIT_GRAYSCALE.format(name=name)
    if image.shape[2] == 4 and image[..., 3].min() < 255:
        return texts.PORTRAIT_ALPHA.format(name=name)
    if max(height, width) > MAX_SIDE:
        return texts.PORTRAIT_SHRUNK.format(name=name, width=width, height=height, limit=MAX_SIDE)
    return ""
