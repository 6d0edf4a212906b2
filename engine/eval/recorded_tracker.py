"""RecordedTracker: mediapipe's answers for a portrait and a driving clip, recorded once, replayed by frame.

The GPU machine has no mediapipe, so `main.py bench --landmarks FILE` replays what `FaceTracker` answered
on this machine (`main.py bench --record-landmarks FILE`) for the same portrait and clip. Answers are looked
up by the frame's content, so a looped clip finds its frames again; a frame that was not recorded is an
error, never a guess. Everything after tracking (retargeting, animator, composition) runs for real.

File (.npz): keys (n,) str = frame digests; landmarks (n, 478, 3) float32, NaN where no face was found.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from engine.errors import KnotCamError, NoFaceFoundError


def frame_key(frame: np.ndarray) -> str:
    """Digest of a frame's shape and pixels."""
    digest = hashlib.blake2b(np.ascontiguousarray(frame).tobytes(), digest_size=16)
    digest.update(repr(frame.shape).encode())
    return digest.hexdigest()


class LandmarkRecorder:
    """Wraps a FaceTracker and remembers its answers (the first one for each distinct frame)."""

    def __init__(self, tracker) -> None:
        self.tracker = tracker
        self.answers: dict[str, np.ndarray | None] = {}

    def track(self, frame_rgb: np.ndarray) -> np.ndarray | None:
        """FaceTracker.track, recorded."""
        answer = self.tracker.track(frame_rgb)
        self.answers.setdefault(frame_key(frame_rgb), answer)
        return answer

    def detect(self, image_rgb: np.ndarray) -> np.ndarray:
        """FaceTracker.detect, recorded (a NoFaceFoundError is recorded as no face, then raised)."""
        try:
            answer = self.tracker.detect(image_rgb)
        except NoFaceFoundError:
            self.answers.setdefault(frame_key(image_rgb), None)
            raise
        self.answers.setdefault(frame_key(image_rgb), answer)
        return answer

    def recording(self) -> RecordedTracker:
        """What was recorded so far, as a tracker that replays it."""
        return RecordedTracker(dict(self.answers))


class RecordedTracker:
    """FaceTracker's `track`/`detect` answered from a recording (see the module docstring)."""

    def __init__(self, answers: dict[str, np.ndarray | None]) -> None:
        self.answers = answers

    def save(self, path: Path) -> None:
        """Write the recording as .npz."""
        nan = np.full((478, 3), np.nan, np.float32)
        keys = list(self.answers)
        landmarks = np.stack([nan if self.answers[k] is None else self.answers[k] for k in keys]).astype(np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            np.savez_compressed(f, keys=np.array(keys), landmarks=landmarks)

    @classmethod
    def load(cls, path: Path) -> RecordedTracker:
        """Read a recording; KnotCamError when the file is missing or not one."""
        try:
            with np.load(path) as data:
                keys, landmarks = data["keys"], data["landmarks"]
        except (OSError, KeyError, ValueError) as exc:
            raise KnotCamError(f"{path} is not a landmark recording ({exc}).") from None
        return cls({str(k): (lm if np.isfinite(lm).all() else None) for k, lm in zip(keys, landmarks, strict=True)})

    def _answer(self, frame: np.ndarray) -> np.ndarray | None:
        try:
            answer = self.answers[frame_key(frame)]
        except KeyError:
            raise KnotCamError("This frame is not in the landmark recording; record it with the same portrait "
                               "and driving clip.") from None
        return None if answer is None else answer.copy()

    def track(self, frame_rgb: np.ndarray) -> np.ndarray | None:
        """The recorded landmarks (478, 3) of a video frame, or None where none was found."""
        return self._answer(frame_rgb)

    def detect(self, image_rgb: np.ndarray) -> np.ndarray:
        """The recorded landmarks of a still image; NoFaceFoundError where none was found."""
        landmarks = self._answer(image_rgb)
        if landmarks is None:
            raise NoFaceFoundError("No face was found in the image; choose a photo showing one face clearly.")
        return landmarks

    def close(self) -> None:
        """Nothing to release (FaceTracker's interface)."""

    def __enter__(self) -> RecordedTracker:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
