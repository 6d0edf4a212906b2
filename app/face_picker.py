"""FacePicker: the portrait panel's preview of the detected face. With one face it shows that face; with
several it shows the photo with a box round each face, the animated one highlighted, and a click on another
face asks for it."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QLabel, QWidget

from app import texts
from app.frame_view import rgb_to_qimage


def face_crop(image: np.ndarray, landmarks: np.ndarray, margin: float = 0.35) -> np.ndarray:
    """Square crop around the landmarks' box, widened by `margin`: (H, W, 3) -> (s, s, 3) RGB."""
    xy = np.asarray(landmarks)[:, :2]
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = max(x1 - x0, y1 - y0) * (1 + margin) / 2
    h, w = image.shape[:2]
    left, top = int(max(0, cx - half)), int(max(0, cy - half))
    right, bottom = int(min(w, cx + half)), int(min(h, cy + half))
    return np.ascontiguousarray(image[top:bottom, left:right])


def face_box(landmarks: np.ndarray) -> QRectF:
    """The landmarks' bounding box in image pixels."""
    xy = np.asarray(landmarks)[:, :2]
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    return QRectF(float(x0), float(y0), float(x1 - x0), float(y1 - y0))


class FacePicker(QLabel):
    """The active face (one face) or the photo with its faces boxed (several); `face_chosen(index)` on a click
    inside another face's box (index into engine.animator.Portrait.other_faces, plus one)."""

    face_chosen = Signal(int)

    SIZE = 180

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(texts.CROP_PREVIEW_EMPTY, parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFixedSize(self.SIZE, self.SIZE)
        self.setStyleSheet("background: #18181c; color: #a0a0aa; border-radius: 4px;")
        self._boxes: list[QRectF] = []  # faces in widget pixels, the active one first
        self._offset, self._scale = QPointF(0, 0), 1.0

    def show_portrait(self, portrait) -> None:
        """Show the portrait's active face, or the whole photo with every face boxed when there are several."""
        faces = [portrait.landmarks, *portrait.other_faces]
        if len(faces) == 1:
            self._boxes = []
            pixmap = QPixmap.fromImage(rgb_to_qimage(face_crop(portrait.image, portrait.landmarks)))
            self.setPixmap(pixmap.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation))
            self.setToolTip("")
            return
        h, w = portrait.image.shape[:2]
        self._scale = min(self.width() / w, self.height() / h)
        self._offset = QPointF((self.width() - w * self._scale) / 2, (self.height() - h * self._scale) / 2)
        pixmap = QPixmap(self.size())
        pixmap.fill(QColor(24, 24, 28))
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(QRectF(self._offset.x(), self._offset.y(), w * self._scale, h * self._scale),
                          rgb_to_qimage(portrait.image))
        self._boxes = []
        for i, landmarks in enumerate(faces):
            r = face_box(landmarks)
            box = QRectF(self._offset.x() + r.x() * self._scale, self._offset.y() + r.y() * self._scale,
                         r.width() * self._scale, r.height() * self._scale)
            self._boxes.append(box)
            painter.setPen(QPen(QColor(80, 230, 140) if i == 0 else QColor(230, 230, 235), 2 if i == 0 else 1))
            painter.drawRect(box)
        painter.end()
        self.setPixmap(pixmap)
        self.setToolTip(texts.PICK_ANOTHER_FACE)

    def face_centre(self, index: int) -> QPointF:
        """Widget position of the centre of face `index` (0 = the active face), for clicks and tests."""
        return self._boxes[index].center()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt name)
        point = event.position()
        for index, box in enumerate(self._boxes[1:], start=1):
            if box.contains(point):
                self.face_chosen.emit(index)
                return
        super().mousePressEvent(event)
