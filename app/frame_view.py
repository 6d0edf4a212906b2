"""FrameView: a widget that shows the latest RGB frame, fitted and centred, with optional landmark dots and a
caption over the picture ("hold still: calibrating")."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from app import texts


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """Wrap an (H, W, 3) uint8 RGB array as a QImage that owns a copy of the pixels."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class FrameView(QWidget):
    """Shows numpy RGB frames scaled to fit; the GUI thread only paints, it never waits on a producer."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.frames_shown = 0
        self.show_landmarks = False
        self._image: QImage | None = None
        self._landmarks: np.ndarray | None = None  # (N, 2+) float pixels of the current image
        self._caption = ""
        self._box: tuple[float, float, float, float] | None = None  # x, y, w, h in image pixels, outlined
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(480, 360)

    def show_frame(self, rgb: np.ndarray) -> None:
        """Display an (H, W, 3) uint8 RGB frame."""
        self._image = rgb_to_qimage(rgb)
        self.frames_shown += 1
        self.update()

    def clear(self) -> None:
        """Drop the frame shown (its source stopped): the view says it waits instead of freezing on it."""
        self._image = None
        self._landmarks = None
        self.update()

    def set_caption(self, text: str) -> None:
        """A line drawn over the bottom of the picture ('' for none)."""
        if text != self._caption:
            self._caption = text
            self.update()

    def set_box(self, box: tuple[float, float, float, float] | None) -> None:
        """Outline this part of the picture (what the virtual camera sends), or nothing."""
        self._box = box

    def box(self) -> tuple[float, float, float, float] | None:
        """The outlined box, or None."""
        return self._box

    def caption(self) -> str:
        """The caption shown, '' when none."""
        return self._caption

    def set_landmarks(self, landmarks: np.ndarray | None) -> None:
        """Landmarks (N, 2 or 3) in pixels of the frames shown, drawn when show_landmarks is on."""
        self._landmarks = None if landmarks is None else np.asarray(landmarks, dtype=np.float32)[:, :2]
        if self.show_landmarks:
            self.update()

    def set_show_landmarks(self, on: bool) -> None:
        """Turn the landmark overlay on or off."""
        self.show_landmarks = on
        self.update()

    def landmarks(self) -> np.ndarray | None:
        """The (N, 2) landmark pixels the overlay draws, or None."""
        return self._landmarks

    def current_image(self) -> QImage | None:
        """The frame on screen (for tests and screenshots)."""
        return self._image

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 28))
        if self._image is None:
            painter.setPen(QColor(160, 160, 170))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, f"{self.title}\n{texts.NO_FRAME}")
            self._paint_caption(painter)
            return
        iw, ih = self._image.width(), self._image.height()
        scale = min(self.width() / iw, self.height() / ih)
        target = QRectF((self.width() - iw * scale) / 2, (self.height() - ih * scale) / 2, iw * scale, ih * scale)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(target, self._image)
        if self.show_landmarks and self._landmarks is not None:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(QColor(80, 230, 140), max(1.5, scale * 0.8)))
            xy = self._landmarks * scale + np.array([target.x(), target.y()], dtype=np.float32)
            painter.drawPoints(QPolygonF([QPointF(float(x), float(y)) for x, y in xy]))
        if self._box is not None:
            x, y, w, h = self._box
            pen = QPen(QColor(255, 214, 90, 200), 1.5, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawRect(QRectF(target.x() + x * scale, target.y() + y * scale, w * scale, h * scale))
        painter.setPen(QColor(230, 230, 235))
        painter.drawText(self.rect().adjusted(8, 6, -8, -6), Qt.AlignmentFlag.AlignLeft, self.title)
        self._paint_caption(painter)

    def _paint_caption(self, painter: QPainter) -> None:
        if not self._caption:
            return
        box = QRectF(8, self.height() - 40, self.width() - 16, 32)
        painter.fillRect(box, QColor(20, 20, 24, 200))
        painter.setPen(QColor(255, 214, 90))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self._caption)
