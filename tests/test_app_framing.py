"""Output framing in the window: the virtual camera gets the portrait's head and shoulders at its own aspect
(no bars), a crop that stays still on a still driving face, and the full photo one click away. The camera
device is the one stand-in (pyvirtualcam test backend); the still face is the real clip's first frame."""

import cv2
import numpy as np
import pytest

from app.testing import prepare_qt_environment

prepare_qt_environment()  # before pytest-qt creates the QApplication

from PySide6.QtCore import QPoint, Qt  # noqa: E402

from app.main_window import MainWindow, WindowOptions  # noqa: E402
from app.sources import SourceSpec  # noqa: E402
from app.testing import make_recording_backend, registered_camera_backend, temporary_settings  # noqa: E402


@pytest.fixture
def still_face_clip(tmp_path, demo_frames):
    """Three seconds of the demo clip's first frame: a driving face that holds still."""
    path = tmp_path / "still.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (176, 144))
    for _ in range(90):
        writer.write(cv2.cvtColor(demo_frames[0], cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_camera_gets_a_steady_head_and_shoulders_crop_and_the_full_photo_is_one_click_away(
        qtbot, tmp_path, still_face_clip):
    backend = make_recording_backend()
    with registered_camera_backend("knotcam_framing", backend) as name:
        options = WindowOptions(camera_backend=name, source=SourceSpec("file", path=str(still_face_clip)))
        window = MainWindow(temporary_settings(tmp_path, output_size=(1280, 720)), options)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.avatar_view.frames_shown >= 3 and window.avatar_view.caption() == "",
                        timeout=30000)
        window.start_virtual_camera()
        qtbot.waitUntil(lambda: bool(backend.instances) and len(backend.instances[0].frames) >= 5, timeout=10000)
        samples = []  # (frames generated, crop box)
        for _ in range(60):
            qtbot.wait(50)
            if window.generation.framing_box is not None:
                samples.append((window.generation.frames_generated, window.generation.framing_box.as_array()))
        assert len(samples) >= 40
        moves = [np.abs(b1 - b0).max() / max(1, f1 - f0) for (f0, b0), (f1, b1) in zip(samples[:-1], samples[1:],
                                                                                          strict=True)]
        assert max(moves) < 1.0  # pixels per frame
        box = samples[-1][1]
        h, w = window.active_portrait.image.shape[:2]
        assert box[3] < 0.75 * h and abs(box[2] / box[3] - 16 / 9) < 0.01
        sent = backend.instances[0].frames[-1]
        assert sent.shape == (720, 1280, 3) and sent[:, :40].max() > 0 and sent[:, -40:].max() > 0  # no bars
        assert window.avatar_view.box() is not None  # the preview outlines what the camera gets

        toggle = window.output_panel.full_photo
        qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton, pos=QPoint(8, toggle.height() // 2))  # one click
        sent_before = len(backend.instances[0].frames)
        qtbot.waitUntil(lambda: len(backend.instances[0].frames) > sent_before + 5, timeout=10000)
        full = backend.instances[0].frames[-1]
        assert full[:, :40].max() == 0 and full[:, -40:].max() == 0  # the square photo, letterboxed
        assert window.generation.framing_box is None and window.prefs.full_photo
        qtbot.waitUntil(lambda: window.avatar_view.box() is None, timeout=5000)
        window.close()
