"""QThread workers: capture, generation, output (portrait loading lives in app/portrait_loader.py). They talk
to the window by signals carrying numpy frames and to each other through bounded drop-oldest queues; the GUI
thread never waits on them.

    Capture ──(RGB, t)──► DropOldestQueue(2) ──► Generation ──image──► DropOldestQueue(2) ──► Output
      │ frame_captured                             │ avatar_ready, landmarks_ready          (virtual camera,
      ▼                                            ▼                                         recorder)
    window: driving preview                      window: avatar preview, fps, latency
"""

from __future__ import annotations

import logging
import platform
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QThread, Signal

from app import texts
from app.engine_choice import AnimatorChoice, build_animator, cuda_available
from app.queues import DropOldestQueue, GuiGate, RateMeter
from app.sources import DEMO_CLIP, SourceSpec
from engine.errors import KnotCamError, VideoSourceError

log = logging.getLogger(__name__)

POLL_S = 0.05  # how long a worker blocks at most before it looks at its stop flag and commands again


class StoppableThread(QThread):
    """A QThread whose loop ends soon after `request_stop`; commands run inside the thread, in order."""

    failed = Signal(str)  # one sentence for the window

    def __init__(self) -> None:
        super().__init__()
        self._stop_event = threading.Event()
        self._commands: deque[Callable[[], None]] = deque()

    def request_stop(self) -> None:
        """Ask the loop to end; returns at once."""
        self._stop_event.set()

    def stopping(self) -> bool:
        """True once a stop was requested."""
        return self._stop_event.is_set()

    def stop(self, timeout_ms: int = 2000) -> bool:
        """Request a stop and wait up to `timeout_ms`; True when the thread has ended."""
        self.request_stop()
        return self.wait(timeout_ms)

    def _post(self, command: Callable[[], None]) -> None:
        self._commands.append(command)

    def _run_commands(self) -> None:
        while self._commands:
            command = self._commands.popleft()
            try:
                command()
            except KnotCamError as err:
                self.failed.emit(str(err))


class CaptureWorker(StoppableThread):
    """Reads driving frames from a webcam or a looped video file, mirrors them if asked, and hands them on.

    Each frame goes to the generation queue (drop-oldest) and, at most `gate` frames at a time, to the GUI.
    """

    frame_captured = Signal(object, float)  # (H, W, 3) uint8 RGB, time.monotonic() of capture
    source_opened = Signal(str, str)  # description, notice ('' or why the source is not the one asked for)

    def __init__(self, spec: SourceSpec, frames_out: DropOldestQueue, mirror: bool = True) -> None:
        super().__init__()
        self.spec = spec
        self.frames_out = frames_out
        self.gate = GuiGate(2)
        self.mirror = mirror  # read by the loop each frame; a bool assignment is atomic

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
        if spec.kind in ("auto", "webcam"):
            capture, ok, bgr = _probe_webcam(spec.webcam_index)
            if ok:
                return self._webcam_frames(capture, bgr, spec)
            capture.release()
            if spec.kind == "webcam":
                raise VideoSourceError(f"Webcam {spec.webcam_index} could not be opened or delivered no frame.")
            return self._file_frames(DEMO_CLIP, texts.NO_WEBCAM_FALLBACK)
        return self._file_frames(Path(spec.path), "")

    def _webcam_frames(self, capture, first_bgr: np.ndarray, spec: SourceSpec):
        self.source_opened.emit(f"webcam {spec.webcam_index}", "")
        try:
            bgr = first_bgr
            while not self.stopping():
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                ok, bgr = capture.read()
                if not ok:
                    raise VideoSourceError(f"Webcam {spec.webcam_index} stopped delivering frames.")
        finally:
            capture.release()

    def _file_frames(self, path: Path, notice: str):
        from engine.video import VideoFileSource

        source = VideoFileSource(path, loop=True)
        period = 1.0 / (source.fps or 30.0)
        self.source_opened.emit(path.name, notice)
        next_due = time.monotonic()
        for rgb in source:
            # Pace the file like a live camera; waiting on the stop flag keeps closing fast.
            if self._stop_event.wait(max(0.0, next_due - time.monotonic())):
                return
            next_due = max(next_due + period, time.monotonic() - period)
            yield rgb


