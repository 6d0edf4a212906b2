"""Stopping in the middle: the window closed while Knot Forcing generates (and while recording), Ctrl+C on
`render --animator knot`. Every thread ends within the window's 2 s stop budget, and output files are either
complete and playable or absent, never half-written."""

import signal
import subprocess
import sys
import time

import pytest

from app.testing import prepare_qt_environment

prepare_qt_environment()  # before pytest-qt creates the QApplication

from app import texts  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from app.testing import temporary_settings  # noqa: E402
from engine.assets import default_weights_path  # noqa: E402
from main import main  # noqa: E402
from tests.conftest import REPO, decoded  # noqa: E402

needs_tiny = pytest.mark.skipif(not default_weights_path("tiny").is_file(), reason="tiny weights not installed")


@needs_tiny
def test_closing_the_window_while_knot_forcing_generates_stops_every_thread(qtbot, tmp_path):
    window = MainWindow(temporary_settings(tmp_path, animator="knot"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.engine_panel.active.text().startswith(
        texts.ANIMATOR_ACTIVE.format(name=texts.ANIMATOR_KNOT)), timeout=20000)
    qtbot.waitUntil(lambda: window.avatar_view.frames_shown >= 6, timeout=20000)  # chunks are being generated
    threads = window.workers()
    window.close()  # waits at most STOP_TIMEOUT_S (2 s) for all of them together
    assert not any(t.isRunning() for t in threads)


def test_closing_the_window_while_recording_leaves_a_complete_playable_file(qtbot, tmp_path):
    window = MainWindow(temporary_settings(tmp_path, output_size=(320, 240), output_fps=30))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.avatar_view.frames_shown >= 1, timeout=20000)
    path = tmp_path / "meeting.mp4"
    with qtbot.waitSignal(window.output.recording_started, timeout=10000):  # the writer is open
        window.start_recording(str(path))
    shown = window.avatar_view.frames_shown
    qtbot.waitUntil(lambda: window.avatar_view.frames_shown >= shown + 10, timeout=10000)
    window.close()
    assert path.is_file() and decoded(path)[0] >= 5  # the index was written: the file is whole
    assert not list(tmp_path.glob("*.part.mp4"))


@needs_tiny
def test_knot_render_runs_to_a_complete_file_with_every_frame(tmp_path, capsys):
    out = tmp_path / "knot.mp4"
    assert main(["render", "--animator", "knot", "--frames", "10", "--out", str(out)]) == 0
    assert decoded(out)[0] == 10  # the held-back knot frame is flushed at the end
    assert list(tmp_path.iterdir()) == [out]


@needs_tiny
def test_ctrl_c_during_a_knot_render_stops_it_and_leaves_no_file(tmp_path):
    out = tmp_path / "interrupted.mp4"
    proc = subprocess.Popen([sys.executable, "main.py", "render", "--animator", "knot", "--frames", "100000",
                             "--out", str(out)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("*.part.mp4")) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)  # wait until frames are being written
        assert list(tmp_path.glob("*.part.mp4")), "render never started writing"
        time.sleep(0.5)  # into the chunk loop
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "interrupted" in stderr and "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []
