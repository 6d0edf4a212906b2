"""Piecewise-affine warp and the WarpAnimator, checked with the real tracker on the warped images."""

from __future__ import annotations

import numpy as np
import pytest

from engine.animator import Motion
from engine.face import topology as topo
from engine.face.crop import CropBox
from engine.warp import WarpAnimator, build_mesh, warp_image, warp_with_mesh
from tests.conftest import PORTRAITS, read_rgb


def _open_mouth(landmarks: np.ndarray, fraction: float) -> np.ndarray:
    """A jaw drop by `fraction` of the mouth width: lower lip down, the face below the mouth corners following."""
    dst = landmarks[:, :2].astype(np.float64).copy()
    drop = fraction * np.linalg.norm(dst[61] - dst[291])
    corner_y = dst[[61, 291], 1].mean()
    lip_y = dst[list(topo.INNER_LIP_LOWER[1:-1]), 1].mean()
    weight = np.clip((dst[:, 1] - corner_y) / max(lip_y - corner_y, 1.0), 0.0, 1.0)
    weight[list(topo.INNER_LIP_UPPER) + list(topo.OUTER_LIP_UPPER)] = 0.0
    weight[list(topo.INNER_LIP_LOWER[1:-1])] = 1.0
    dst[:, 1] += drop * weight
    return dst


def test_warp_to_the_same_landmarks_returns_the_image(default_portrait):
    lm = default_portrait.landmarks[:, :2]
    out = warp_image(default_portrait.image, lm, lm)
    assert out.shape == default_portrait.image.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - default_portrait.image).max() <= 1


def test_tiny_motion_changes_the_image_only_slightly(default_portrait):
    lm = default_portrait.landmarks[:, :2]
    out = warp_image(default_portrait.image, lm, lm + 0.01)
    assert np.abs(out.astype(int) - default_portrait.image).mean() < 0.5


def test_background_far_from_the_face_stays_put(default_portrait):
    lm = default_portrait.landmarks[:, :2]
    out = warp_image(default_portrait.image, lm, lm + [6.0, -4.0])
    assert np.array_equal(out[-60:], default_portrait.image[-60:])
    assert np.array_equal(out[:, :40], default_portrait.image[:, :40])


def test_mouth_opening_of_a_closed_mouth_reaches_the_tracked_output(face_tracker):
    image = read_rgb(PORTRAITS / "biden.jpg")
    lm = face_tracker.detect(image)
    dst = _open_mouth(lm, 0.25)
    out = warp_image(image, lm[:, :2], dst)
    seen = face_tracker.detect(out)

    def gap(p):
        upper, lower = list(topo.OUTER_LIP_UPPER[3:8]), list(topo.OUTER_LIP_LOWER[3:8])
        return np.linalg.norm(p[upper, :2] - p[lower, :2], axis=1).mean()

    wanted = gap(dst) - gap(lm)
    got = gap(seen) - gap(lm)
    assert got == pytest.approx(wanted, rel=0.3)


def test_open_mouth_interior_is_dark_not_torn_skin(face_tracker):
    image = read_rgb(PORTRAITS / "biden.jpg")  # closed mouth
    lm = face_tracker.detect(image)
    dst = _open_mouth(lm, 0.3)
    out = warp_image(image, lm[:, :2], dst)
    centre = ((dst[13] + dst[14]) / 2).round().astype(int)
    lips = image[int(lm[0, 1]) - 2 : int(lm[17, 1]) + 2, int(lm[61, 0]) : int(lm[291, 0])]
    assert out[centre[1], centre[0]].mean() < 0.5 * lips.reshape(-1, 3).mean()


def test_warp_works_on_a_128px_face_crop(default_portrait):
    box = CropBox.from_landmarks(default_portrait.landmarks)
    crop = box.crop(default_portrait.image, 128)
    lm = box.to_crop(default_portrait.landmarks, 128)
    dst = _open_mouth(lm, 0.2)
    out = warp_image(crop, lm, dst)
    assert out.shape == (128, 128, 3)
    assert np.abs(out.astype(int) - crop).max() > 30  # the mouth changed
    assert np.abs(out.astype(int) - crop)[:10].max() <= 1  # the top rows stay


def test_mesh_has_no_triangle_spanning_the_mouth_gap(default_portrait):
    mesh = build_mesh(default_portrait.landmarks[:, :2], default_portrait.image.shape[:2])
    upper, lower = set(topo.INNER_LIP_UPPER[1:-1]), set(topo.OUTER_LIP_LOWER)
    for tri in mesh.triangles.tolist():
        assert not (set(tri) & upper and set(tri) & lower), tri


def test_warp_animator_emits_one_frame_per_motion_with_its_timestamp(default_portrait):
    animator = WarpAnimator()
    animator.set_portrait(default_portrait)
    frames = animator.push(Motion(default_portrait.landmarks[:, :2], 1.5))
    frames += animator.push(Motion(default_portrait.landmarks[:, :2] + 2.0, 1.6))
    assert [f.index for f in frames] == [0, 1] and [f.timestamp for f in frames] == [1.5, 1.6]
    assert frames[0].image.shape == default_portrait.image.shape
    assert animator.lookahead_frames == 0 and animator.flush() == []


def test_warp_with_cached_mesh_equals_warp_image(default_portrait):
    lm = default_portrait.landmarks[:, :2]
    mesh = build_mesh(lm, default_portrait.image.shape[:2])
    dst = _open_mouth(lm, 0.1)
    cached = warp_with_mesh(default_portrait.image, mesh, dst)
    assert np.array_equal(cached, warp_image(default_portrait.image, lm, dst))


def test_moving_every_landmark_by_a_constant_translates_the_face(default_portrait):
    lm = default_portrait.landmarks[:, :2]
    out = warp_image(default_portrait.image, lm, lm + [5.0, 3.0])
    x0, y0 = lm[list(topo.FACE_OVAL)].min(axis=0).astype(int) + 20
    x1, y1 = lm[list(topo.FACE_OVAL)].max(axis=0).astype(int) - 20
    moved = out[y0 + 3 : y1 + 3, x0 + 5 : x1 + 5].astype(int)
    assert np.abs(moved - default_portrait.image[y0:y1, x0:x1]).mean() < 1.0


def test_a_grey_portrait_keeps_a_grey_open_mouth(face_tracker, demo_landmarks):
    import cv2

    from engine.face.portrait import load_portrait
    from engine.face.retarget import Retargeter
    from engine.warp import WarpAnimator
    from tests.conftest import PORTRAITS

    grey = cv2.cvtColor(cv2.imread(str(PORTRAITS / "obama.jpg")), cv2.COLOR_BGR2GRAY)
    portrait = load_portrait(grey, face_tracker)
    animator, retargeter = WarpAnimator(), Retargeter(portrait.landmarks)
    animator.set_portrait(portrait)
    for t, lm in enumerate(demo_landmarks[:40]):
        for frame in animator.push(retargeter.retarget(lm, t / 30.0)):
            channels = frame.image.astype(np.int16)
            assert np.abs(channels - channels.mean(axis=2, keepdims=True)).max() <= 1  # no red tongue
