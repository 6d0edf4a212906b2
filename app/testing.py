"""Helpers for the app's tests and the screenshot script: Qt environment, throw-away settings, and a
pyvirtualcam backend standing in for the virtual camera device this machine lacks (the only fake).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings

from app.qt_env import undo_cv2_qt_environment
from app.settings import AppSettings, Preferences
from app.sources import SourceSpec
from engine.assets import DEMO_CLIP


def prepare_qt_environment() -> None:
    """Before the QApplication exists: let cv2 make its changes, undo them, default to offscreen."""
    import cv2  # noqa: F401 (its import side effect is what gets undone)

    undo_cv2_qt_environment()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def temporary_settings(folder: Path, **prefs) -> AppSettings:
    """Settings in an ini file under `folder`, seeded with the warp animator, the demo clip and `folder` as the
    recording folder (plus `prefs`)."""
    settings = AppSettings(QSettings(str(folder / "knotcam.ini"), QSettings.Format.IniFormat))
    seeded = {"animator": "warp", "source": SourceSpec("file", path=str(DEMO_CLIP)), "recording_folder": str(folder)}
    settings.save(Preferences(**{**seeded, **prefs}))
    return settings


def make_recording_backend(device_name: str = "KnotCam test camera") -> type:
    """A fresh pyvirtualcam backend class that keeps what it is sent; `.instances` lists the cameras opened."""

    class RecordingBackend:
        """pyvirtualcam backend protocol (see pyvirtualcam.camera.Backend) recording frames in memory."""

        instances: list[RecordingBackend] = []

        def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: str | None, **kw) -> None:
            self.width, self.height, self.fps, self.fourcc = width, height, fps, fourcc
            self.frames: list[np.ndarray] = []  # each (height, width, 3) uint8
            self.closed = False
            RecordingBackend.instances.append(self)

        def close(self) -> None:
            self.closed = True

        def send(self, frame: np.ndarray) -> None:
            self.frames.append(frame.reshape(self.height, self.width, 3).copy())

        def device(self) -> str:
            return device_name

        def native_fourcc(self) -> int | None:
            return None

    return RecordingBackend


@contextmanager
def registered_camera_backend(name: str, backend: type) -> Iterator[str]:
    """Register `backend` with pyvirtualcam under `name` for the block, then remove it again.

    pyvirtualcam 0.15 has register_backend but no unregister: its registry is the BACKENDS dict.
    """
    import pyvirtualcam
    from pyvirtualcam import camera

    pyvirtualcam.register_backend(name, backend)
    try:
        yield name
    finally:
        camera.BACKENDS.pop(name, None)
