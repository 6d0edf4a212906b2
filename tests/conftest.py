"""Shared fixtures: real assets, one mediapipe tracker per session, the default portrait loaded once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
ASSETS = REPO / "assets"
PORTRAITS = ASSETS / "portraits"
DEMO_CLIP = ASSETS / "clips" / "carphone.mp4"


def decoded(path: Path) -> tuple[int, float, tuple[int, int] | None]:
    """Every frame of a video decoded: (count, fps stated by the file, (height, width) of the last frame)."""
    capture = cv2.VideoCapture(str(path))
    count, shape = 0, None
    while (read := capture.read())[0]:
        count, shape = count + 1, read[1].shape[:2]
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return count, fps, shape


def read_rgb(path: Path) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="session", autouse=True)
def single_torch_thread():
    """Test models are small: on a 2-core machine a second intra-op thread only adds spin-waiting."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def assets_dir() -> Path:
    """The repository's assets folder."""
    return ASSETS


@pytest.fixture(scope="session")
def face_tracker():
    """A real mediapipe FaceTracker shared by the session (use `detect` for stills: it keeps no track state)."""
    from engine.face.tracker import FaceTracker

    tracker = FaceTracker()
    yield tracker
    tracker.close()


@pytest.fixture(scope="session")
def default_portrait(face_tracker):
    """assets/portraits/astronaut.png loaded as a Portrait."""
    from engine.face.portrait import load_portrait

    return load_portrait(PORTRAITS / "astronaut.png", face_tracker)


@pytest.fixture(scope="session")
def demo_frames() -> list[np.ndarray]:
    """All 120 RGB frames of the demo driving clip."""
    from engine.video import VideoFileSource

    with VideoFileSource(DEMO_CLIP) as source:
        return list(source)


@pytest.fixture(scope="session")
def demo_landmarks(demo_frames) -> list[np.ndarray | None]:
    """Tracked (478, 3) landmarks of every demo frame (a fresh tracker in tracking mode)."""
    from engine.face.tracker import FaceTracker

    with FaceTracker() as tracker:
        return [tracker.track(frame) for frame in demo_frames]


@pytest.fixture
def small_filesystem(tmp_path):
    """A 1 MiB tmpfs (needs mount rights: root or a user namespace); skipped where it cannot be made."""
    folder = tmp_path / "usb"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                             capture_output=True).returncode == 0 if os.geteuid() == 0 else False
    if not mounted:
        pytest.skip("cannot mount a small tmpfs here (not root): no full filesystem to test against")
    yield folder
    subprocess.run(["umount", str(folder)], check=False)


def two_face_photo() -> tuple[np.ndarray, tuple[int, int, int, int], tuple[int, int, int, int]]:
    """A real two-face photo: biden.jpg's head at 0.8 scale on the left, obama.jpg's head at full size on the
    right (mediapipe's detector needs each face to be a good part of the picture).

    Returns (RGB image, obama's box, biden's box), boxes as (x, y, w, h) in the photo's pixels.
    """
    obama = read_rgb(PORTRAITS / "obama.jpg")[13:333, 151:471]  # (320, 320) around his face
    biden = read_rgb(PORTRAITS / "biden.jpg")[20:240, 75:295]  # (220, 220) around his face
    biden = cv2.resize(biden, (176, 176), interpolation=cv2.INTER_AREA)
    canvas = np.full((340, 536, 3), 128, np.uint8)
    canvas[82:258, 10:186] = biden
    canvas[10:330, 206:526] = obama
    return canvas, (206, 10, 320, 320), (10, 82, 176, 176)


RECORDER_CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    from app.recorder import RealTimeRecorder
    recorder = RealTimeRecorder(sys.argv[1], 30, (320, 240))
    start = time.monotonic()
    n = 0
    while True:
        frame = np.full((240, 320, 3), (n * 5) % 256, np.uint8)
        frame[:, : (n % 320)] = 255
        recorder.send(frame)
        n += 1
        print(f"{time.monotonic() - start:.3f}", flush=True)
        time.sleep(1 / 30)
""")


@pytest.fixture(params=[".mp4", ".webm"])
def killed_take(tmp_path, request) -> tuple[Path, float, str]:
    """A real recorder process SIGKILLed about 3.5 s into a take: (its folder, seconds recorded, extension)."""
    proc = subprocess.Popen([sys.executable, "-c", RECORDER_CHILD, str(tmp_path / f"call{request.param}")], cwd=REPO,
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    recorded = 0.0
    try:
        deadline = time.monotonic() + 60
        while recorded < 3.5 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            recorded = float(line)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert recorded >= 3.5, "the recorder child never got going"
    return tmp_path, recorded, request.param
