"""Evaluation metrics on cases whose answer is known in closed form, and the identity descriptor on real faces."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from engine.eval import metrics
from tests.conftest import PORTRAITS


def _face(iod: float = 100.0) -> np.ndarray:
    """(478, 2) synthetic landmarks whose outer eye corners are `iod` pixels apart."""
    rng = np.random.default_rng(0)
    lm = rng.uniform(0, 200, (478, 2))
    lm[33], lm[263] = (50.0, 80.0), (50.0 + iod, 80.0)
    return lm


def _textured(seed: int = 0, shape=(64, 80, 3)) -> np.ndarray:
    return cv2.GaussianBlur(np.random.default_rng(seed).integers(0, 256, shape, np.uint8), (3, 3), 0)


def test_psnr_of_identical_images_is_infinite():
    image = _textured()
    assert metrics.psnr(image, image) == math.inf


def test_psnr_of_a_uniform_error_of_one_grey_level_is_48_13_db():
    image = np.full((10, 10, 3), 100, np.uint8)
    assert metrics.psnr(image + 1, image) == pytest.approx(20 * math.log10(255), abs=1e-9)


def test_ssim_of_an_image_with_itself_is_one():
    image = _textured()
    assert metrics.ssim(image, image) == pytest.approx(1.0, abs=1e-12)


def test_ssim_of_two_flat_images_follows_the_luminance_term():
    a, b = np.full((32, 32), 100, np.uint8), np.full((32, 32), 150, np.uint8)
    c1 = (0.01 * 255) ** 2
    expected = (2 * 100 * 150 + c1) / (100**2 + 150**2 + c1)  # no variance: only the luminance term is left
    assert metrics.ssim(a, b) == pytest.approx(expected, rel=1e-9)


def test_ssim_falls_with_noise():
    image = _textured()
    noisy = np.clip(image + np.random.default_rng(1).normal(0, 25, image.shape), 0, 255).astype(np.uint8)
    assert metrics.ssim(noisy, image) < 0.9


def test_inter_ocular_distance_is_the_outer_eye_corner_distance():
    assert metrics.inter_ocular_distance(_face(iod=73.0)) == pytest.approx(73.0)


def test_landmark_error_of_a_mouth_shifted_by_a_tenth_of_the_eye_distance():
    target = np.stack([_face(100.0)] * 4)
    found = target.copy()
    found[:, list(metrics.REGIONS["mouth"]), 1] += 10.0
    errors = metrics.landmark_errors(found, target)
    assert errors["mouth"] == pytest.approx(0.1)
    assert errors["eyes"] == 0.0


def test_landmark_error_skips_frames_without_a_face():
    target = np.stack([_face(100.0)] * 3)
    found = target.copy()
    found[:, list(metrics.REGIONS["pose"])] += (30.0, 40.0)  # 50 px = half the eye distance
    found[1] = np.nan
    assert metrics.landmark_errors(found, target)["pose"] == pytest.approx(0.5)


def test_high_frequency_energy_is_zero_for_constant_velocity():
    t = np.arange(20, dtype=float)
    tracks = np.stack([np.stack([3 * t, -2 * t + 5], axis=1)] * 4, axis=1)  # (T, 4, 2)
    assert metrics.high_frequency_energy(tracks) == pytest.approx(0.0, abs=1e-20)


def test_high_frequency_energy_of_alternating_noise_is_16_a_squared_per_coordinate():
    a = 0.5
    tracks = np.zeros((30, 5, 2))
    tracks[:, :, 0] = a * (-1.0) ** np.arange(30)[:, None]  # x[t+1] - 2 x[t] + x[t-1] = +-4a
    assert metrics.high_frequency_energy(tracks) == pytest.approx(16 * a**2)


def _tracks(noise: float, scale: float = 1.0) -> np.ndarray:
    t = np.arange(60)
    base = np.stack([_face(100.0)] * 60) + 5 * np.sin(t / 9.0)[:, None, None]
    base += noise * ((-1.0) ** t)[:, None, None]
    return base * scale


def test_jitter_of_a_scaled_copy_of_the_driving_tracks_is_one():
    assert metrics.temporal_jitter(_tracks(0.3, scale=2.5), _tracks(0.3)) == pytest.approx(1.0)


def test_jitter_grows_when_the_output_shakes_more_than_the_driving_face():
    assert metrics.temporal_jitter(_tracks(0.6), _tracks(0.3)) > 3.5


def _ramp(steps: list[float]) -> np.ndarray:
    levels = np.concatenate([[10.0], 10.0 + np.cumsum(steps)])
    return np.stack([np.full((4, 4, 3), v, np.uint8) for v in levels])


def test_chunk_jump_is_one_when_borders_change_like_the_inside():
    frames = _ramp([2.0] * 11)
    assert metrics.chunk_boundary_jump(frames, np.arange(12) // 3) == pytest.approx(1.0)


def test_chunk_jump_is_the_ratio_of_border_to_inside_differences():
    ids = np.arange(12) // 3
    steps = [6.0 if ids[t] != ids[t - 1] else 2.0 for t in range(1, 12)]
    assert metrics.chunk_boundary_jump(_ramp(steps), ids) == pytest.approx(3.0)


def test_sharpness_of_a_flat_image_is_zero():
    assert metrics.sharpness(np.full((16, 16), 77, np.uint8)) == 0.0


def test_sharpness_of_a_single_bright_pixel_is_20_v_squared_over_the_pixel_count():
    image = np.zeros((10, 10), np.uint8)
    image[5, 5] = 10  # Laplacian: -40 at the pixel, +10 at its 4 neighbours, mean 0
    assert metrics.sharpness(image) == pytest.approx(20 * 10**2 / 100)


def test_sharpness_drops_when_an_image_is_blurred():
    image = _textured()
    assert metrics.sharpness(cv2.GaussianBlur(image, (0, 0), 2)) < metrics.sharpness(image) / 2


def test_cosine_similarity_of_parallel_orthogonal_and_opposite_vectors():
    v = np.array([1.0, 2.0, 3.0])
    assert metrics.cosine_similarity(v, 2 * v) == pytest.approx(1.0)
    assert metrics.cosine_similarity([1, 0], [0, 1]) == pytest.approx(0.0)
    assert metrics.cosine_similarity(v, -v) == pytest.approx(-1.0)


def test_drift_ratio_is_nan_without_an_early_value():
    assert math.isnan(metrics.ratio(0.9, 0.0))
    assert metrics.ratio(0.45, 0.9) == pytest.approx(0.5)


@pytest.fixture(scope="module")
def descriptor():
    from engine.eval.identity import FaceDescriptor

    return FaceDescriptor()


def test_identity_descriptor_keeps_a_person_through_a_resize_and_tells_two_people_apart(face_tracker,
                                                                                       descriptor):
    from engine.face.portrait import load_portrait

    biden = load_portrait(PORTRAITS / "biden.jpg", face_tracker)
    obama = load_portrait(PORTRAITS / "obama.jpg", face_tracker)
    reference = descriptor.describe(biden.image, biden.landmarks)
    half = cv2.resize(biden.image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    same = metrics.cosine_similarity(descriptor.describe(half, biden.landmarks * 0.5), reference)
    other = metrics.cosine_similarity(descriptor.describe(obama.image, obama.landmarks), reference)
    assert same > 0.97 and other < 0.9


def test_a_torn_face_edge_scores_a_higher_tear_score_than_the_portrait_itself(default_portrait):
    from engine.eval.metrics import tear_score
    from engine.face import topology as topo

    image, lm = default_portrait.image, default_portrait.landmarks
    own = tear_score(image, lm, image, lm)
    torn = image.copy()
    for x, y in np.round(lm[list(topo.FACE_OVAL), :2]).astype(int)[::2]:  # saw-tooth of dark and light teeth
        torn[max(0, y - 3):y + 3, max(0, x - 3):x + 3] = 0
        torn[max(0, y - 3):y + 3, x + 3:x + 9] = 255
    assert own < 0.2
    assert tear_score(torn, lm, image, lm) > own + 0.1
