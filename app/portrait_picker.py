"""Portrait panel: gallery of bundled and recent portraits, "Add portrait..." button, face crop preview, and
the one-sentence error line. It only asks for portraits (`portrait_requested`); the window loads them off
the GUI thread and reports back with `show_active` or `show_error`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import texts
from app.face_picker import FacePicker
from app.frame_view import rgb_to_qimage

PATH_ROLE = Qt.ItemDataRole.UserRole
PANEL_WIDTH = 250
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def bundled_portraits(folder: Path) -> list[str]:
    """Image files shipped in `folder`, sorted by name."""
    if not folder.is_dir():
        return []
    return sorted(str(p) for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


class PortraitGallery(QListWidget):
    """A row of portrait thumbnails; clicking one asks for it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(QSize(64, 64))
        self.setGridSize(QSize(78, 90))
        self.setMovement(QListWidget.Movement.Static)
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setWordWrap(True)
        self.setMaximumHeight(2 * 90 + 8)  # two rows of thumbnails, then it scrolls
        self.setDragDropMode(QAbstractItemView.DragDropMode.NoDragDrop)
        self.setAcceptDrops(False)  # drops go to the window, which treats them as new portraits

    def set_paths(self, paths: list[str]) -> None:
        """Show one item per path (thumbnails arrive later through `set_thumbnail`)."""
        self.clear()
        for path in paths:
            item = QListWidgetItem(Path(path).stem)
            item.setData(PATH_ROLE, path)
            item.setToolTip(path)
            self.addItem(item)

    def paths(self) -> list[str]:
        """Paths in display order."""
        return [self.item(i).data(PATH_ROLE) for i in range(self.count())]

    def item_for(self, path: str) -> QListWidgetItem | None:
        """The item showing `path`, if any."""
        for i in range(self.count()):
            if self.item(i).data(PATH_ROLE) == path:
                return self.item(i)
        return None

    def set_thumbnail(self, path: str, rgb: np.ndarray) -> None:
        """Give the item for `path` its picture."""
        item = self.item_for(path)
        if item is not None:
            item.setIcon(QIcon(QPixmap.fromImage(rgb_to_qimage(rgb))))


class PortraitPanel(QWidget):
    """Gallery (bundled + recent), Add portrait button, crop preview of the detected face, error line."""

    portrait_requested = Signal(str)  # a path the user picked
    thumbnail_needed = Signal(str)  # a path shown without a picture yet

    def __init__(self, bundled: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bundled = PortraitGallery()
        self.recent = PortraitGallery()
        self.add_button = QPushButton(texts.ADD_PORTRAIT)
        self.add_button.setToolTip(texts.ADD_PORTRAIT_TIP)
        self.crop = FacePicker()
        self.active_label = QLabel("")
        self.notice_label = QLabel("")
        self.notice_label.setWordWrap(True)
        self.notice_label.setStyleSheet("color: #b07020;")
        self.notice_label.hide()
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #e05050;")
        self.error_label.hide()

        self.recent_title = QLabel(f"<b>{texts.GALLERY_RECENT}</b>")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<b>{texts.GALLERY_BUNDLED}</b>"))
        layout.addWidget(self.bundled)
        layout.addWidget(self.recent_title)
        layout.addWidget(self.recent)
        layout.addWidget(self.add_button)
        layout.addWidget(self.crop, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.active_label)
        layout.addWidget(self.notice_label)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        self.setFixedWidth(PANEL_WIDTH)  # long notices wrap; the previews beside it keep their size
        self.recent_title.hide()
        self.recent.hide()

        self.bundled.set_paths(bundled)
        for gallery in (self.bundled, self.recent):
            gallery.itemClicked.connect(lambda item: self.portrait_requested.emit(item.data(PATH_ROLE)))
        self.add_button.clicked.connect(self._ask_for_file)

    def gallery_paths(self) -> list[str]:
        """Every path the gallery shows (bundled, then recent)."""
        return self.bundled.paths() + self.recent.paths()

    def set_recent(self, paths: list[str]) -> None:
        """Show these recently used portraits (bundled ones are not repeated)."""
        bundled = set(self.bundled.paths())
        shown = [p for p in paths if p not in bundled and Path(p).is_file()]
        self.recent_title.setVisible(bool(shown))
        self.recent.setVisible(bool(shown))
        if shown != self.recent.paths():
            self.recent.set_paths(shown)
            for path in shown:
                self.thumbnail_needed.emit(path)

    def set_thumbnail(self, path: str, rgb: np.ndarray) -> None:
        """Picture for the gallery item of `path`."""
        self.bundled.set_thumbnail(path, rgb)
        self.recent.set_thumbnail(path, rgb)

    def show_active(self, portrait, path: str, notice: str = "") -> None:
        """The portrait now animated (engine.animator.Portrait), where it came from and what loading changed."""
        self.crop.show_portrait(portrait)
        self.active_label.setText(texts.PORTRAIT_ACTIVE.format(name=Path(path).name if path else portrait.name))
        for gallery in (self.bundled, self.recent):
            item = gallery.item_for(path)
            gallery.setCurrentItem(item) if item is not None else gallery.clearSelection()
        self.notice_label.setText(notice)
        self.notice_label.setVisible(bool(notice))
        self.clear_error()

    def notice_text(self) -> str:
        """What loading changed about the active portrait, '' when nothing."""
        return self.notice_label.text() if self.notice_label.isVisibleTo(self) else ""

    def show_error(self, sentence: str) -> None:
        """One sentence in the panel saying why the last request failed."""
        self.error_label.setText(sentence)
        self.error_label.show()

    def clear_error(self) -> None:
        """Hide the error line."""
        self.error_label.clear()
        self.error_label.hide()

    def error_text(self) -> str:
        """The error sentence shown, '' when none."""
        return self.error_label.text() if self.error_label.isVisibleTo(self) else ""

    def _ask_for_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, texts.ADD_PORTRAIT, "", texts.PORTRAIT_FILE_FILTER)
        if path:
            self.portrait_requested.emit(path)
