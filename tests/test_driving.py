"""FaceTracker on real photos, and the Retargeter's mapping of driving motion onto a portrait."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import NoFaceFoundError
from engine.face import topology as topo
from engine.face.head_pose import eye_openness, head_pose, mouth_openness
from engine.face.retarget import RetargetConfig, Retargeter
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
    from engine.face.tracker import FaceTracker

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
    config = RetargetConfig(smoothing=None, follow_translation=False, follow_scale=False)
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
    config = RetargetConfig(smoothing=None)
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
    retargeter = Retargeter(default_portrait.landmarks, RetargetConfig(smoothing=None))
    retargeter.retarget(driving, 0.0)
    held = retargeter.retarget(moved, 0.1).landmarks
    just_lost = retargeter.retarget(None, 0.2)
    assert not just_lost.face_visible
    np.testing.assert_allclose(just_lost.landmarks, held, atol=1e-3)
    much_later = retargeter.retarget(None, 30.0).landmarks
    rigid = list(topo.RIGID)
    assert np.abs(much_later[rigid] - default_portrait.landmarks[rigid, :2]).max() < 2.0


# --- smoothing, blinks, gaze and idle on the demo clip ------------------------------------------------------

FPS = 29.97
WINDOW = 12  # frames


def _retarget_clip(portrait, landmarks, config: RetargetConfig) -> np.ndarray:
    retargeter = Retargeter(portrait.landmarks, config)
    return np.stack([retargeter.retarget(lm, i / FPS).landmarks for i, lm in enumerate(landmarks)]).astype(float)


@pytest.fixture(scope="module")
def clip_raw_and_smoothed(default_portrait, demo_landmarks):
    raw = _retarget_clip(default_portrait, demo_landmarks, RetargetConfig(smoothing=None))
    smooth = _retarget_clip(default_portrait, demo_landmarks, RetargetConfig())
    head_speed = np.linalg.norm(np.diff(raw[:, list(topo.RIGID)], axis=0), axis=2).mean(axis=1)
    windows = np.array([head_speed[i : i + WINDOW].mean() for i in range(len(head_speed) - WINDOW)])
    return raw, smooth, int(windows.argmin()), int(windows.argmax())


def _jitter(track: np.ndarray) -> float:
    """Mean size of the second difference: noise, not steady motion."""
    return float(np.linalg.norm(track[2:] - 2 * track[1:-1] + track[:-2], axis=2).mean())


def test_smoothing_cuts_jitter_at_least_threefold_while_the_head_is_still(clip_raw_and_smoothed):
    raw, smooth, still, _ = clip_raw_and_smoothed
    window = slice(still, still + WINDOW)
    assert _jitter(smooth[window]) * 3 <= _jitter(raw[window])


def test_smoothing_lags_at_most_two_frames_on_the_fastest_head_motion(clip_raw_and_smoothed):
    raw, smooth, _, fast = clip_raw_and_smoothed
    errors = [np.abs(smooth[fast + k : fast + WINDOW] - raw[fast : fast + WINDOW - k]).mean() for k in range(6)]
    assert int(np.argmin(errors)) <= 2


def test_a_driving_blink_reaches_the_retargeted_eyes(default_portrait, demo_landmarks):
    blink = 42  # the demo clip's speaker blinks on this frame
    retargeter = Retargeter(default_portrait.landmarks)  # default smoothing on
    eyes = [eye_openness(retargeter.retarget(lm, i / FPS).landmarks, 0) for i, lm in enumerate(demo_landmarks[:50])]
    before = np.mean(eyes[blink - 6 : blink - 1])
    assert eyes[blink] < 0.6 * before
    assert eyes[blink + 3] > 0.8 * before  # and it opens again


def test_gaze_moves_the_portrait_irises_by_the_same_fraction_of_eye_width(default_portrait, face_tracker):
    driving = face_tracker.detect(read_rgb(PORTRAITS / "obama.jpg")).astype(np.float64)
    width = np.linalg.norm(driving[33] - driving[133])
    looking = driving.copy()
    looking[468:473, 0] += 0.15 * width
    looking[473:478, 0] += 0.15 * np.linalg.norm(driving[263] - driving[362])
    retargeter = Retargeter(default_portrait.landmarks, RetargetConfig(smoothing=None))
    retargeter.retarget(driving, 0.0)
    out = retargeter.retarget(looking, 0.1).landmarks
    portrait = default_portrait.landmarks[:, :2]
    moved = (out[468, 0] - portrait[468, 0]) / np.linalg.norm(portrait[33] - portrait[133])
    assert moved == pytest.approx(0.15, abs=0.03)
    np.testing.assert_allclose(out[list(topo.RIGID)], portrait[list(topo.RIGID)], atol=0.5)


def test_idle_avatar_never_freezes_and_blinks(default_portrait):
    retargeter = Retargeter(default_portrait.landmarks)
    frames = np.stack([retargeter.retarget(None, i / FPS).landmarks for i in range(int(8 * FPS))])
    assert all(not np.array_equal(a, b) for a, b in zip(frames[:-1], frames[1:], strict=True))
    eyes = [eye_openness(f, 0) for f in frames]
    assert min(eyes) < 0.5 * max(eyes)
    drift = np.abs(frames[:, list(topo.RIGID)] - default_portrait.landmarks[list(topo.RIGID), :2]).max()
    assert drift < 0.02 * default_portrait.image.shape[0]  # breathing is subtle


def test_calibrate_takes_the_next_face_as_neutral(default_portrait, demo_landmarks):
    retargeter = Retargeter(default_portrait.landmarks, RetargetConfig(smoothing=None))
    retargeter.retarget(demo_landmarks[96], 0.0)
    assert np.abs(retargeter.retarget(demo_landmarks[59], 0.1).landmarks - default_portrait.landmarks[:, :2]).max() > 5
    retargeter.calibrate()
    out = retargeter.retarget(demo_landmarks[59], 0.2).landmarks
    np.testing.assert_allclose(out, default_portrait.landmarks[:, :2], atol=1e-3)
