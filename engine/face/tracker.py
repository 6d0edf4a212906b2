"""FaceTracker: mediapipe face mesh on RGB frames -> (478, 3) landmarks in pixels, or None without a face."""

from __future__ import annotations

import cv2
import numpy as np

from engine.errors import NoFaceFoundError


class FaceTracker:
    """mediapipe face mesh (478 landmarks with irises) on RGB frames; one instance per thread.

    `track` runs in tracking mode (cheap on consecutive video frames unless `static_image_mode`);
    `detect` runs a separate still-image graph so loading a portrait never disturbs the live track.
    """

    def __init__(self, static_image_mode: bool = False) -> None:
        self._static_image_mode = static_image_mode
        self._video_mesh = None
        self._still_mesh = None

    @staticmethod
    def _make_mesh(static_image_mode: bool):
        import mediapipe as mp  # heavy: imported only when a tracker is first used

        return mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static_image_mode,
            max_num_faces=1,
            refine_landmarks=True,
            min_detection_confidence=0.5,
            min_tracking_confidence=0.5,
        )

    @staticmethod
    def _run(mesh, image_rgb: np.ndarray) -> np.ndarray | None:
        # (H, W, 3) uint8 RGB -> (478, 3) float32: x, y in pixels, z in the same pixel scale (x width)
        image_rgb = np.ascontiguousarray(image_rgb)
        result = mesh.process(image_rgb)
        if not result.multi_face_landmarks:
            return None
        h, w = image_rgb.shape[:2]
        points = result.multi_face_landmarks[0].landmark
        out = np.array([(p.x, p.y, p.z) for p in points], dtype=np.float32)
        out[:, 0] *= w
        out[:, 1] *= h
        out[:, 2] *= w
        return out

    def track(self, frame_rgb: np.ndarray) -> np.ndarray | None:
        """Landmarks (478, 3) float32 of the one face in a video frame, or None when there is none."""
        if self._video_mesh is None:
            self._video_mesh = self._make_mesh(self._static_image_mode)
        return self._run(self._video_mesh, frame_rgb)

    def detect(self, image_rgb: np.ndarray) -> np.ndarray:
        """Landmarks (478, 3) of the face in a still image; raises NoFaceFoundError when there is none.

        A close-up whose face fills the frame can defeat the face detector, so a second try pads the image.
        """
        if self._still_mesh is None:
            self._still_mesh = self._make_mesh(True)
        landmarks = self._run(self._still_mesh, image_rgb)
        if landmarks is None:
            h, w = image_rgb.shape[:2]
            pad = max(h, w) // 4
            padded = cv2.copyMakeBorder(image_rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            landmarks = self._run(self._still_mesh, padded)
            if landmarks is not None:
                landmarks[:, :2] -= pad
                landmarks[:, 2] *= w / padded.shape[1]
        if landmarks is None:
            raise NoFaceFoundError("No face was found in the image; choose a photo showing one face clearly.")
        return landmarks

    def close(self) -> None:
        """Release the mediapipe graphs."""
        for mesh in (self._video_mesh, self._still_mesh):
            if mesh is not None:
                mesh.close()
        self._video_mesh = self._still_mesh = None

    def __enter__(self) -> FaceTracker:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
