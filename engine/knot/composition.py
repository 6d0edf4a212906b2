"""Composition: an emitted face crop into the full-resolution frame, inside a soft mask over the face oval."""

from __future__ import annotations

import cv2
import numpy as np

from engine.face import topology as topo
from engine.face.crop import CropBox


def face_mask(crop_landmarks: np.ndarray, size: int) -> np.ndarray:
    """Soft mask (size, size) float32 in [0, 1] over the face oval, feathered at its edge."""
    mask = np.zeros((size, size), np.float32)
    hull = cv2.convexHull(crop_landmarks[list(topo.FACE_OVAL)].astype(np.float32))
    cv2.fillConvexPoly(mask, np.round(hull).astype(np.int32), 1.0, lineType=cv2.LINE_AA)
    k = max(3, size // 16) | 1
    return cv2.GaussianBlur(mask, (k, k), 0)


class PasteRegion:
    """Maps crop-space images into the part of the full frame the crop box covers."""

    def __init__(self, box: CropBox, size: int, image_shape: tuple[int, int]) -> None:
        h, w = image_shape
        corners = box.to_image(np.array([[-0.5, -0.5], [size - 0.5, size - 0.5]], np.float32), size)
        self.x0, self.y0 = (max(0, int(np.floor(v))) for v in corners[0])
        self.x1, self.y1 = min(w, int(np.ceil(corners[1][0]))), min(h, int(np.ceil(corners[1][1])))
        src = np.array([[0, 0], [size - 1, 0], [0, size - 1]], np.float32)
        dst = box.to_image(src, size) - np.array([self.x0, self.y0], np.float32)
        self.matrix = cv2.getAffineTransform(src, dst.astype(np.float32))
        self.size = (self.x1 - self.x0, self.y1 - self.y0)

    def _to_region(self, crop_image: np.ndarray) -> np.ndarray:
        return cv2.warpAffine(crop_image, self.matrix, self.size, flags=cv2.INTER_LINEAR, borderValue=0)

    def add(self, full: np.ndarray, delta: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """full (H, W, 3) uint8 + mask * delta (R, R, 3) float, in the box region -> uint8."""
        if self.size[0] <= 0 or self.size[1] <= 0:
            return full
        region = full[self.y0:self.y1, self.x0:self.x1].astype(np.float32)
        region += self._to_region(delta * mask[..., None])
        full[self.y0:self.y1, self.x0:self.x1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)
        return full

    def replace(self, full: np.ndarray, face: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """full (H, W, 3) uint8 with face (R, R, 3) float [0, 255] pasted inside mask."""
        if self.size[0] <= 0 or self.size[1] <= 0:
            return full
        m = self._to_region(mask)[..., None]
        region = full[self.y0:self.y1, self.x0:self.x1].astype(np.float32)
        region = region * (1 - m) + self._to_region(face.astype(np.float32)) * m
        full[self.y0:self.y1, self.x0:self.x1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)
        return full
