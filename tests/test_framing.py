"""Output framing: head and shoulders at the output's aspect from real detected faces, inside the photo, and
a crop that stays still on a still face (tracking jitter included) yet follows a face that moves."""

import numpy as np
import pytest

from engine.face.portrait import load_portrait
from engine.framing import HEAD_AND_SHOULDERS, SteadyFramer, head_and_shoulders
from tests.conftest import PORTRAITS


@pytest.mark.parametrize("name", ["astronaut.png", "obama.jpg", "biden.jpg"])
def test_head_and_shoulders_box_frames_the_face_at_the_output_aspect_inside_the_photo(face_tracker, name):
    portrait = load_portrait(PORTRAITS / name, face_tracker)
    h, w = portrait.image.shape[:2]
    box = head_and_shoulders(portrait.landmarks, (w, h), 16 / 9)
    assert box.width / box.height == pytest.approx(16 / 9, rel=1e-6)
    assert box.x >= 0 and box.y >= 0 and box.x + box.width <= w + 1e-6 and box.y + box.height <= h + 1e-6
    xy = portrait.landmarks[:, :2]
    (fx0, fy0), (fx1, fy1) = xy.min(axis=0), xy.max(axis=0)
    assert box.x <= fx0 and fx1 <= box.x + box.width and box.y <= fy0 and fy1 <= box.y + box.height
    face_share = (fy1 - fy0) / box.height
    assert 1 / HEAD_AND_SHOULDERS - 1e-6 <= face_share < 0.75  # the face is big, not a dot in a full body photo
    assert box.height < 0.75 * h  # these photos are half or full body: the crop is much tighter than them


def test_zoom_comes_closer(default_portrait):
    size = default_portrait.image.shape[1::-1]
    wide = head_and_shoulders(default_portrait.landmarks, size, 16 / 9, 1.0)
    close = head_and_shoulders(default_portrait.landmarks, size, 16 / 9, 2.0)
    assert close.height < 0.6 * wide.height


def test_crop_stays_still_on_a_still_face_with_tracking_jitter(default_portrait):
    rng = np.random.default_rng(1)
    framer, size = SteadyFramer(), default_portrait.image.shape[1::-1]
    boxes = [framer.update(head_and_shoulders(default_portrait.landmarks + rng.normal(0, 1.0, (478, 3)), size,
                                              16 / 9, 1.5)).as_array() for _ in range(300)]
    moves = np.abs(np.diff(np.array(boxes), axis=0)).max(axis=1)
    assert moves.max() < 1.0  # less than a pixel per frame (in fact still)


def test_crop_follows_a_face_that_moves_away_and_settles(default_portrait):
    framer, size = SteadyFramer(), default_portrait.image.shape[1::-1]
    start = framer.update(head_and_shoulders(default_portrait.landmarks, size, 16 / 9, 2.0))
    moved = default_portrait.landmarks + np.array([60.0, 20.0, 0.0], dtype=np.float32)
    target = head_and_shoulders(moved, size, 16 / 9, 2.0)
    boxes = [framer.update(target).as_array() for _ in range(90)]
    assert np.abs(boxes[-1] - target.as_array()).max() < 2.0 and boxes[-1][0] > start.x + 40
    assert np.abs(np.diff(np.array(boxes), axis=0)).max() < 8.0  # a glide, not a jump
