"""FaceTracker on real photos, and the Retargeter's mapping of driving motion onto a portrait."""

from __future__ import annotations

import numpy as np
import pytest

from engine import face_topology as topo
from engine.driving import RetargetConfig, Retargeter, head_pose, mouth_openness
from engine.errors import NoFaceFoundError
from tests.conftest import PORTRAITS, read_rgb


@pytest.mark.parametrize("name", ["astronaut.png", "obama.jpg", "biden.jpg"])
def test_tracker_finds_478_landmarks_at_plausible_places(face_tracker, name):
    image = read_rgb(PORTRAITS / name)
    lm = face_tracker.detect(image)
    assert lm.shape == (478, 3) and lm.dtype == np.float32
    h, w = image.shape[:2]
    assert (lm[:, 0] > -0.05 * w).all() and (lm[:, 0] < 1.05 * w).all()
    eyes_y = lm[[468, 473], 1].mean()
    mouth_y = lm[[13, 14], 1].mean()
    chin_y = lm[topo.CHIN, 1]
    assert lm[topo.FOREHEAD, 1] < eyes_y < lm[1, 1] < mouth_y < chin_y
    oval = lm[list(topo.FACE_OVAL), :2]
    lo, hi = oval.min(axis=0), oval.max(axis=0)
    assert ((lm[:468, :2] >= lo - 1) & (lm[:468, :2] <= hi + 1)).all()
    assert lm[468, 0] < lm[473, 0]  # subject's right eye is on the image's left


def test_tracker_raises_no_face_found_on_a_flat_image(face_tracker):
    with pytest.raises(NoFaceFoundError, match="No face"):
        face_tracker.detect(np.full((256, 256, 3), 128, dtype=np.uint8))


def test_tracker_raises_no_face_found_on_background_without_face(face_tracker):
    background = read_rgb(PORTRAITS / "astronaut.png")[280:512, 300:512]  # the helmet and suit, no face
    with pytest.raises(NoFaceFoundError):
        face_tracker.detect(np.ascontiguousarray(background))


def test_track_returns_none_without_a_face():
    from engine.driving import FaceTracker

    with FaceTracker() as tracker:
        assert tracker.track(np.zeros((240, 320, 3), dtype=np.uint8)) is None


def test_retargeting_the_neutral_frame_returns_the_portrait_landmarks(default_portrait, face_tracker):
    driving = face_tracker.detect(read_rgb(PORTRAITS / "obama.jpg"))
    retargeter = Retargeter(default_portrait.landmarks)
    motion = retargeter.retarget(driving, 0.0)
    assert motion.face_visible
    np.testing.assert_allclose(motion.landmarks, default_portrait.landmarks[:, :2], atol=1e-3)


def test_driving_face_position_and_size_do_not_matter(default_portrait, face_tracker):
    driving = face_tracker.detect(read_rgb(PORTRAITS / "obama.jpg")).astype(np.float64)
    opened = driving.copy()
    opened[list(topo.INNER_LIP_LOWER[1:-1]), 1] += 15
    config = RetargetConfig(smoothing=None, expression_smoothing=None, follow_translation=False, follow_scale=False)
    near = Retargeter(default_portrait.landmarks, config)
    near.retarget(driving, 0.0)
    far = Retargeter(default_portrait.landmarks, config)
    far.retarget(driving * [0.5, 0.5, 0.5] + [40, 10, 0], 0.0)
    a = near.retarget(opened, 0.1).landmarks
    b = far.retarget(opened * [0.5, 0.5, 0.5] + [40, 10, 0], 0.1).landmarks
    np.testing.assert_allclose(a, b, atol=0.05)


def test_driving_mouth_opening_opens_the_portrait_mouth_in_proportion(default_portrait, face_tracker):
    driving = face_tracker.detect(read_rgb(PORTRAITS / "obama.jpg")).astype(np.float64)
    pose = head_pose(driving)
    opened = driving.copy()
    opened[list(topo.INNER_LIP_LOWER[1:-1]), 1] += 0.2 * np.linalg.norm(driving[61] - driving[291])
    config = RetargetConfig(smoothing=None, expression_smoothing=None)
    retargeter = Retargeter(default_portrait.landmarks, config)
    retargeter.retarget(driving, 0.0)
    out = retargeter.retarget(opened, 0.1).landmarks
    portrait = default_portrait.landmarks[:, :2]
    gain_driving = mouth_openness(pose.to_head(opened)) - mouth_openness(pose.to_head(driving))
    gain_portrait = mouth_openness(out) - mouth_openness(portrait)
    assert gain_portrait == pytest.approx(gain_driving, rel=0.1)


def test_no_face_holds_then_eases_back_to_neutral(default_portrait, face_tracker):
    driving = face_tracker.detect(read_rgb(PORTRAITS / "obama.jpg")).astype(np.float64)
    moved = driving.copy()
    moved[:, 0] += 30  # the whole head moves sideways
    retargeter = Retargeter(default_portrait.landmarks, RetargetConfig(smoothing=None, expression_smoothing=None))
    retargeter.retarget(driving, 0.0)
    held = retargeter.retarget(moved, 0.1).landmarks
    just_lost = retargeter.retarget(None, 0.2)
    assert not just_lost.face_visible
    np.testing.assert_allclose(just_lost.landmarks, held, atol=1e-3)
    much_later = retargeter.retarget(None, 30.0).landmarks
    rigid = list(topo.RIGID)
    assert np.abs(much_later[rigid] - default_portrait.landmarks[rigid, :2]).max() < 2.0
