"""OutputWorker: the QThread that feeds avatar frames to the sinks that block on devices or disk (the virtual
camera and the recorder), paced at the output fps; it reports their state by signals."""

from __future__ import annotations

import logging
import time

import numpy as np
from PySide6.QtCore import Signal

from app.queues import DropOldestQueue
from app.threads import POLL_S, StoppableThread
from engine.errors import KnotCamError

log = logging.getLogger(__name__)


class OutputWorker(StoppableThread):
    """Feeds avatar frames to the sinks that block on devices or disk: the virtual camera and the recorder."""

    camera_started = Signal(str, int, int)  # device name, width, height
    camera_failed = Signal(str, str)  # guidance sentence, technical detail
    camera_stopped = Signal()
    camera_fps = Signal(float)
    recording_started = Signal(str)
    recording_finished = Signal(str)
    recording_failed = Signal(str)

    def __init__(
        self, frames_in: DropOldestQueue, camera_backend: str | None = None, camera_device: str | None = None
    ) -> None:
        super().__init__()
        self.frames_in = frames_in
        self.camera_backend = camera_backend
        self.camera_device = camera_device
        self.frame_period = 1.0 / 30  # seconds between frames sent; follows the chosen output fps
        self._camera = None
        self._recorder = None

    def start_camera(self, width: int, height: int, fps: float) -> None:
        """Open the virtual camera (replacing a running one); frames are paced at `fps` from now on."""
        self.frame_period = 1.0 / fps
        self._post(lambda: self._open_camera(width, height, fps))

    def stop_camera(self) -> None:
        """Close the virtual camera."""
        self._post(self._close_camera)

    def start_recording(self, path: str, fps: float, size: tuple[int, int]) -> None:
        """Record the avatar stream to `path` (appears there when recording stops)."""
        self.frame_period = 1.0 / fps
        self._post(lambda: self._open_recorder(path, fps, size))

    def stop_recording(self) -> None:
        """Finish the recording and move it into place."""
        self._post(self._close_recorder)

    def run(self) -> None:
        last_report = last_sent = 0.0
        try:
            while not self.stopping():
                self._run_commands()
                image = self.frames_in.get(POLL_S)
                if image is not None:
                    # A chunked animator delivers frames in bursts: spread them out at the output rate.
                    self._stop_event.wait(max(0.0, last_sent + self.frame_period - time.monotonic()))
                    last_sent = time.monotonic()
                    self._send(image)
                now = time.monotonic()
                if self._camera is not None and now - last_report >= 0.5:
                    last_report = now
                    self.camera_fps.emit(self._camera.output_fps)
        finally:
            self._close_camera()
            self._close_recorder()

    def _send(self, image: np.ndarray) -> None:
        if self._camera is not None:
            try:
                self._camera.send(image)
            except Exception as err:  # noqa: BLE001 (a device that vanished: report, keep running)
                log.exception("virtual camera send failed")
                self._close_camera()
                self.camera_failed.emit(f"The virtual camera stopped: {err}.", "")
        if self._recorder is not None:
            self._recorder.send(image)  # returns at once: the recorder's own thread encodes
            if self._recorder.failure is not None:  # disk full, device gone: the partial file is already gone
                recorder, self._recorder = self._recorder, None
                recorder.abort()
                self.recording_failed.emit(str(recorder.failure))

    def _open_camera(self, width: int, height: int, fps: float) -> None:
        from app.sinks import VirtualCameraSink
        from engine.errors import VirtualCameraUnavailableError

        self._close_camera()
        try:
            self._camera = VirtualCameraSink(width, height, fps, self.camera_backend, self.camera_device)
        except VirtualCameraUnavailableError as err:
            self.camera_failed.emit(str(err), str(err.__cause__ or ""))
            return
        self.camera_started.emit(self._camera.device, width, height)

    def _close_camera(self) -> None:
        if self._camera is not None:
            self._camera.close()
            self._camera = None
            self.camera_stopped.emit()

    def _open_recorder(self, path: str, fps: float, size: tuple[int, int]) -> None:
        from app.sinks import RecorderSink

        self._close_recorder()
        try:
            self._recorder = RecorderSink(path, fps, size)
        except (KnotCamError, OSError) as err:
            self.recording_failed.emit(str(err))
            return
        self.recording_started.emit(path)

    def _close_recorder(self) -> None:
        if self._recorder is not None:
            recorder, self._recorder = self._recorder, None
            try:
                recorder.close()
            except KnotCamError as err:
                self.recording_failed.emit(str(err))
                return
            self.recording_finished.emit(str(recorder.path))
