"""Driving source faults in the running app: a webcam that disappears mid-stream or cannot be opened, and a
corrupt driving file. The window says what is wrong, the avatar keeps idling, the webcam is reopened with
growing delays. The webcam is the one stand-in (this machine has none): it serves the real demo clip's frames
through the capture interface cv2.VideoCapture has; everything after it is the app's real path."""

import itertools
import threading
import time

import cv2
import pytest

from app.testing import prepare_qt_environment

prepare_qt_environment()  # before pytest-qt creates the QApplication

from app import texts  # noqa: E402
from app.capture import CaptureWorker, reconnect_delays  # noqa: E402
from app.main_window import MainWindow, WindowOptions  # noqa: E402
from app.queues import DropOldestQueue  # noqa: E402
from app.sources import SourceSpec  # noqa: E402
from app.testing import temporary_settings  # noqa: E402
from engine.video import VideoFileSource  # noqa: E402
from tests.conftest import DEMO_CLIP  # noqa: E402


class ClipWebcam:
    """cv2.VideoCapture's read/release over the demo clip at 30 fps; fails after `frames` reads."""

    def __init__(self, frames: int | None, failure: str = "no frame") -> None:
        self._source = VideoFileSource(DEMO_CLIP, loop=True)
        self._left = frames
        self._failure = failure
        self.released = False

    def read(self):
        time.sleep(1 / 30)  # a camera delivers at its frame rate
        if self._left is not None:
            if self._left <= 0:
                if self._failure == "raises":
                    raise cv2.error("select() timeout: device unplugged")
                return False, None
            self._left -= 1
        return True, cv2.cvtColor(self._source.read(), cv2.COLOR_RGB2BGR)

    def release(self) -> None:
        self.released = True
        self._source.close()


class Webcams:
    """Opens webcams by index as the app's capture worker asks; `plan` says, per attempt, what happens:
    None = cannot be opened, 'raises' = the driver throws, N = opens and delivers N frames then fails,
    'ok' = delivers for ever."""

    def __init__(self, plan, failure: str = "no frame") -> None:
        self._plan = iter(plan)
        self._failure = failure
        self.attempts = 0
        self.lock = threading.Lock()

    def __call__(self, index: int):
        with self.lock:
            self.attempts += 1
            step = next(self._plan, "ok")
        if step is None:
            return cv2.VideoCapture(), False, None
        if step == "raises":
            raise cv2.error("VIDIOC_REQBUFS: Device or resource busy")
        camera = ClipWebcam(None if step == "ok" else step, self._failure)
        ok, first = camera.read()
        return camera, ok, first


def open_window(qtbot, tmp_path, source: SourceSpec, webcams: Webcams | None = None) -> tuple[MainWindow, list]:
    window = MainWindow(temporary_settings(tmp_path), WindowOptions(source=source, open_webcam=webcams))
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    qtbot.addWidget(window)
    window.show()
    return window, messages


def test_reconnect_delays_double_from_half_a_second_up_to_eight():
    assert list(itertools.islice(reconnect_delays(), 7)) == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_webcam_lost_mid_stream_is_reported_the_avatar_idles_and_the_webcam_comes_back(qtbot, tmp_path):
    webcams = Webcams([40, None, None, None, "ok"])  # lost after 40 frames, three failed reopens, then back
    window, messages = open_window(qtbot, tmp_path, SourceSpec("webcam", webcam_index=0), webcams)
    lost = texts.WEBCAM_LOST.format(index=0)
    qtbot.waitUntil(lambda: lost in messages, timeout=20000)
    assert window.capture.isRunning()  # the capture thread stays to reconnect
    idle_before = window.generation.idle_frames
    qtbot.waitUntil(lambda: window.generation.idle_frames > idle_before + 5, timeout=10000)  # avatar idles
    reopened = texts.SOURCE_OPENED.format(description="webcam 0")
    qtbot.waitUntil(lambda: messages.count(reopened) == 2, timeout=20000)  # opened, then reopened
    assert webcams.attempts == 5
    assert [m for m in messages if "could not be opened" in m] == [  # one sentence per failed attempt
        texts.WEBCAM_UNAVAILABLE.format(index=0, seconds=s) for s in (0.5, 1.0, 2.0)]
    driving = window.driving_view.frames_shown
    qtbot.waitUntil(lambda: window.driving_view.frames_shown > driving + 5, timeout=10000)  # frames flow again
    assert not any("Traceback" in m for m in messages)


def test_webcam_that_cannot_be_opened_is_retried_while_the_avatar_idles(qtbot, tmp_path):
    webcams = Webcams(itertools.repeat(None))
    window, messages = open_window(qtbot, tmp_path, SourceSpec("webcam", webcam_index=0), webcams)
    qtbot.waitUntil(lambda: window.avatar_view.frames_shown >= 10, timeout=20000)  # an idle avatar, no face
    qtbot.waitUntil(lambda: webcams.attempts >= 3, timeout=20000)
    assert texts.WEBCAM_UNAVAILABLE.format(index=0, seconds=1.0) in messages
    assert window.driving_view.frames_shown == 0 and window.generation.idle_frames >= 10


def test_corrupt_driving_file_is_named_in_the_status_bar_and_the_avatar_idles(qtbot, tmp_path):
    corrupt = tmp_path / "holiday.mp4"
    corrupt.write_bytes(DEMO_CLIP.read_bytes()[: DEMO_CLIP.stat().st_size // 2])
    window, messages = open_window(qtbot, tmp_path, SourceSpec("file", path=str(corrupt)))
    qtbot.waitUntil(lambda: any("holiday.mp4 is not a video file that can be read" in m for m in messages),
                    timeout=20000)
    qtbot.waitUntil(lambda: window.generation.idle_frames >= 10, timeout=20000)
    window.set_source(SourceSpec("file", path=str(DEMO_CLIP)))  # the session goes on with another file
    qtbot.waitUntil(lambda: window.driving_view.frames_shown >= 3, timeout=20000)


@pytest.mark.parametrize("failure", ["no frame", "raises"])
def test_capture_worker_treats_a_failed_or_throwing_read_as_a_lost_webcam(qtbot, failure):
    webcams = Webcams([5, "ok"], failure)
    queue = DropOldestQueue(2)
    worker = CaptureWorker(SourceSpec("webcam", webcam_index=3), queue, open_webcam=webcams)
    failures, opened = [], []
    worker.failed.connect(failures.append)
    worker.source_opened.connect(lambda description, notice: opened.append(description))
    worker.start()
    try:
        qtbot.waitUntil(lambda: len(opened) == 2, timeout=10000)
        assert failures == [texts.WEBCAM_LOST.format(index=3)]
        assert queue.get(1.0) is not None  # frames arrive again after the reconnect
    finally:
        assert worker.stop()


def test_capture_worker_retries_a_webcam_whose_driver_throws_while_opening(qtbot):
    webcams = Webcams(["raises", "ok"])
    worker = CaptureWorker(SourceSpec("webcam", webcam_index=1), DropOldestQueue(2), open_webcam=webcams)
    failures, opened = [], []
    worker.failed.connect(failures.append)
    worker.source_opened.connect(lambda description, notice: opened.append(description))
    worker.start()
    try:
        qtbot.waitUntil(lambda: opened == ["webcam 1"], timeout=10000)
        assert failures == [texts.WEBCAM_UNAVAILABLE.format(index=1, seconds=0.5)]
    finally:
        assert worker.stop()
