"""The window on the real engine with the demo clip as driving source: frames flow, threads stop on close,
Qt starts after cv2, and the view and source controls do what they say."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.testing import prepare_qt_environment

prepare_qt_environment()  # before pytest-qt creates the QApplication

from PySide6.QtCore import Qt  # noqa: E402

from app import texts  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from app.queues import DropOldestQueue  # noqa: E402
from app.sources import SourceSpec  # noqa: E402
from app.testing import temporary_settings  # noqa: E402
from app.workers import CaptureWorker  # noqa: E402
from engine.assets import DEFAULT_PORTRAIT, DEMO_CLIP  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
FRAMES = 10


@pytest.fixture
def window(qtbot, tmp_path):
    win = MainWindow(temporary_settings(tmp_path))
    qtbot.addWidget(win)  # closed (threads stopped) at teardown
    win.show()
    return win


def test_window_opens_on_default_portrait_and_shows_demo_clip_frames(window, qtbot):
    qtbot.waitUntil(lambda: window.avatar_view.frames_shown >= FRAMES, timeout=20000)
    assert Path(window.active_portrait_path) == DEFAULT_PORTRAIT
    assert window.driving_view.frames_shown >= FRAMES
    driving = window.driving_view.current_image()
    assert (driving.width(), driving.height()) == (176, 144)  # the carphone clip
    avatar = window.avatar_view.current_image()
    h, w = window.active_portrait.image.shape[:2]
    assert (avatar.width(), avatar.height()) == (w, h)


def test_closing_mid_stream_leaves_no_running_thread(window, qtbot):
    qtbot.waitUntil(lambda: window.avatar_view.frames_shown >= 3, timeout=20000)
    threads = window.workers()
    assert len(threads) == 4 and all(t.isRunning() for t in threads)
    window.close()
    assert not any(t.isRunning() for t in threads)


def test_gui_starts_after_cv2_import(tmp_path):
    script = (
        "import os, cv2\n"
        "set_by_cv2 = os.environ.get('QT_QPA_PLATFORM_PLUGIN_PATH', '')\n"
        "from app.main import create_application\n"
        "from PySide6.QtWidgets import QLabel\n"
        "app = create_application([])\n"
        "label = QLabel('KnotCam'); label.show(); app.processEvents()\n"
        "print('cv2-set:', 'cv2' in set_by_cv2)\n"
        "print('left:', os.environ.get('QT_QPA_PLATFORM_PLUGIN_PATH', ''), os.environ.get('QT_QPA_FONTDIR', ''))\n"
        "print('platform:', app.platformName())\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    env.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)
    env.pop("QT_QPA_FONTDIR", None)
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "cv2-set: True" in done.stdout  # cv2 did set its paths, so there was something to undo
    assert "left:  \n" in done.stdout
    assert "platform: offscreen" in done.stdout


def test_mirror_flips_driving_frames_left_right(qtbot, demo_frames):
    queue = DropOldestQueue(200)
    worker = CaptureWorker(SourceSpec("file", path=str(DEMO_CLIP)), queue, mirror=True)
    worker.start()
    try:
        qtbot.waitUntil(lambda: len(queue) >= 1, timeout=10000)
    finally:
        worker.stop()
    first, _ = queue.get(0)
    assert np.array_equal(first, demo_frames[0][:, ::-1])


def test_avatar_only_view_hides_driving_preview(window, qtbot):
    window.view_panel.avatar_only.setChecked(True)
    assert not window.driving_view.isVisible() and window.avatar_view.isVisible()
    window.view_panel.avatar_only.setChecked(False)
    assert window.driving_view.isVisible()


def test_landmark_overlay_draws_tracked_face_on_driving_preview(window, qtbot):
    window.view_panel.overlay.setChecked(True)
    qtbot.waitUntil(lambda: window.driving_view.landmarks() is not None, timeout=20000)
    assert window.driving_view.show_landmarks
    assert window.driving_view.landmarks().shape == (478, 2)
    # The dots land on the face, inside the 176x144 clip.
    assert 0 <= window.driving_view.landmarks()[:, 0].mean() <= 176


def test_calibrate_shortcut_resets_neutral_face(window, qtbot):
    qtbot.waitUntil(lambda: window.avatar_view.frames_shown >= 1, timeout=20000)
    assert window.calibrate_action.shortcut().toString() == "Ctrl+Shift+C"
    window.calibrate_action.trigger()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == texts.CALIBRATED, timeout=5000)


def test_status_bar_shows_generation_fps_and_latency(window, qtbot):
    qtbot.waitUntil(lambda: window.fps_label.text() != texts.GENERATION_FPS.format(fps=0), timeout=20000)
    qtbot.waitUntil(lambda: window.latency_label.text() != texts.LATENCY.format(ms=0), timeout=5000)


def test_switching_source_restarts_capture_on_new_source(window, qtbot):
    qtbot.waitUntil(lambda: window.driving_view.frames_shown >= 3, timeout=20000)
    first = window.capture
    window.set_source(SourceSpec("file", path=str(DEMO_CLIP)))
    qtbot.waitUntil(lambda: window.capture is not None and window.capture is not first, timeout=5000)
    assert first.isFinished()
    shown = window.driving_view.frames_shown
    qtbot.waitUntil(lambda: window.driving_view.frames_shown > shown + 3, timeout=5000)


def test_about_box_lists_versions_and_asset_licences(window, qtbot):
    window.show_about()
    box = window.about_dialog
    qtbot.waitUntil(box.isVisible, timeout=2000)
    assert "PySide6" in box.text() and "MediaPipe" in box.text()
    assert texts.ABOUT_ASSETS in box.text()
    box.accept()
    assert Qt.TextFormat.MarkdownText == box.textFormat()
