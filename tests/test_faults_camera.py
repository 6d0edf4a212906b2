"""Virtual camera faults: no device, a device another program holds, a device that vanishes mid-stream.
The window shows per-OS guidance in a dialog and keeps animating. The device is the one stand-in: pyvirtualcam
backends registered for the test (pyvirtualcam.register_backend) that fail the way real ones do."""

import pytest

from app.testing import prepare_qt_environment

prepare_qt_environment()  # before pytest-qt creates the QApplication

from PySide6.QtCore import Qt  # noqa: E402

from app import texts  # noqa: E402
from app.main_window import MainWindow, WindowOptions  # noqa: E402
from app.sinks import VirtualCameraSink, device_busy  # noqa: E402
from app.testing import make_recording_backend, registered_camera_backend, temporary_settings  # noqa: E402
from engine.errors import VirtualCameraUnavailableError  # noqa: E402

BUSY_LINUX = "Device /dev/video2 could not be opened: Device or resource busy"  # pyvirtualcam v4l2loopback


def refusing_backend(message: str) -> type:
    """A pyvirtualcam backend whose device exists but cannot be opened, with the backend's own words."""

    class Refusing(make_recording_backend()):
        def __init__(self, **kw) -> None:
            raise RuntimeError(message)

    return Refusing


def vanishing_backend(frames: int) -> type:
    """A pyvirtualcam backend whose device disappears after `frames` frames (unplugged, module unloaded)."""

    class Vanishing(make_recording_backend()):
        def send(self, frame) -> None:
            if len(self.frames) >= frames:
                raise RuntimeError("write to /dev/video2 failed: No such device")
            super().send(frame)

    return Vanishing


@pytest.mark.parametrize("message", [BUSY_LINUX, "virtual camera output could not be started",
                                     "OBS Virtual Camera is already in use"])
def test_a_device_held_by_another_program_is_told_apart_from_a_missing_one(message):
    with registered_camera_backend("knotcam_busy", refusing_backend(message)) as name:
        with pytest.raises(VirtualCameraUnavailableError) as info:
            VirtualCameraSink(640, 480, 30, backend=name)
    assert device_busy(info.value.__cause__)
    assert str(info.value) == texts.virtual_camera_busy_guidance()


def test_missing_device_is_not_mistaken_for_a_busy_one():
    missing = RuntimeError("'v4l2loopback' backend: No v4l2 loopback device found at /dev/video[0-99]. "
                           "Did you run 'modprobe v4l2loopback'?")
    assert not device_busy(missing)


@pytest.mark.parametrize(("system", "words"), [("Linux", "devices=2"), ("Windows", "Stop Virtual Camera in OBS"),
                                               ("Darwin", "quit OBS")])
def test_busy_guidance_says_what_to_do_on_each_os(system, words):
    guidance = texts.virtual_camera_busy_guidance(system)
    assert guidance.startswith(texts.VIRTUAL_CAMERA_BUSY) and words in guidance


def open_window(qtbot, tmp_path, backend_name: str) -> MainWindow:
    window = MainWindow(temporary_settings(tmp_path, output_size=(640, 480), output_fps=30),
                        WindowOptions(camera_backend=backend_name))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.avatar_view.frames_shown >= 1, timeout=20000)
    return window


def assert_still_animating(qtbot, window: MainWindow) -> None:
    shown = window.avatar_view.frames_shown
    qtbot.waitUntil(lambda: window.avatar_view.frames_shown > shown + 3, timeout=10000)
    assert all(t.isRunning() for t in window.workers())


def test_busy_device_shows_busy_guidance_and_the_app_keeps_running(qtbot, tmp_path):
    with registered_camera_backend("knotcam_busy", refusing_backend(BUSY_LINUX)) as name:
        window = open_window(qtbot, tmp_path, name)
        qtbot.mouseClick(window.output_panel.camera, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.camera_dialog is not None and window.camera_dialog.isVisible(), timeout=10000)
    assert window.camera_dialog.text() == texts.virtual_camera_busy_guidance()
    assert "Device or resource busy" in window.camera_dialog.detailedText()
    assert not window.output_panel.camera.isChecked() and window.camera_label.text() == texts.CAMERA_OFF
    assert_still_animating(qtbot, window)
    window.camera_dialog.accept()


def test_device_vanishing_mid_stream_is_reported_and_the_app_keeps_running(qtbot, tmp_path):
    backend = vanishing_backend(5)
    with registered_camera_backend("knotcam_vanishing", backend) as name:
        window = open_window(qtbot, tmp_path, name)
        window.start_virtual_camera()
        qtbot.waitUntil(lambda: window.camera_dialog is not None and window.camera_dialog.isVisible(), timeout=10000)
    assert "The virtual camera stopped" in window.camera_dialog.text()
    assert "No such device" in window.camera_dialog.text() and "Traceback" not in window.camera_dialog.text()
    (camera,) = backend.instances
    assert len(camera.frames) == 5 and camera.closed
    assert not window.output_panel.camera.isChecked()
    assert_still_animating(qtbot, window)
    window.camera_dialog.accept()


def test_window_can_start_the_camera_again_once_the_device_is_free(qtbot, tmp_path):
    with registered_camera_backend("knotcam_busy", refusing_backend(BUSY_LINUX)) as name:
        window = open_window(qtbot, tmp_path, name)
        window.start_virtual_camera()
        qtbot.waitUntil(lambda: window.camera_dialog is not None, timeout=10000)
        window.camera_dialog.accept()
    backend = make_recording_backend("KnotCam test camera")
    with registered_camera_backend("knotcam_busy", backend):  # the other program let go of the device
        window.start_virtual_camera()
        qtbot.waitUntil(lambda: bool(backend.instances) and len(backend.instances[0].frames) >= 3, timeout=10000)
    assert window.output_panel.camera.isChecked() and window.camera_label.text() != texts.CAMERA_OFF
