"""PreviewArea: the driving and avatar previews side by side, with the problem banner laid over them (so a
notice never resizes or moves the previews)."""

from __future__ import annotations

from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QWidget

from app import texts
from app.banner import ProblemBanner
from app.frame_view import FrameView


class PreviewArea(QWidget):
    """Driving | avatar previews, and the banner over their top edge."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.driving_view = FrameView(texts.DRIVING_TITLE)
        self.avatar_view = FrameView(texts.AVATAR_TITLE)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.driving_view)
        layout.addWidget(self.avatar_view)
        self.banner = ProblemBanner(self)  # a child outside the layout: drawn over the previews

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        self.banner.place(self.width())
