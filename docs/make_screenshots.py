"""Take docs/screenshots/*.png: the real window in the states issue 17 made visible (a source problem banner,
the calibrating caption, a photo with two faces, a recording under way, the head-and-shoulders framing).

Run from the repo root under a virtual screen (xvfb-run -s "-screen 0 1280x800x24" .venv/bin/python
docs/make_screenshots.py) or, where no X server exists, with QT_QPA_PLATFORM=offscreen.
"""
import sys
import tempfile
import time
from pathlib import Path

import cv2

sys.path.insert(0, ".")
from app.main import create_application  # noqa: E402

app = create_application([])
from PySide6.QtCore import QTimer  # noqa: E402

from app import texts  # noqa: E402
from app.main_window import MainWindow, WindowOptions  # noqa: E402
from app.sources import SourceSpec  # noqa: E402
from app.testing import temporary_settings  # noqa: E402
from tests.conftest import two_face_photo  # noqa: E402

OUT = Path("docs/screenshots")
OUT.mkdir(exist_ok=True)
WORK = Path(tempfile.mkdtemp())


def window_for(folder: str, source: SourceSpec | None = None, **prefs) -> MainWindow:
    (WORK / folder).mkdir()
    window = MainWindow(temporary_settings(WORK / folder, animator="warp", **prefs), WindowOptions(source=source))
    window.resize(1280, 720)
    window.show()
    return window


def source_problem() -> tuple[MainWindow, object]:
    w = window_for("banner", SourceSpec("file", path=str(WORK / "holiday.mp4")))
    return w, lambda: w.banner.isVisible() and w.avatar_view.frames_shown > 10


def calibrating() -> tuple[MainWindow, object]:
    w = window_for("calibrating", overlay=True)
    return w, lambda: w.avatar_view.caption() == texts.CALIBRATING and w.driving_view.frames_shown > 20


def two_faces() -> tuple[MainWindow, object]:
    photo, _, _ = two_face_photo()
    path = WORK / "two_faces.png"
    cv2.imwrite(str(path), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    w = window_for("faces")
    w.load_portrait_file(str(path))
    return w, lambda: w.active_portrait_path == str(path) and w.avatar_view.frames_shown > 40


def recording_framed() -> tuple[MainWindow, object]:
    w = window_for("recording", portrait=str(Path("assets/portraits/obama.jpg").resolve()))
    QTimer.singleShot(1500, lambda: w.start_recording(str(WORK / "call.mp4")))
    return w, lambda: w.recording_indicator.elapsed_s() > 3.2 and w.avatar_view.box() is not None


STATES = [source_problem, calibrating, two_faces, recording_framed]
current: list = []


def next_state() -> None:
    if current:
        window, _ready, name, _started = current.pop()
        window.grab().save(str(OUT / name))
        print("saved", OUT / name)
        window.close()
    if not STATES:
        app.quit()
        return
    make = STATES.pop(0)
    window, ready = make()
    current.append((window, ready, f"{make.__name__}.png", time.monotonic()))


def poll() -> None:
    if current and (current[0][1]() or time.monotonic() - current[0][3] > 40):
        next_state()


timer = QTimer()
timer.timeout.connect(poll)
timer.start(100)
next_state()
app.exec()
