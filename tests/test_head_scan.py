"""The head scan rendered as training video: a real face mediapipe tracks, turning as the view asks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from engine.data.head_scan import DEFAULT_SCAN, HeadScan, View, render, turning_views
from engine.errors import InvalidImageError
from engine.face.head_pose import head_pose
from engine.video import VideoFileSource

ROOT = DEFAULT_SCAN.parents[3]


@pytest.fixture(scope="module")
def scan() -> HeadScan:
    return HeadScan.load(DEFAULT_SCAN)


def test_the_rendered_scan_is_a_face_that_turns_nods_and_tilts_as_the_view_asks(scan, face_tracker):
    size = (320, 240)
    poses = {}
    views = {"front": View(), "turned": View(yaw=25), "nodded": View(pitch=12), "tilted": View(roll=10)}
    for name, view in views.items():
        image = render(scan, view, size)
        assert image.shape == (240, 320, 3) and image.dtype == np.uint8
        poses[name] = head_pose(face_tracker.detect(image))  # NoFaceFoundError if it were no face
    front = poses["front"]
    assert abs(front.yaw) < 8 and abs(front.roll) < 5
    assert poses["turned"].yaw - front.yaw > 12  # the head's left turn: its nose points to the picture's right
    assert poses["nodded"].pitch - front.pitch > 5  # chin up: the nose points up
    assert abs(abs(poses["tilted"].roll - front.roll) - 10) < 4
    assert abs(poses["turned"].pitch - front.pitch) < 6 and abs(poses["nodded"].yaw - front.yaw) < 6


def test_the_background_stays_still_and_the_head_moves_over_it(scan):
    a, b = render(scan, View(), (160, 120)), render(scan, View(yaw=30, shift=(0.1, 0.0)), (160, 120))
    corner = (slice(0, 12), slice(0, 12))
    assert np.array_equal(a[corner], b[corner])
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 5


def test_the_motion_sweeps_turns_nods_and_distances_smoothly():
    views = turning_views(24 * 20, 24.0)
    yaw = np.array([v.yaw for v in views])
    pitch = np.array([v.pitch for v in views])
    distance = np.array([v.distance for v in views])
    assert yaw.max() > 35 and yaw.min() < -35 and pitch.max() > 12 and pitch.min() < -12
    assert distance.max() > 1.12 and distance.min() < 0.88
    assert np.abs(np.diff(yaw)).max() < 1.5  # degrees per frame: a head, not a slideshow


def test_a_file_that_is_not_a_textured_mesh_is_a_named_error(tmp_path):
    bad = tmp_path / "head.obj"
    bad.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")  # no texture coordinates
    with pytest.raises(InvalidImageError, match="textured triangle mesh"):
        HeadScan.load(bad)


def test_the_command_writes_the_same_turning_video_each_run(tmp_path):
    outs = [tmp_path / "a.mp4", tmp_path / "b.mp4"]
    for out in outs:
        done = subprocess.run([sys.executable, "main.py", "--threads", "1", "scan-video", "--frames", "5",
                               "--size", "96x72", "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "wrote" in done.stdout
    frames = [list(VideoFileSource(out)) for out in outs]
    assert len(frames[0]) == 5 and frames[0][0].shape == (72, 96, 3)
    assert all(np.array_equal(x, y) for x, y in zip(*frames, strict=True))
    assert np.abs(frames[0][0].astype(int) - frames[0][4].astype(int)).mean() > 1  # the head moved
