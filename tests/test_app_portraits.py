"""Portrait panel: gallery clicks and drag-and-drop change the active portrait; bad files get one sentence
in the window and the previous portrait stays."""

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.testing import prepare_qt_environment

prepare_qt_environment()  # before pytest-qt creates the QApplication

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.main_window import MainWindow  # noqa: E402
from app.testing import temporary_settings  # noqa: E402
from engine.assets import DEFAULT_PORTRAIT, PORTRAITS_DIR  # noqa: E402


@pytest.fixture
def window(qtbot, tmp_path):
    win = MainWindow(temporary_settings(tmp_path))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: Path(win.active_portrait_path) == DEFAULT_PORTRAIT, timeout=20000)
    return win


def drop_files(widget, paths: list[Path]) -> None:
    """Deliver a real drag-enter + drop of local files to `widget`, as the window system would."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = widget.rect().center()
    enter = QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)


def test_gallery_click_changes_active_portrait(window, qtbot):
    gallery = window.portrait_panel.bundled
    obama = str(PORTRAITS_DIR / "obama.jpg")
    item = gallery.item_for(obama)
    qtbot.mouseClick(gallery.viewport(), Qt.MouseButton.LeftButton, pos=gallery.visualItemRect(item).center())
    qtbot.waitUntil(lambda: window.active_portrait_path == obama, timeout=10000)
    assert window.active_portrait.name == "obama"
    assert not window.portrait_panel.crop.pixmap().isNull()  # the detected face is previewed


def test_gallery_shows_bundled_portraits_with_thumbnails(window, qtbot):
    gallery = window.portrait_panel.bundled
    names = {Path(p).name for p in gallery.paths()}
    assert {"astronaut.png", "obama.jpg", "biden.jpg"} <= names
    qtbot.waitUntil(lambda: all(not gallery.item(i).icon().isNull() for i in range(gallery.count())),
                    timeout=5000)


def test_dropping_an_image_file_changes_active_portrait(window, qtbot, tmp_path):
    dropped = tmp_path / "dropped_face.jpg"
    shutil.copy(PORTRAITS_DIR / "biden.jpg", dropped)
    drop_files(window.centralWidget(), [dropped])
    qtbot.waitUntil(lambda: window.active_portrait_path == str(dropped), timeout=10000)
    assert str(dropped) in window.portrait_panel.recent.paths()  # and it joins the recent gallery


def test_file_that_is_not_an_image_shows_error_and_keeps_portrait(window, qtbot, tmp_path):
    bogus = tmp_path / "notes.png"
    bogus.write_text("shopping list, not a picture")
    before = window.active_portrait
    window.load_portrait_file(str(bogus))
    qtbot.waitUntil(lambda: window.portrait_panel.error_text() != "", timeout=10000)
    error = window.portrait_panel.error_text()
    assert "notes.png" in error and "previous portrait stays" in error
    assert "Traceback" not in error
    assert window.active_portrait is before and Path(window.active_portrait_path) == DEFAULT_PORTRAIT


def test_image_without_face_shows_error_and_keeps_portrait(window, qtbot, tmp_path):
    landscape = tmp_path / "sky.png"
    gradient = np.linspace(0, 255, 256, dtype=np.uint8)
    cv2.imwrite(str(landscape), np.dstack([np.tile(gradient, (256, 1))] * 3))
    window.load_portrait_file(str(landscape))
    qtbot.waitUntil(lambda: window.portrait_panel.error_text() != "", timeout=10000)
    assert "No face" in window.portrait_panel.error_text()
    assert Path(window.active_portrait_path) == DEFAULT_PORTRAIT


def test_good_portrait_after_error_clears_the_error(window, qtbot, tmp_path):
    bogus = tmp_path / "broken.jpg"
    bogus.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    window.load_portrait_file(str(bogus))
    qtbot.waitUntil(lambda: window.portrait_panel.error_text() != "", timeout=10000)
    window.load_portrait_file(str(PORTRAITS_DIR / "obama.jpg"))
    qtbot.waitUntil(lambda: window.active_portrait_path.endswith("obama.jpg"), timeout=10000)
    assert window.portrait_panel.error_text() == ""


def _obama_bgr() -> np.ndarray:
    return cv2.imread(str(PORTRAITS_DIR / "obama.jpg"))


@pytest.mark.parametrize(
    ("name", "make", "words"),
    [
        ("grey.png", lambda: cv2.cvtColor(_obama_bgr(), cv2.COLOR_BGR2GRAY), "grayscale"),
        ("cutout.png", lambda: np.dstack([_obama_bgr(), np.full(_obama_bgr().shape[:2], 128, np.uint8)]),
         "transparent"),
        ("poster.jpg", lambda: cv2.resize(_obama_bgr(), None, fx=4, fy=4), "scaled down"),
    ],
)
def test_unusual_photo_is_animated_with_a_sentence_saying_what_changed(window, qtbot, tmp_path, name, make, words):
    path = tmp_path / name
    cv2.imwrite(str(path), make())
    window.load_portrait_file(str(path))
    qtbot.waitUntil(lambda: window.active_portrait_path == str(path), timeout=10000)
    assert words in window.portrait_panel.notice_text() and name in window.portrait_panel.notice_text()
    assert window.portrait_panel.error_text() == ""
    assert window.active_portrait.image.ndim == 3 and window.active_portrait.image.shape[2] == 3


def test_photo_with_two_faces_animates_the_largest_and_says_so(window, qtbot, tmp_path):
    from tests.conftest import two_face_photo

    photo, (ox, oy, ow, oh), _ = two_face_photo()
    path = tmp_path / "two_faces.png"
    cv2.imwrite(str(path), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    window.load_portrait_file(str(path))
    qtbot.waitUntil(lambda: window.active_portrait_path == str(path), timeout=10000)
    notice = window.portrait_panel.notice_text()
    assert "two_faces.png shows 2 faces" in notice and "largest" in notice
    centre = window.active_portrait.landmarks[:, :2].mean(axis=0)
    assert ox < centre[0] < ox + ow and oy < centre[1] < oy + oh  # obama's face, the larger one
    assert window.portrait_panel.error_text() == ""


def test_clicking_the_other_face_in_the_crop_preview_animates_it(window, qtbot, tmp_path):
    from tests.conftest import two_face_photo

    photo, _, (bx, by, bw, bh) = two_face_photo()
    path = tmp_path / "two_faces.png"
    cv2.imwrite(str(path), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    window.load_portrait_file(str(path))
    qtbot.waitUntil(lambda: window.active_portrait_path == str(path), timeout=10000)
    picker = window.portrait_panel.crop
    qtbot.mouseClick(picker, Qt.MouseButton.LeftButton, pos=picker.face_centre(1).toPoint())
    centre = window.active_portrait.landmarks[:, :2].mean(axis=0)
    assert bx < centre[0] < bx + bw and by < centre[1] < by + bh  # biden's face now
    assert window.active_portrait.faces_found == 2 and window.active_portrait_path == str(path)
    shown = window.avatar_view.frames_shown
    qtbot.waitUntil(lambda: window.avatar_view.frames_shown > shown + 3, timeout=10000)  # and it animates