class GenerationWorker(StoppableThread):
    """Owns the tracker, the animator and the pipeline: driving frames in, avatar frames out.

    Portrait, animator and calibration requests are queued and run here between frames.
    """

    avatar_ready = Signal(object)  # engine.animator.AvatarFrame
    landmarks_ready = Signal(object)  # (478, 3) float32 driving-frame pixels, or None when no face
    fps_measured = Signal(float)
    animator_ready = Signal(str, str)  # label, notice ('' or why it fell back)
    cuda_checked = Signal(bool)
    calibrated = Signal()

    def __init__(
        self, frames_in: DropOldestQueue, output: DropOldestQueue, choice: AnimatorChoice | None = None
    ) -> None:
        super().__init__()
        self.frames_in = frames_in
        self.output = output
        self.gate = GuiGate(4)  # a whole chunk of avatar frames may be on its way to the GUI
        self.landmark_gate = GuiGate(2)
        self.frames_generated = 0
        self._choice = choice or AnimatorChoice()
        self._pipeline = None
        self._has_portrait = False

    def set_portrait(self, portrait) -> None:
        """Animate `portrait` (engine.animator.Portrait) from the next frame on."""
        self._post(lambda: self._apply_portrait(portrait))

    def set_animator(self, choice: AnimatorChoice) -> None:
        """Switch animator; built in this thread (weights load off the GUI thread)."""
        self._post(lambda: self._apply_animator(choice))

    def calibrate(self) -> None:
        """Take the next driving face as the neutral pose."""
        self._post(self._apply_calibrate)

    def run(self) -> None:
        from engine.driving import FaceTracker
        from engine.pipeline import AvatarPipeline

        tracker = FaceTracker(static_image_mode=False)
        try:
            built = build_animator(self._choice)
            self._pipeline = AvatarPipeline(built.animator, tracker)
            self.animator_ready.emit(built.label, built.notice)
            self._loop()
        except Exception as err:  # noqa: BLE001 (report, keep the window alive)
            log.exception("generation failed")
            self.failed.emit(str(err) if isinstance(err, KnotCamError) else f"The avatar engine stopped: {err}.")
        finally:
            tracker.close()

    def _loop(self) -> None:
        meter, last_report = RateMeter(), 0.0
        self.cuda_checked.emit(cuda_available())
        while not self.stopping():
            self._run_commands()
            item = self.frames_in.get(POLL_S)
            if item is None or not self._has_portrait:
                continue
            rgb, captured_at = item
            try:
                frames = self._pipeline.process(rgb, captured_at)
            except KnotCamError as err:
                self.failed.emit(str(err))
                continue
            if self.landmark_gate.try_enter():
                self.landmarks_ready.emit(self._pipeline.last_landmarks)
            for frame in frames:
                self.frames_generated += 1
                meter.tick()
                self.output.put(frame.image)
                if self.gate.try_enter():
                    self.avatar_ready.emit(frame)
            now = time.monotonic()
            if now - last_report >= 0.5:
                last_report = now
                self.fps_measured.emit(meter.rate(now))

    def _apply_portrait(self, portrait) -> None:
        self._pipeline.set_portrait(portrait)
        self._has_portrait = True
        self.frames_in.clear()

    def _apply_animator(self, choice: AnimatorChoice) -> None:
        built = build_animator(choice)
        self._pipeline.set_animator(built.animator)
        self.animator_ready.emit(built.label, built.notice)

    def _apply_calibrate(self) -> None:
        self._pipeline.calibrate()
        self.calibrated.emit()


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
            try:
                self._recorder.send(image)
            except Exception as err:  # noqa: BLE001 (disk full...: drop the partial file, report)
                log.exception("recording failed")
                self._recorder.abort()
                self._recorder = None
                self.recording_failed.emit(f"Recording stopped: {err}.")

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
            recorder.close()
            self.recording_finished.emit(str(recorder.path))


def _probe_webcam(index: int) -> tuple[cv2.VideoCapture, bool, np.ndarray | None]:
    """Open webcam `index` and read one frame; on Linux a missing /dev/videoN is not even tried (no noise)."""
    if platform.system() == "Linux" and not Path(f"/dev/video{index}").exists():
        return cv2.VideoCapture(), False, None
    capture = cv2.VideoCapture(index)
    ok, bgr = capture.read() if capture.isOpened() else (False, None)
    return capture, ok, bgr
