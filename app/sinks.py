"""Frame sinks: where avatar frames go. PreviewSink (a widget), VirtualCameraSink (pyvirtualcam), RecorderSink.

Every sink takes (H, W, 3) uint8 RGB frames of any size through `send` and is closed once with `close`.
VirtualCameraSink and RecorderSink block on devices and disk: the app calls them from a worker thread only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from app import texts
from app.frame_view import FrameView
from engine.errors import KnotCamError, VirtualCameraUnavailableError


class FrameSink(Protocol):
    """Anything that accepts avatar frames."""

    def send(self, image: np.ndarray) -> None:
        """Take one (H, W, 3) uint8 RGB frame."""

    def close(self) -> None:
        """Release the sink; no send afterwards."""


def letterbox(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale `image` (H, W, 3) to fit inside width x height, centred on black: -> (height, width, 3) uint8."""
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(np.ascontiguousarray(image), (new_w, new_h), interpolation=interpolation)
    out = np.zeros((height, width, 3), dtype=np.uint8)
    x0, y0 = (width - new_w) // 2, (height - new_h) // 2
    out[y0 : y0 + new_h, x0 : x0 + new_w] = resized
    return out


class PreviewSink:
    """Shows avatar frames in a FrameView. GUI thread only."""

    def __init__(self, view: FrameView) -> None:
        self.view = view

    def send(self, image: np.ndarray) -> None:
        """Display the frame."""
        self.view.show_frame(image)

    def close(self) -> None:
        """Nothing to release: the widget belongs to the window."""


# What pyvirtualcam's backends say when the device exists but another program holds it: v4l2loopback
# ("could not be opened: Device or resource busy"), OBS ("virtual camera output could not be started",
# "already in use").
_BUSY_WORDS = ("busy", "in use", "could not be started")


def device_busy(err: BaseException) -> bool:
    """True when a virtual camera failure says the device is held by another program (not missing)."""
    message = str(err).lower()
    return any(word in message for word in _BUSY_WORDS)


class VirtualCameraSink:
    """Sends letterboxed avatar frames to a pyvirtualcam Camera of the chosen size and rate.

    Raises VirtualCameraUnavailableError with what to install for this OS when no device can be opened.
    """

    def __init__(
        self, width: int, height: int, fps: float, backend: str | None = None, device: str | None = None
    ) -> None:
        import pyvirtualcam

        self.width, self.height = width, height
        try:
            self._camera = pyvirtualcam.Camera(
                width, height, fps, fmt=pyvirtualcam.PixelFormat.RGB, backend=backend, device=device
            )
        except (RuntimeError, KeyError, OSError, ValueError) as err:
            # pyvirtualcam joins each backend's failure into one RuntimeError; keep it as the cause.
            guidance = texts.virtual_camera_busy_guidance() if device_busy(err) else texts.virtual_camera_guidance()
            raise VirtualCameraUnavailableError(guidance) from err

    @property
    def device(self) -> str:
        """The device name pyvirtualcam reports (e.g. /dev/video2, OBS Virtual Camera)."""
        return self._camera.device

    @property
    def output_fps(self) -> float:
        """Measured rate of frames sent, averaged by pyvirtualcam."""
        return float(self._camera.current_fps)

    @property
    def frames_sent(self) -> int:
        """Frames sent so far."""
        return self._camera.frames_sent

    def send(self, image: np.ndarray) -> None:
        """Letterbox to the camera size and send."""
        frame = image if image.shape[:2] == (self.height, self.width) else letterbox(image, self.width, self.height)
        self._camera.send(frame)

    def close(self) -> None:
        """Release the device."""
        self._camera.close()


class RecorderSink:
    """Records letterboxed avatar frames in real time (app/recorder.py); the file appears under `path` only
    once closed. `send` returns at once: a writer thread encodes."""

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int],
                 clock: Callable[[], float] = time.monotonic) -> None:
        from app.recorder import RealTimeRecorder

        self.path = Path(path)
        self._recorder = RealTimeRecorder(self.path, fps, size, clock=clock)

    @property
    def failure(self) -> KnotCamError | None:
        """The write error that stopped the recording, or None."""
        return self._recorder.failure

    @property
    def frames_written(self) -> int:
        """Output frames encoded so far (repeats included)."""
        return self._recorder.frames_written

    def send(self, image: np.ndarray) -> None:
        """Stamp with the clock and queue for the writer thread."""
        self._recorder.send(image)

    def close(self) -> Path:
        """Finish the take and move the file into place; RecordingWriteError when it could not be written."""
        return self._recorder.close()

    def abort(self) -> None:
        """Drop the partial file; nothing appears under `path`."""
        self._recorder.abort()
