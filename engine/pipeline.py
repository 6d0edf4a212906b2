"""AvatarPipeline: one driving frame in, avatar frames out (tracker -> retargeter -> animator).

This is the single object the GUI worker, `render`, `soak` and `eval` drive. Not thread-safe: one thread owns it.
"""

from __future__ import annotations

import numpy as np

from engine.animator import Animator, AvatarFrame, Motion, Portrait
from engine.face.retarget import RetargetConfig, Retargeter
from engine.face.tracker import FaceTracker


class AvatarPipeline:
    """Tracks the driving face, retargets it onto the portrait and animates the portrait."""

    def __init__(self, animator: Animator, tracker: FaceTracker | None,
                 retarget_config: RetargetConfig | None = None) -> None:
        """tracker: None when the caller tracks elsewhere and only calls `animate` (the app's tracking thread)."""
        self.animator = animator
        self.tracker = tracker
        self.retarget_config = retarget_config
        self.portrait: Portrait | None = None
        self.retargeter: Retargeter | None = None
        self.last_landmarks: np.ndarray | None = None  # (478, 3) driving landmarks of the last frame, or None
        self.last_motion: Motion | None = None  # the motion the animator was last given

    def set_portrait(self, portrait: Portrait) -> None:
        """Switch portrait: new retargeter (the next face seen is the neutral), animator state reset."""
        self.portrait = portrait
        self.retargeter = Retargeter(portrait.landmarks, self.retarget_config)
        self.animator.set_portrait(portrait)

    def set_animator(self, animator: Animator) -> None:
        """Swap the animator, keeping the portrait and the calibrated neutral."""
        self.animator = animator
        if self.portrait is not None:
            animator.set_portrait(self.portrait)

    def calibrate(self) -> None:
        """Take the next visible driving face (or, with a neutral capture, its first steady second) as neutral."""
        if self.retargeter is not None:
            self.retargeter.calibrate()

    @property
    def calibrating(self) -> bool:
        """Whether the driving neutral is still being captured (the avatar idles meanwhile)."""
        return self.retargeter is not None and self.retargeter.calibrating

    def process(self, frame_rgb: np.ndarray, timestamp: float) -> list[AvatarFrame]:
        """(H, W, 3) uint8 RGB driving frame at `timestamp` (monotonic seconds) -> frames that became ready."""
        if self.retargeter is None:
            raise RuntimeError("AvatarPipeline.process called before set_portrait")
        if self.tracker is None:
            raise RuntimeError("AvatarPipeline.process needs a tracker; without one, call animate")
        return self.animate(self.tracker.track(frame_rgb), frame_rgb.shape[:2], timestamp)

    def animate(self, landmarks: np.ndarray | None, frame_size: tuple[int, int], timestamp: float) -> list[AvatarFrame]:
        """The steps after tracking: (478, 3) driving landmarks (None: no face) of a frame of (height, width)
        at `timestamp` -> frames that became ready. For a caller that tracks on another thread."""
        if self.retargeter is None:
            raise RuntimeError("AvatarPipeline.animate called before set_portrait")
        self.last_landmarks = landmarks
        height, width = frame_size
        self.last_motion = self.retargeter.retarget(landmarks, timestamp, (width, height))
        return self.animator.push(self.last_motion)

    def idle(self, timestamp: float) -> list[AvatarFrame]:
        """No driving frame to give (the source is lost or stalled): the avatar idles as if no face were seen."""
        if self.retargeter is None:
            raise RuntimeError("AvatarPipeline.idle called before set_portrait")
        self.last_landmarks = None
        self.last_motion = self.retargeter.retarget(None, timestamp)
        return self.animator.push(self.last_motion)

    def flush(self) -> list[AvatarFrame]:
        """Frames the animator still holds back (end of a file)."""
        return self.animator.flush()
