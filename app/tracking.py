"""TrackingWorker: the driving face tracked on its own thread, beside generation.

    capture ──(RGB, t)──► DropOldestQueue(1) ──► TrackingWorker ──(RGB, t, landmarks)──► DropOldestQueue(1)
        ──► generation

mediapipe (~5-7 ms a frame on one core) then runs while the animator generates the previous frame, so on a
2-core machine tracking no longer adds to the time per avatar frame. The queue after it holds one frame: when
generation falls behind, the newest tracked frame waits, older ones are dropped.
"""

from __future__ import annotations

import logging

from app.queues import DropOldestQueue
from app.threads import POLL_S, StoppableThread
from engine.errors import KnotCamError

log = logging.getLogger(__name__)


class TrackingWorker(StoppableThread):
    """Owns the FaceTracker (video mode): (rgb, t) in, (rgb, t, (478, 3) landmarks or None) out."""

    def __init__(self, frames_in: DropOldestQueue, tracked: DropOldestQueue) -> None:
        super().__init__()
        self.frames_in, self.tracked = frames_in, tracked
        self.frames_tracked = 0

    def run(self) -> None:
        from engine.face.tracker import FaceTracker

        tracker = None
        try:
            tracker = FaceTracker(static_image_mode=False)
            while not self.stopping():
                item = self.frames_in.get(POLL_S)
                if item is None:
                    continue
                rgb, captured_at = item
                self.tracked.put((rgb, captured_at, tracker.track(rgb)))
                self.frames_tracked += 1
        except Exception as err:  # noqa: BLE001 (report, keep the window alive)
            log.exception("tracking failed")
            self.failed.emit(str(err) if isinstance(err, KnotCamError) else f"Face tracking stopped: {err}.")
        finally:
            if tracker is not None:
                tracker.close()
