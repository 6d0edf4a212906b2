"""Driving sources: the webcam list, the automatic fallback to the demo clip, and a webcam that fails."""

from pathlib import Path

import pytest

from app.testing import prepare_qt_environment

prepare_qt_environment()  # before pytest-qt creates the QApplication

from app import texts  # noqa: E402
from app.main_window import MainWindow, WindowOptions  # noqa: E402
from app.sources import SourceSpec, list_webcams  # noqa: E402
from app.testing import temporary_settings  # noqa: E402


def _video_node(sysfs: Path, number: int, name: str, index: int = 0) -> None:
    node = sysfs / f"video{number}"
    node.mkdir(parents=True)
    (node / "name").write_text(name + "\n")
    (node / "index").write_text(f"{index}\n")


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="Linux sysfs layout")
def test_webcam_list_names_capture_nodes_and_skips_metadata_and_our_own_camera(tmp_path, monkeypatch):
    monkeypatch.setattr("platform.system", lambda: "Linux")
    _video_node(tmp_path, 0, "Integrated Camera: Integrated C")
    _video_node(tmp_path, 1, "Integrated Camera: Integrated C", index=1)  # its metadata node
    _video_node(tmp_path, 2, "KnotCam")  # our v4l2loopback output
    _video_node(tmp_path, 10, "USB Webcam")
    cams = list_webcams(tmp_path)
    assert [(c.index, c.name) for c in cams] == [(0, "Integrated Camera: Integrated C"), (10, "USB Webcam")]


def open_window(qtbot, tmp_path, source: SourceSpec) -> MainWindow:
    window = MainWindow(temporary_settings(tmp_path), WindowOptions(source=source))
    qtbot.addWidget(window)
    window.show()
    return window


@pytest.mark.skipif(Path("/dev/video0").exists(), reason="a webcam is present: automatic mode would use it")
def test_automatic_source_without_webcam_plays_demo_clip(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path, SourceSpec("auto"))
    qtbot.waitUntil(lambda: texts.NO_WEBCAM_FALLBACK in window.statusBar().currentMessage(), timeout=20000)
    qtbot.waitUntil(lambda: window.avatar_view.frames_shown >= 3, timeout=20000)


@pytest.mark.skipif(Path("/dev/video7").exists(), reason="webcam 7 exists here")
def test_webcam_that_cannot_open_is_reported_in_one_sentence(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path, SourceSpec("webcam", webcam_index=7))
    qtbot.waitUntil(lambda: "Webcam 7" in window.statusBar().currentMessage(), timeout=20000)
    assert "Traceback" not in window.statusBar().currentMessage()
    window.set_source(SourceSpec("auto"))  # the session goes on: another source works
    qtbot.waitUntil(lambda: window.driving_view.frames_shown >= 3, timeout=20000)
