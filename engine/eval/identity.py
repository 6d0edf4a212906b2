"""Face identity descriptors: dlib's ResNet face-recognition model (128-d, LFW 99.38 %), offline.

The model files come with the `face-recognition-models` package and the code with `dlib-bin`; nothing is
downloaded. The face box comes from the mediapipe landmarks we already have; dlib's 5-point shape predictor
places the points it aligns the 150x150 face chip with, as in dlib's own pipeline.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from engine.errors import KnotCamError
from engine.face import topology as topo

_BROWS = topo.RIGHT_EYEBROW_UPPER + topo.LEFT_EYEBROW_UPPER


class IdentityModelMissingError(KnotCamError):
    """dlib or its face-recognition model files are not installed."""


def _model_dir() -> Path:
    # face_recognition_models/__init__.py imports pkg_resources (gone from recent setuptools): find its folder
    # without importing it.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise IdentityModelMissingError(
            "The identity metric needs the packages dlib-bin and face-recognition-models (pip install them).")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class FaceDescriptor:
    """RGB image + its face's mediapipe landmarks -> (128,) dlib identity descriptor."""

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError as err:
            raise IdentityModelMissingError(
                "The identity metric needs the packages dlib-bin and face-recognition-models (pip install them)."
            ) from err
        models = _model_dir()
        self._dlib = dlib
        self._shape = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
        self._net = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))

    def face_box(self, landmarks: np.ndarray):
        """dlib.rectangle around a face the way dlib's detector frames it: brows to chin, cheek to cheek."""
        pts = np.asarray(landmarks)[:, :2]
        oval = pts[list(topo.FACE_OVAL)]
        top = float(pts[list(_BROWS), 1].min())
        bottom = float(pts[topo.CHIN, 1])
        left, right = float(oval[:, 0].min()), float(oval[:, 0].max())
        return self._dlib.rectangle(int(round(left)), int(round(top)), int(round(right)), int(round(bottom)))

    def describe(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB and (478, 2|3) landmark pixels -> (128,) float64 descriptor."""
        image = np.ascontiguousarray(image)
        shape = self._shape(image, self.face_box(landmarks))
        return np.array(self._net.compute_face_descriptor(image, shape), np.float64)
