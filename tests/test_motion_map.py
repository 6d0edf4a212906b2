"""MotionRenderer: landmark channels for the DiT."""

from __future__ import annotations

import numpy as np

from engine.face import topology as topo
from engine.face.crop import CropBox
from engine.face.motion_map import MotionRenderer


def _crop_landmarks(portrait, size):
    return CropBox.from_landmarks(portrait.landmarks).to_crop(portrait.landmarks, size)


def test_map_has_three_channels_in_unit_range(default_portrait):
    out = MotionRenderer(64).render(_crop_landmarks(default_portrait, 64))
    assert out.shape == (3, 64, 64) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0 and (out.reshape(3, -1).max(axis=1) > 0.5).all()


def test_map_is_deterministic(default_portrait):
    lm = _crop_landmarks(default_portrait, 64)
    assert np.array_equal(MotionRenderer(64).render(lm), MotionRenderer(64).render(lm))


def test_mouth_opening_changes_only_the_lips_channel(default_portrait):
    lm = _crop_landmarks(default_portrait, 64).astype(np.float64)
    opened = lm.copy()
    opened[list(topo.INNER_LIP_LOWER[1:-1]), 1] += 3
    renderer = MotionRenderer(64)
    diff = np.abs(renderer.render(opened) - renderer.render(lm)).reshape(3, -1).sum(axis=1)
    assert diff[2] > 1.0 and diff[0] == 0 and diff[1] == 0


def test_subpixel_motion_changes_the_map(default_portrait):
    lm = _crop_landmarks(default_portrait, 64)
    renderer = MotionRenderer(64)
    assert not np.array_equal(renderer.render(lm), renderer.render(lm + 0.25))
