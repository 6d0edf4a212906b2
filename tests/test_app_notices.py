"""Errors and state that stay visible: a banner over the previews for a source or portrait problem, staying
until it is resolved and offering the fix; the fps readout at 0 while nothing arrives; the demo-clip fallback
announced in the preview for several seconds; previews that keep their size when notices appear. The webcam
is the one stand-in (tests/test_faults_source.py's clip webcam)."""

import itertools
from pathlib import Path

from app.testing import prepare_qt_environment

prepare_qt_environment()  # before pytest-qt creates the QApplication

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app import texts  # noqa: E402
from app.main_window import MainWindow, WindowOptions  # noqa: E402
from app.sources import SourceSpec  # noqa: E402
from app.testing import temporary_settings  # noqa: E402
from engine.assets import DEFAULT_PORTRAIT, DEMO_CLIP, PORTRAITS_DIR  # noqa: E402
from tests.test_faults_source import Webcams  # noqa: E402

ZERO_FPS = texts.GENERATION_FPS.format(fps=0)


def open_window(qtbot, tmp_path, source: SourceSpec | None = None, webcams=None, **prefs) -> MainWindow:
    window = MainWindow(temporary_settings(tmp_path, **prefs), WindowOptions(source=source, open_webcam=webcams))
    qtbot.addWidget(window)
    window.show()
    return window


def test_missing_video_banner_stays_with_its_fixes_until_the_source_works_again(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path, SourceSpec("file", path=str(tmp_path / "gone.mp4")))
    qtbot.waitUntil(lambda: "gone.mp4 does not exist" in window.banner.text(), timeout=20000)
    assert window.banner.isVisible() and window.banner.button_texts() == [texts.RETRY, texts.CHOOSE_SOURCE]
    qtbot.waitUntil(lambda: window.generation.idle_frames >= 30, timeout=20000)  # the avatar idles meanwhile
    qtbot.wait(2500)  # longer than any status-bar message lived before
    assert "gone.mp4 does not exist" in window.banner.text() and window.banner.isVisible()
    assert window.fps_label.text() == ZERO_FPS  # nothing arrives: no made-up rate
    assert window.driving_view.current_image() is None  # "waiting", not a frozen frame
    window.set_source(SourceSpec("file", path=str(DEMO_CLIP)))
    qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=20000)
    qtbot.waitUntil(lambda: window.fps_label.text() != ZERO_FPS, timeout=20000)


def test_unavailable_webcam_banner_stays_while_retrying_and_goes_when_it_delivers(qtbot, tmp_path):
    webcams = Webcams([None, None, None, "ok"])
    window = open_window(qtbot, tmp_path, SourceSpec("webcam", webcam_index=0), webcams)
    qtbot.waitUntil(lambda: "Webcam 0 could not be opened" in window.banner.text(), timeout=20000)
    qtbot.waitUntil(lambda: webcams.attempts >= 3, timeout=20000)
    assert window.banner.isVisible() and window.driving_view.frames_shown == 0
    qtbot.waitUntil(lambda: window.driving_view.frames_shown >= 3, timeout=20000)
    assert not window.banner.isVisible() and window.banner.kinds() == []


def test_retry_button_reopens_the_source(qtbot, tmp_path):
    missing = tmp_path / "later.mp4"
    window = open_window(qtbot, tmp_path, SourceSpec("file", path=str(missing)))
    qtbot.waitUntil(lambda: "later.mp4 does not exist" in window.banner.text(), timeout=20000)
    missing.write_bytes(DEMO_CLIP.read_bytes())  # the file turns up (a drive mounted, a download finished)
    qtbot.mouseClick(window.banner.buttons[0], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.driving_view.frames_shown >= 3, timeout=20000)
    assert not window.banner.isVisible()


def test_demo_clip_fallback_is_announced_in_the_preview_for_several_seconds(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path, SourceSpec("auto"), Webcams(itertools.repeat(None)))
    qtbot.waitUntil(lambda: window.banner.text() == texts.NO_WEBCAM_FALLBACK, timeout=20000)
    assert window.banner.isVisible() and window.previews.isAncestorOf(window.banner)
    qtbot.wait(4000)
    assert window.banner.text() == texts.NO_WEBCAM_FALLBACK and window.banner.isVisible()
    assert window.driving_view.frames_shown >= 3  # and the demo clip drives meanwhile


def test_missing_saved_portrait_is_said_in_the_banner_until_another_is_chosen(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path, portrait=str(tmp_path / "holiday_me.jpg"))
    qtbot.waitUntil(lambda: Path(window.active_portrait_path) == DEFAULT_PORTRAIT, timeout=20000)
    assert "holiday_me.jpg no longer exists" in window.banner.text() and window.banner.isVisible()
    assert texts.CHOOSE_PORTRAIT in window.banner.button_texts()
    window.load_portrait_file(str(PORTRAITS_DIR / "obama.jpg"))
    qtbot.waitUntil(lambda: window.active_portrait_path.endswith("obama.jpg"), timeout=20000)
    assert not window.banner.isVisible()


def test_previews_keep_their_size_when_long_notices_appear(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: window.avatar_view.frames_shown >= 3, timeout=20000)
    QApplication.processEvents()
    before = (window.driving_view.geometry(), window.avatar_view.geometry())
    long = "A long notice that goes on and on about what changed and why, " * 4
    window.portrait_panel.show_active(window.active_portrait, window.active_portrait_path, long)
    window.engine_panel.show_active("Warp (baseline)", long)
    window.banner.show_problem("source", long, [(texts.RETRY, lambda: None), (texts.CHOOSE_SOURCE, lambda: None)])
    window.statusBar().showMessage(long)
    for _ in range(5):
        QApplication.processEvents()
    assert (window.driving_view.geometry(), window.avatar_view.geometry()) == before
    assert window.avatar_view.width() >= 300
    assert window.banner.geometry().bottom() < window.previews.height()  # over the previews, inside them
