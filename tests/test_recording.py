"""Recording in real time: a take lasts its wall-clock time, plays to the last frame, has the user's normal
mode, and a write error stops it with one sentence and no file under the final name."""

from __future__ import annotations

import os
import time

import cv2
import numpy as np
import pytest

from app.recorder import RealTimeRecorder
from engine.assets import DEFAULT_PORTRAIT
from engine.errors import RecordingWriteError
from tests.conftest import decoded


class SteppedClock:
    """The wall clock as the test sets it."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def portrait_rgb() -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(DEFAULT_PORTRAIT)), cv2.COLOR_BGR2RGB)


def take(path, portrait, *, seconds: float, feed_fps: float, fps: float = 30, size=(640, 360), **kw):
    """Feed frames stamped `feed_fps` apart for `seconds` of the test clock, then stop; returns the file."""
    clock = SteppedClock()
    start = clock.now
    recorder = RealTimeRecorder(path, fps, size, clock=clock, **kw)
    n = 0
    while n / feed_fps < seconds:
        clock.now = start + n / feed_fps
        recorder.send(np.roll(portrait, n, axis=1))
        n += 1
        time.sleep(0.002)  # let the writer keep up a little, as a real avatar stream would
    clock.now = start + seconds
    return recorder.close()


@pytest.mark.parametrize("feed_fps", [12.0, 30.0, 60.0])
def test_a_10_second_take_is_10_seconds_long_whatever_the_generation_rate(tmp_path, portrait_rgb, feed_fps):
    path = take(tmp_path / "take.mp4", portrait_rgb, seconds=10.0, feed_fps=feed_fps)
    count, fps, shape = decoded(path)
    assert fps == pytest.approx(30.0)
    assert abs(count - 300) <= 1, f"{count} frames at 30 fps = {count / 30:.2f} s"
    assert shape == (360, 640)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.mp4"]


def test_a_1080p_take_keeps_its_wall_clock_length(tmp_path, portrait_rgb):
    path = take(tmp_path / "big.mp4", portrait_rgb, seconds=3.0, feed_fps=9.0, size=(1920, 1080))
    count, _, shape = decoded(path)
    assert abs(count - 90) <= 1 and shape == (1080, 1920)


def test_send_returns_at_once_while_the_writer_encodes(tmp_path, portrait_rgb):
    recorder = RealTimeRecorder(tmp_path / "fast.mp4", 30, (1280, 720))
    slowest = 0.0
    for _ in range(60):
        start = time.perf_counter()
        recorder.send(portrait_rgb)
        slowest = max(slowest, time.perf_counter() - start)
        time.sleep(1 / 60)
    recorder.close()
    assert slowest < 0.01, f"send blocked for {slowest * 1000:.1f} ms"
    assert decoded(tmp_path / "fast.mp4")[0] >= 1


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_the_file_gets_the_users_normal_mode(tmp_path, portrait_rgb, umask):
    before = os.umask(umask)
    try:
        path = take(tmp_path / "mode.mp4", portrait_rgb, seconds=0.5, feed_fps=30)
    finally:
        os.umask(before)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_take_without_frames_saves_nothing_and_says_so(tmp_path):
    recorder = RealTimeRecorder(tmp_path / "empty.mp4", 30, (320, 240))
    with pytest.raises(RecordingWriteError, match="No avatar frame arrived"):
        recorder.close()
    assert list(tmp_path.iterdir()) == []


def test_a_disk_that_fills_during_the_take_leaves_no_file_and_one_sentence(small_filesystem):
    rng = np.random.default_rng(0)
    clock = SteppedClock()
    recorder = RealTimeRecorder(small_filesystem / "take.mp4", 30, (320, 240), clock=clock, min_free_bytes=0)
    for _ in range(90):  # ~3 s of fresh noise: no encoder predicts it, far more than 1 MiB of H.264
        clock.now += 1 / 30
        recorder.send(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
        time.sleep(0.005)
    with pytest.raises(RecordingWriteError) as caught:
        recorder.close()
    sentence = str(caught.value)
    assert "take.mp4" in sentence and "nothing was saved" in sentence and "\n" not in sentence
    assert list(small_filesystem.iterdir()) == []


def test_a_recording_on_a_nearly_full_disk_is_refused_before_it_starts(small_filesystem):
    with pytest.raises(RecordingWriteError, match="is full"):
        RealTimeRecorder(small_filesystem / "take.mp4", 30, (320, 240))
    assert list(small_filesystem.iterdir()) == []


def test_a_repeated_frame_is_the_same_picture_and_colours_survive_the_conversion(tmp_path):
    from engine.video import AtomicVideoWriter, VideoFileSource

    colours = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (128, 128, 128)]
    frame = np.zeros((64, 96, 3), dtype=np.uint8)
    for i, colour in enumerate(colours):
        frame[:, i * 24 : (i + 1) * 24] = colour
    path = tmp_path / "repeat.mp4"
    with AtomicVideoWriter(path, 30, (96, 64)) as writer:
        writer.write(frame)
        writer.write_again()
        writer.write_again()
    assert decoded(path)[0] == 3
    with VideoFileSource(path) as source:
        frames = [source.read() for _ in range(3)]
    for got in frames:
        for i, colour in enumerate(colours):
            patch = got[8:56, i * 24 + 6 : (i + 1) * 24 - 6].reshape(-1, 3).mean(axis=0)
            assert np.abs(patch - colour).max() < 6, (i, patch, colour)  # BT.601 limited range, as players read it


def test_the_recording_benchmark_runs_the_window_and_its_takes_last_their_wall_time(tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "recording.json"
    done = subprocess.run([sys.executable, "main.py", "bench-recording", "--seconds", "2", "--rounds", "1",
                           "--animator", "warp", "--out", str(out)], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert [p["size"] for p in result["phases"]] == ["1280x720", "1920x1080"]
    assert all(p["avatar_fps_without"] > 0 and p["avatar_fps_recording"] > 0 for p in result["phases"])
    for take in result["recordings"]:
        assert take["saved"] and abs(take["seconds"] - take["wall_seconds"]) <= 0.5  # real time, not played fast
