"""FaceTracker: mediapipe face mesh on RGB frames -> (478, 3) landmarks in pixels, or None without a face."""

from __future__ import annotations

import cv2
import numpy as np

from engine.errors import NoFaceFoundError

MAX_STILL_FACES = 6  # faces a still image may show (a group photo); the largest becomes the portrait


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
    def _make_mesh(static_image_mode: bool, max_num_faces: int = 1):
        import mediapipe as mp  # heavy: imported only when a tracker is first used

        return mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static_image_mode,
            max_num_faces=max_num_faces,
            refine_landmarks=True,
            min_detection_confidence=0.5,
            min_tracking_confidence=0.5,
        )

    @staticmethod
    def _run(mesh, image_rgb: np.ndarray) -> list[np.ndarray]:
        # (H, W, 3) uint8 RGB -> every face found as (478, 3) float32: x, y in pixels, z in the same pixel scale
        image_rgb = np.ascontiguousarray(image_rgb)
        result = mesh.process(image_rgb)
        if not result.multi_face_landmarks:
            return []
        h, w = image_rgb.shape[:2]
        faces = []
        for face in result.multi_face_landmarks:
            out = np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float32)
            out[:, 0] *= w
            out[:, 1] *= h
            out[:, 2] *= w
            faces.append(out)
        return faces

    def track(self, frame_rgb: np.ndarray) -> np.ndarray | None:
        """Landmarks (478, 3) float32 of the one face in a video frame, or None when there is none."""
        if self._video_mesh is None:
            self._video_mesh = self._make_mesh(self._static_image_mode)
        faces = self._run(self._video_mesh, frame_rgb)
        return faces[0] if faces else None

    def detect(self, image_rgb: np.ndarray) -> np.ndarray:
        """Landmarks (478, 3) of the largest face in a still image; raises NoFaceFoundError when there is none."""
        return self.detect_faces(image_rgb)[0]

    def detect_faces(self, image_rgb: np.ndarray) -> list[np.ndarray]:
        """Landmarks (478, 3) of every face in a still image (up to MAX_STILL_FACES), largest first; raises
        NoFaceFoundError when there is none.

        A close-up whose face fills the frame can defeat the face detector, so a second try pads the image.
        """
        if self._still_mesh is None:
            self._still_mesh = self._make_mesh(True, MAX_STILL_FACES)
        faces = self._run(self._still_mesh, image_rgb)
        if not faces:
            h, w = image_rgb.shape[:2]
            pad = max(h, w) // 4
            padded = cv2.copyMakeBorder(image_rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            faces = self._run(self._still_mesh, padded)
            for landmarks in faces:
                landmarks[:, :2] -= pad
                landmarks[:, 2] *= w / padded.shape[1]
        if not faces:
            raise NoFaceFoundError("No face was found in the image; choose a photo showing one face clearly.")
        return sorted(faces, key=face_area, reverse=True)

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


def face_area(landmarks: np.ndarray) -> float:
    """Area in pixels of the box around a face's landmarks (how large the face appears)."""
    xy = landmarks[:, :2]
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    return float((x1 - x0) * (y1 - y0))
