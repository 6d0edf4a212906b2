"""Video file source and the atomic MP4 writer, on real files."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.errors import VideoSourceError
from engine.video import AtomicVideoWriter, VideoFileSource
from tests.conftest import DEMO_CLIP


def test_demo_clip_gives_120_rgb_frames_at_its_fps():
    with VideoFileSource(DEMO_CLIP) as source:
        frames = list(source)
        assert source.fps == pytest.approx(29.97, abs=0.01)
    assert len(frames) == 120 and frames[0].shape == (144, 176, 3) and frames[0].dtype == np.uint8


def test_frames_are_rgb():
    bgr = cv2.VideoCapture(str(DEMO_CLIP)).read()[1]
    with VideoFileSource(DEMO_CLIP) as source:
        rgb = source.read()
    assert np.array_equal(rgb, bgr[..., ::-1])


def test_looping_source_starts_over():
    with VideoFileSource(DEMO_CLIP, loop=True) as source:
        frames = [source.read() for _ in range(125)]
    assert all(f is not None for f in frames)
    assert np.abs(frames[120].astype(int) - frames[0]).mean() < 1.0


def test_unreadable_file_raises_video_source_error(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"\x00" * 1000)
    with pytest.raises(VideoSourceError, match="not a video file"):
        VideoFileSource(path)


def test_missing_file_raises_video_source_error(tmp_path):
    with pytest.raises(VideoSourceError, match="does not exist"):
        VideoFileSource(tmp_path / "none.mp4")


def _frames(n, size=(64, 48)):
    return [np.full((size[1], size[0], 3), 10 * i, dtype=np.uint8) for i in range(n)]


def test_writer_produces_a_playable_mp4_with_every_frame(tmp_path):
    path = tmp_path / "out.mp4"
    with AtomicVideoWriter(path, 25.0, (64, 48)) as writer:
        for frame in _frames(12):
            writer.write(frame)
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    assert count == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_abort_leaves_nothing_behind(tmp_path):
    writer = AtomicVideoWriter(tmp_path / "out.mp4", 25.0, (64, 48))
    for frame in _frames(5):
        writer.write(frame)
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_exception_while_writing_leaves_nothing_behind(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with AtomicVideoWriter(tmp_path / "out.mp4", 25.0, (64, 48)) as writer:
            writer.write(_frames(1)[0])
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_existing_file_is_kept_until_the_new_one_is_complete(tmp_path):
    path = tmp_path / "out.mp4"
    path.write_bytes(b"old")
    writer = AtomicVideoWriter(path, 25.0, (64, 48))
    writer.write(_frames(1)[0])
    assert path.read_bytes() == b"old"
    writer.abort()
    assert path.read_bytes() == b"old"


def test_wrong_frame_size_is_refused(tmp_path):
    with AtomicVideoWriter(tmp_path / "out.mp4", 25.0, (64, 48)) as writer:
        with pytest.raises(ValueError):
            writer.write(np.zeros((10, 10, 3), np.uint8))
