"""Driving survives a source change in the window: switching to a video of another size shows the
"hold still - calibrating" caption on the avatar, captures a new neutral, and then drives the portrait as
closely as the fresh start did. Real window, real mediapipe, the real clip resized with cv2."""

import cv2
import numpy as np
import pytest

from app.testing import prepare_qt_environment

prepare_qt_environment()  # before pytest-qt creates the QApplication

from app import texts  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from app.sources import SourceSpec  # noqa: E402
from app.testing import temporary_settings  # noqa: E402
from engine.video import VideoFileSource  # noqa: E402
from tests.conftest import DEMO_CLIP  # noqa: E402


@pytest.fixture
def doubled_clip(tmp_path):
    """The demo clip at twice its size (352x288), as another camera or file would deliver it."""
    path = tmp_path / "carphone_352x288.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (352, 288))
    with VideoFileSource(DEMO_CLIP) as source:
        for rgb in source:
            writer.write(cv2.cvtColor(cv2.resize(rgb, (352, 288)), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def driving_error(window, qtbot, seconds: float = 4.0) -> float:
    """Mean distance of the avatar's landmarks from the portrait's own, in face sizes, over `seconds` (one
    loop of the clip, so that where in the clip the sampling starts hardly matters)."""
    neutral = window.active_portrait.landmarks[:, :2]
    size = float(np.linalg.norm(neutral.max(axis=0) - neutral.min(axis=0)))
    samples = []
    for _ in range(int(seconds * 20)):
        qtbot.wait(50)
        motion = window.generation.last_motion
        if motion is not None and motion.face_visible:
            samples.append(np.linalg.norm(motion.landmarks - neutral, axis=1).mean() / size)
    assert len(samples) >= 10
    return float(np.mean(samples))


def test_source_switch_to_another_size_calibrates_then_drives_as_a_fresh_start(qtbot, tmp_path, doubled_clip):
    window = MainWindow(temporary_settings(tmp_path))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.avatar_view.caption() == texts.CALIBRATING, timeout=20000)  # fresh start
    qtbot.waitUntil(lambda: window.avatar_view.caption() == "", timeout=20000)
    fresh = driving_error(window, qtbot)

    shown: list[str] = []  # every status message from the switch on (a later one may replace it on screen)
    window.statusBar().messageChanged.connect(shown.append)
    window.set_source(SourceSpec("file", path=str(doubled_clip)))
    qtbot.waitUntil(lambda: window.avatar_view.caption() == texts.CALIBRATING, timeout=10000)
    qtbot.waitUntil(lambda: window.driving_view.current_image() is not None
                    and window.driving_view.current_image().width() == 352, timeout=10000)
    # (that the avatar idles while the neutral is captured is measured frame by frame in test_neutral_capture)
    qtbot.waitUntil(lambda: window.avatar_view.caption() == "", timeout=20000)
    assert texts.CALIBRATED in shown
    after = driving_error(window, qtbot)
    # a stale pixel neutral gave ~1.2 face sizes here; the neutral frame picked may differ, hence the margin
    assert after < 1.5 * fresh + 0.05, (after, fresh)
