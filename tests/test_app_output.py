"""Output from the window: virtual camera toggle (pyvirtualcam test backend at the device boundary), the
no-device dialog with per-OS guidance, and recording to a playable MP4."""

import platform

import cv2
import pytest

from app.testing import prepare_qt_environment

prepare_qt_environment()  # before pytest-qt creates the QApplication

from PySide6.QtCore import Qt  # noqa: E402

from app import texts  # noqa: E402
from app.main_window import MainWindow, WindowOptions  # noqa: E402
from app.testing import make_recording_backend, registered_camera_backend, temporary_settings  # noqa: E402


def open_window(qtbot, tmp_path, options=None, **prefs) -> MainWindow:
    win = MainWindow(temporary_settings(tmp_path, **prefs), options)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.avatar_view.frames_shown >= 1, timeout=20000)
    return win


@pytest.fixture
def camera_backend():
    backend = make_recording_backend("KnotCam test camera")
    with registered_camera_backend("knotcam_test", backend) as name:
        yield name, backend


def test_camera_toggle_sends_letterboxed_avatar_and_shows_device(qtbot, tmp_path, camera_backend):
    name, backend = camera_backend
    window = open_window(qtbot, tmp_path, WindowOptions(camera_backend=name), output_size=(640, 480), output_fps=30,
                         full_photo=True)
    qtbot.mouseClick(window.output_panel.camera, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(backend.instances) and len(backend.instances[0].frames) >= 3, timeout=10000)
    camera = backend.instances[0]
    assert (camera.width, camera.height, camera.fps) == (640, 480, 30)
    frame = camera.frames[-1]
    assert frame.shape == (480, 640, 3)
    assert frame[:, :40].max() == 0 and frame[:, -40:].max() == 0  # square portrait: bars left and right
    assert "KnotCam test camera" in window.camera_label.text()
    assert window.output_panel.camera.text() == texts.STOP_CAMERA
    qtbot.mouseClick(window.output_panel.camera, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: camera.closed, timeout=5000)
    assert window.camera_label.text() == texts.CAMERA_OFF


def test_camera_frames_match_the_avatar_letterboxed(qtbot, tmp_path, camera_backend):
    name, backend = camera_backend
    window = open_window(qtbot, tmp_path, WindowOptions(camera_backend=name), output_size=(1280, 720), full_photo=True)
    window.start_virtual_camera()
    qtbot.waitUntil(lambda: bool(backend.instances) and len(backend.instances[0].frames) >= 1, timeout=10000)
    sent = backend.instances[0].frames[0]
    assert sent.shape == (720, 1280, 3)
    # The picture sits centred: the avatar's own aspect (portrait image size) fills the height.
    h, w = window.active_portrait.image.shape[:2]
    inner_w = round(w * 720 / h)
    x0 = (1280 - inner_w) // 2
    assert sent[:, : x0 - 1].max() == 0 and sent[:, x0 + 1 : x0 + inner_w - 1].max() > 0


def test_camera_shortcut_toggles_virtual_camera(qtbot, tmp_path, camera_backend):
    name, backend = camera_backend
    window = open_window(qtbot, tmp_path, WindowOptions(camera_backend=name))
    assert window.camera_action.shortcut().toString() == "Ctrl+Shift+V"
    window.camera_action.trigger()
    qtbot.waitUntil(lambda: bool(backend.instances), timeout=10000)
    assert window.output_panel.camera.isChecked()


@pytest.mark.skipif(platform.system() != "Linux", reason="the v4l2loopback backend exists on Linux only")
def test_missing_virtual_camera_shows_guidance_dialog_not_traceback(qtbot, tmp_path):
    options = WindowOptions(camera_backend="v4l2loopback", camera_device="/dev/video-knotcam-missing")
    window = open_window(qtbot, tmp_path, options)
    qtbot.mouseClick(window.output_panel.camera, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.camera_dialog is not None and window.camera_dialog.isVisible(), timeout=10000)
    dialog = window.camera_dialog
    assert texts.LINUX_MODPROBE_LINE in dialog.text()
    assert "Traceback" not in dialog.text()
    assert "does not exist" in dialog.detailedText()  # pyvirtualcam's own words, for the curious
    assert not window.output_panel.camera.isChecked()
    shown = window.avatar_view.frames_shown
    qtbot.waitUntil(lambda: window.avatar_view.frames_shown > shown + 3, timeout=5000)  # the preview runs on
    dialog.accept()


def test_recording_writes_playable_mp4_at_output_size(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path, output_size=(640, 480), output_fps=30)
    path = tmp_path / "call.mp4"
    window.start_recording(str(path))
    assert window.output_panel.record.isChecked()
    shown = window.avatar_view.frames_shown
    qtbot.waitUntil(lambda: window.avatar_view.frames_shown >= shown + 15, timeout=10000)
    assert not path.exists()  # written to a temporary file until the recording stops
    window.stop_recording()
    qtbot.waitUntil(path.exists, timeout=5000)
    capture = cv2.VideoCapture(str(path))
    frames = 0
    while (read := capture.read())[0]:
        frames += 1
        assert read[1].shape == (480, 640, 3)
    capture.release()
    assert frames >= 10
    qtbot.waitUntil(lambda: not window.output_panel.record.isChecked(), timeout=5000)


def test_recording_onto_a_full_disk_says_one_sentence_and_leaves_no_file(qtbot, tmp_path, small_filesystem):
    window = open_window(qtbot, tmp_path, output_size=(320, 240), output_fps=30)
    with qtbot.waitSignal(window.output.recording_failed, timeout=10000) as failed:
        window.start_recording(str(small_filesystem / "call.webm"))
    sentence = failed.args[0]
    assert "is full" in sentence and "Errno" not in sentence and "\n" not in sentence
    qtbot.waitUntil(lambda: not window.output_panel.record.isChecked(), timeout=5000)
    assert window.statusBar().currentMessage() == sentence
    assert list(small_filesystem.iterdir()) == []


def test_recording_into_a_missing_folder_says_so_without_errno(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path, output_size=(320, 240), output_fps=30)
    with qtbot.waitSignal(window.output.recording_failed, timeout=10000) as failed:
        window.start_recording(str(tmp_path / "gone" / "call.webm"))
    assert "does not exist" in failed.args[0] and "Errno" not in failed.args[0]
    assert not (tmp_path / "gone").exists()
