"""Head pose and expression measured on real photos: invariant to framing, mirrored by a flip."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.face.head_pose import expression_offsets, gaze, head_pose
from tests.conftest import PORTRAITS, read_rgb

MOUTH_OPEN_FRAME, MOUTH_CLOSED_FRAME = 59, 96  # demo clip


def _transformed(image: np.ndarray, angle: float = 0.0, scale: float = 1.0, shift=(0.0, 0.0)) -> np.ndarray:
    h, w = image.shape[:2]
    mat = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    mat[:, 2] += shift
    return cv2.warpAffine(image, mat, (w, h), borderMode=cv2.BORDER_REPLICATE)


def _rms(offsets: np.ndarray) -> float:
    return float(np.sqrt((offsets[:, :2] ** 2).sum(axis=1).mean()))


@pytest.fixture(scope="module")
def obama():
    return read_rgb(PORTRAITS / "obama.jpg")


@pytest.fixture(scope="module")
def real_expression_size(demo_landmarks) -> float:
    offsets, _ = expression_offsets(demo_landmarks[MOUTH_OPEN_FRAME], demo_landmarks[MOUTH_CLOSED_FRAME])
    return _rms(offsets)


@pytest.mark.parametrize("framing", [
    {"shift": (60.0, -40.0)},
    {"scale": 0.6},
    {"angle": 20.0},
], ids=["shifted", "scaled", "rotated"])
def test_expression_does_not_change_when_the_face_is_moved_in_the_picture(
        face_tracker, obama, real_expression_size, framing):
    base = face_tracker.detect(obama)
    moved = face_tracker.detect(_transformed(obama, **framing))
    offsets, _ = expression_offsets(moved, base)
    assert _rms(offsets) < 0.1 * real_expression_size


def test_a_real_expression_is_measured_as_one(demo_landmarks, real_expression_size):
    still, _ = expression_offsets(demo_landmarks[MOUTH_CLOSED_FRAME + 1], demo_landmarks[MOUTH_CLOSED_FRAME])
    assert real_expression_size > 10 * _rms(still)


def test_in_plane_rotation_reads_as_roll(face_tracker, obama):
    upright = head_pose(face_tracker.detect(obama))
    tilted = head_pose(face_tracker.detect(_transformed(obama, angle=20.0)))  # counter-clockwise on screen
    assert tilted.roll - upright.roll == pytest.approx(-20.0, abs=2.0)
    assert tilted.yaw == pytest.approx(upright.yaw, abs=3.0)


@pytest.mark.parametrize("name", ["biden.jpg", "obama.jpg"])
def test_head_yaw_of_a_flipped_image_is_mirrored(face_tracker, name):
    image = read_rgb(PORTRAITS / name)
    pose = head_pose(face_tracker.detect(image))
    flipped = head_pose(face_tracker.detect(np.ascontiguousarray(image[:, ::-1])))
    assert flipped.yaw == pytest.approx(-pose.yaw, abs=2.5)
    assert flipped.roll == pytest.approx(-pose.roll, abs=2.5)
    assert flipped.pitch == pytest.approx(pose.pitch, abs=2.5)


def test_turned_head_has_a_yaw_that_a_flip_reverses(face_tracker):
    image = read_rgb(PORTRAITS / "biden.jpg")  # head turned about 12 degrees
    yaw = head_pose(face_tracker.detect(image)).yaw
    flipped = head_pose(face_tracker.detect(np.ascontiguousarray(image[:, ::-1]))).yaw
    assert abs(yaw) > 8 and np.sign(flipped) == -np.sign(yaw)


def test_gaze_follows_the_iris_and_not_the_lids(face_tracker, obama):
    lm = face_tracker.detect(obama).astype(np.float64)
    head = head_pose(lm).to_head(lm)
    looking_left = head.copy()
    looking_left[468:478, 0] += 0.05
    closing = head.copy()
    closing[[159, 145, 386, 374], 1] += 0.02
    assert (gaze(looking_left)[:, 0] > gaze(head)[:, 0]).all()
    np.testing.assert_allclose(gaze(closing), gaze(head))
