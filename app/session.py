"""Session: the running pipeline behind the window, with no widgets.

It owns the bounded queues, the portrait loader, the generation and output workers, and the capture worker,
which it swaps when the driving source changes (a webcam cannot be opened twice, so the old capture thread
finishes before the new one starts). The window connects to the workers' signals and shows what comes back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from app.capture import CaptureWorker, WebcamOpener
from app.engine_choice import AnimatorChoice
from app.output_worker import OutputWorker
from app.portrait_loader import PortraitLoader
from app.queues import DropOldestQueue
from app.sources import SourceSpec
from app.workers import GenerationWorker

STOP_TIMEOUT_S = 2.0
AVATAR_BURST = 4  # frames one animator step may deliver at once (a Knot Forcing chunk); queues hold that many


@dataclass(frozen=True)
class WindowOptions:
    """Start-up choices that are not user preferences (tests and the command line set them)."""

    camera_backend: str | None = None  # pyvirtualcam backend name; None tries every backend of this OS
    camera_device: str | None = None  # virtual camera device name; None takes the first free one
    source: SourceSpec | None = None  # driving source instead of the saved one
    open_webcam: WebcamOpener | None = None  # opens a webcam by index (tests stand in for the device here)


class Session(QObject):
    """Queues and workers of one window: portrait loader, capture (swapped per source), generation, output."""

    capture_created = Signal(object)  # the new CaptureWorker, before it starts: connect its signals here

    def __init__(self, choice: AnimatorChoice, options: WindowOptions, mirror: bool,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        # The newest camera frame only: tracking (its own thread) takes it when free, so none waits behind another.
        self.driving_queue: DropOldestQueue = DropOldestQueue(1)
        self.output_queue: DropOldestQueue = DropOldestQueue(AVATAR_BURST)
        self.loader = PortraitLoader()
        self.generation = GenerationWorker(self.driving_queue, self.output_queue, choice)
        self.output = OutputWorker(self.output_queue, options.camera_backend, options.camera_device)
        self.capture: CaptureWorker | None = None
        self.mirror = mirror
        self._open_webcam = options.open_webcam
        self._pending_source: SourceSpec | None = None
        self._retiring: list[CaptureWorker] = []

    def start(self) -> None:
        """Start the loader, generation and output threads (connect their signals first)."""
        for worker in (self.loader, self.generation, self.output):
            worker.start()

    def workers(self) -> list:
        """Every thread the session started that may still run."""
        threads = [self.loader, self.generation, self.output, *self._retiring]
        return threads + ([self.capture] if self.capture is not None else [])

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Ask every thread to stop and wait for them, `timeout_s` for all of them together."""
        threads = self.workers()
        for thread in threads:
            thread.request_stop()
        deadline = time.monotonic() + timeout_s
        for thread in threads:
            thread.wait(max(1, int((deadline - time.monotonic()) * 1000)))

    # ---- driving source -----------------------------------------------------------------------------------
    def set_source(self, spec: SourceSpec) -> None:
        """Drive from `spec`; the old capture thread is stopped first (a webcam cannot be opened twice)."""
        self._pending_source = spec
        old, self.capture = self.capture, None
        if old is None or old.isFinished():
            self._start_pending_capture()
            return
        self._retiring.append(old)
        old.finished.connect(self._start_pending_capture)
        old.request_stop()

    def _start_pending_capture(self) -> None:
        self._retiring = [w for w in self._retiring if not w.isFinished()]
        if self._pending_source is None or self.capture is not None or self._retiring:
            return
        spec, self._pending_source = self._pending_source, None
        self.capture = CaptureWorker(spec, self.driving_queue, self.mirror, self._open_webcam)
        self.capture_created.emit(self.capture)
        self.capture.start()

    def set_mirror(self, on: bool) -> None:
        """Mirror the driving frames (the running capture and the next ones)."""
        self.mirror = on
        if self.capture is not None:
            self.capture.set_mirror(on)
