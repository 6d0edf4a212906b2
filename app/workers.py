"""QThread workers: capture (app/capture.py), tracking (app/tracking.py, started by generation), generation
(here), output (app/output_worker.py); portrait loading: app/portrait_loader.py. They talk
to the window by signals carrying numpy frames and to each other through bounded drop-oldest queues; the GUI
thread never waits on them.

    Capture ──(RGB, t)──► DropOldestQueue(1) ──► Tracking ──► DropOldestQueue(1) ──► Generation ──image──►
      │ frame_captured                                                                │ avatar_ready,
      ▼                                                                               ▼ landmarks_ready
    window: driving preview                         DropOldestQueue(2) ──► Output (virtual camera, recorder)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Signal

from app.capture import CaptureWorker, WebcamOpener, reconnect_delays
from app.engine_choice import (
    AnimatorChoice,
    BuiltAnimator,
    build_animator,
    cuda_available,
    out_of_memory_notice,
    smaller_choice,
)
from app.queues import DropOldestQueue, GuiGate, RateMeter
from app.threads import POLL_S, StoppableThread
from app.tracking import TrackingWorker
from engine.animator_factory import is_out_of_memory, release_memory
from engine.errors import KnotCamError

__all__ = ["POLL_S", "CaptureWorker", "GenerationWorker", "StoppableThread", "WebcamOpener", "reconnect_delays"]

log = logging.getLogger(__name__)

IDLE_AFTER_S = 0.25  # no driving frame for this long (source lost or stalled): the avatar idles on its own
IDLE_FPS = 30.0  # rate of the idle frames


class GenerationWorker(StoppableThread):
    """Owns the animator and the pipeline (and starts the tracking thread): driving frames in, avatar frames out.

    Portrait, animator and calibration requests are queued and run here between frames.
    """

    avatar_ready = Signal(object)  # engine.animator.AvatarFrame
    landmarks_ready = Signal(object)  # (478, 3) float32 driving-frame pixels, or None when no face
    fps_measured = Signal(float)  # avatar frames per second driven by source frames (0 while none arrive)
    animator_ready = Signal(str, str)  # label, notice ('' or why it fell back)
    cuda_checked = Signal(bool)
    calibrated = Signal()  # a neutral face was captured
    calibrating_changed = Signal(bool)  # True while the neutral is being captured (the avatar idles)

    def __init__(
        self, frames_in: DropOldestQueue, output: DropOldestQueue, choice: AnimatorChoice | None = None,
        build: Callable[[AnimatorChoice], BuiltAnimator] = build_animator,
    ) -> None:
        super().__init__()
        self.frames_in = frames_in
        self.tracked: DropOldestQueue = DropOldestQueue(1)  # (rgb, t, landmarks) from the tracking thread
        self.tracking = TrackingWorker(frames_in, self.tracked)
        self.tracking.failed.connect(self.failed.emit)
        self.output = output
        self.gate = GuiGate(4)  # a whole chunk of avatar frames may be on its way to the GUI
        self.landmark_gate = GuiGate(2)
        self.frames_generated = 0
        self.idle_frames = 0  # frames generated without a driving frame (source lost or stalled)
        self._choice = choice or AnimatorChoice()
        self._build = build
        self._pipeline = None
        self._has_portrait = False
        self._calibrating = False
        self._aspect, self._zoom = 16 / 9, 1.0  # output framing; zoom None = the full photo
        self._framer = None  # engine.framing.SteadyFramer, made in this thread
        self.framing_box = None  # engine.framing.FrameBox of the last frame sent, None for the full photo

    def set_portrait(self, portrait) -> None:
        """Animate `portrait` (engine.animator.Portrait) from the next frame on."""
        self._post(lambda: self._apply_portrait(portrait))

    def set_animator(self, choice: AnimatorChoice) -> None:
        """Switch animator; built in this thread (weights load off the GUI thread)."""
        self._post(lambda: self._apply_animator(choice))

    def calibrate(self) -> None:
        """Capture a new neutral pose from the first steady second of the driving face."""
        self._post(self._apply_calibrate)

    def set_framing(self, aspect: float, zoom: float | None) -> None:
        """Crop what the camera and the recording get to head and shoulders at `aspect` (width / height),
        `zoom` times closer; None sends the full photo."""
        self._post(lambda: self._apply_framing(aspect, zoom))

    @property
    def last_motion(self):
        """The engine.animator.Motion last given to the animator, or None (read from any thread)."""
        return self._pipeline.last_motion if self._pipeline is not None else None

    def run(self) -> None:
        from engine.face.neutral_capture import NeutralCaptureConfig
        from engine.face.retarget import RetargetConfig
        from engine.pipeline import AvatarPipeline

        self.tracking.start()
        try:
            built = self._build(self._choice)
            live = RetargetConfig(neutral_capture=NeutralCaptureConfig())  # a steady second, not any first frame
            self._pipeline = AvatarPipeline(built.animator, None, live)  # tracked on the tracking thread
            self.animator_ready.emit(built.label, built.notice)
            self._loop()
        except Exception as err:  # noqa: BLE001 (report, keep the window alive)
            log.exception("generation failed")
            self.failed.emit(str(err) if isinstance(err, KnotCamError) else f"The avatar engine stopped: {err}.")
        finally:
            self.tracking.stop(5000)

    def _loop(self) -> None:
        meter, last_report = RateMeter(), 0.0
        last_input = last_idle = time.monotonic()
        self.cuda_checked.emit(cuda_available())
        while not self.stopping():
            self._run_commands()
            now = time.monotonic()
            if now - last_report >= 0.5:  # reported even when nothing arrives, so the readout falls to 0
                last_report = now
                self.fps_measured.emit(meter.rate(now))
            idling = time.monotonic() - last_input >= IDLE_AFTER_S
            item = self.tracked.get(min(POLL_S, 1.0 / IDLE_FPS) if idling else POLL_S)
            if not self._has_portrait:
                continue
            now = time.monotonic()
            if item is None and (not idling or now - last_idle < 1.0 / IDLE_FPS):
                continue
            frames = None
            try:
                if item is None:  # the source is lost or stalled: the avatar keeps idling, the camera keeps sending
                    last_idle = now
                    frames = self._pipeline.idle(now)
                    self.idle_frames += len(frames)
                else:
                    rgb, captured_at, landmarks = item
                    last_input = now
                    frames = self._pipeline.animate(landmarks, rgb.shape[:2], captured_at)
            except KnotCamError as err:
                self.failed.emit(str(err))
                continue
            except Exception as err:
                if not is_out_of_memory(err):
                    raise
            if frames is None:  # out of memory (handled outside the except: its traceback holds the old animator)
                self._step_down_after_out_of_memory()
                continue
            self._report_calibration()
            if self.landmark_gate.try_enter():
                self.landmarks_ready.emit(self._pipeline.last_landmarks)
            for frame in frames:
                self.frames_generated += 1
                if item is not None:  # idle frames keep the camera fed but are not a working source
                    meter.tick()
                self.output.put(self._framed(frame.image))
                if self.gate.try_enter():
                    self.avatar_ready.emit(frame)

    def _apply_portrait(self, portrait) -> None:
        self._pipeline.set_portrait(portrait)  # a new retargeter: a new neutral capture
        self._has_portrait = True
        self.frames_in.clear()
        self.tracked.clear()
        if self._framer is not None:
            self._framer.reset()
        self._report_calibration()

    def _apply_framing(self, aspect: float, zoom: float | None) -> None:
        self._aspect, self._zoom = aspect, zoom
        if self._framer is not None:
            self._framer.reset()

    def _framed(self, image: np.ndarray) -> np.ndarray:
        """The avatar frame cropped to the steady head-and-shoulders box (or whole for the full photo)."""
        from engine.framing import SteadyFramer, head_and_shoulders

        motion = self._pipeline.last_motion
        if self._zoom is None or motion is None:
            self.framing_box = None
            return image
        if self._framer is None:
            self._framer = SteadyFramer()
        h, w = image.shape[:2]
        target = head_and_shoulders(motion.landmarks, (w, h), self._aspect, self._zoom)
        self.framing_box = self._framer.update(target)
        return self.framing_box.slice_of(image)

    def _apply_animator(self, choice: AnimatorChoice) -> None:
        built = self._build(choice)
        self._choice = choice
        self._pipeline.set_animator(built.animator)
        self.animator_ready.emit(built.label, built.notice)

    def _step_down_after_out_of_memory(self) -> None:
        """The animator ran out of memory mid-stream: continue on a smaller preset, the CPU, or warp."""
        failed, smaller = self._choice, smaller_choice(self._choice)
        if smaller == failed:
            raise MemoryError("out of memory with the smallest animator")
        log.warning("out of memory running %s; switching to %s", failed.describe(), smaller.describe())
        self._pipeline.animator = None  # let the failed animator's memory go before the next one loads
        release_memory()
        built = self._build(smaller)
        self._choice = smaller
        self._pipeline.set_animator(built.animator)
        self.animator_ready.emit(built.label, built.oom_notice or out_of_memory_notice(failed, built))

    def _apply_calibrate(self) -> None:
        self._pipeline.calibrate()
        self._report_calibration()

    def _report_calibration(self) -> None:
        calibrating = self._pipeline.calibrating
        if calibrating != self._calibrating:
            self._calibrating = calibrating
            self.calibrating_changed.emit(calibrating)
            if not calibrating:
                self.calibrated.emit()
