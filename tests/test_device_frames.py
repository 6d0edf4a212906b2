"""The device path of KnotAnimator (warp, crop and paste as tensors) gives the frames of the OpenCV path.

Run here on the CPU device (the same torch code a GPU runs); tests/test_cuda_graph.py repeats the whole-animator
check on a GPU.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from engine.face.crop import CropBox
from engine.face.retarget import Retargeter
from engine.knot.composition import PasteRegion, face_mask
from engine.knot.device_frames import DeviceFrames, area_weights
from engine.knot.knot_animator import load_default_knot_animator


def _frames(portrait, box: CropBox, resolution: int = 64) -> DeviceFrames:
    region = PasteRegion(box, resolution, portrait.image.shape[:2])
    return DeviceFrames(portrait.image, box, region, resolution, torch.device("cpu"))


def _motions(portrait, demo_landmarks, count: int, start: int = 0):
    retargeter = Retargeter(portrait.landmarks)
    return [retargeter.retarget(lm, t / 30.0) for t, lm in enumerate(demo_landmarks[start:start + count])]


def test_area_weights_average_whole_pixels_like_a_box_filter():
    w = area_weights(6, 3)  # exactly 2 input pixels per output pixel
    assert np.allclose(w, np.kron(np.eye(3), [0.5, 0.5]))
    frac = area_weights(5, 3)  # 5/3 pixels per output pixel: fractional coverage, rows sum to 1
    assert np.allclose(frac.sum(axis=1), 1.0) and np.allclose(frac[0], [0.6, 0.4, 0, 0, 0])


@pytest.mark.parametrize("scale", [1.0, 1.3, 2.2], ids=["no-shrink", "shrink-1.1x", "shrink-1.7x"])
def test_device_crop_equals_opencv_crop(default_portrait, scale):
    box = CropBox.from_landmarks(default_portrait.landmarks, scale)
    frames = _frames(default_portrait, box, 64)
    expected = box.crop(default_portrait.image, 64).astype(np.float32)
    got = frames.crop(frames.image).mul(127.5).add(127.5)[0].permute(1, 2, 0).numpy()
    diff = np.abs(got - expected)
    assert diff.mean() < 0.3 and diff.max() <= 3, (diff.mean(), diff.max())


def test_device_paste_equals_paste_region(default_portrait, demo_landmarks):
    box = CropBox.from_landmarks(default_portrait.landmarks, 2.2)
    frames = _frames(default_portrait, box, 64)
    region = PasteRegion(box, 64, default_portrait.image.shape[:2])
    rng = np.random.default_rng(0)  # smooth like a decoded correction (the codec works at 1/8 resolution)
    delta = cv2.resize(rng.normal(0, 20, (8, 8, 3)), (64, 64), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    face = cv2.resize(rng.uniform(0, 255, (8, 8, 3)), (64, 64), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    mask = face_mask(box.to_crop(default_portrait.landmarks, 64), 64)
    image = default_portrait.image
    for cpu, dev, x in ((region.add, frames.add, delta), (region.replace, frames.replace, face)):
        expected = cpu(image.copy(), x, mask).astype(np.int16)
        got = dev(torch.from_numpy(image.copy()), torch.from_numpy(x).permute(2, 0, 1), torch.from_numpy(mask))
        diff = np.abs(got.numpy().astype(np.int16) - expected)
        assert diff.max() <= 2 and (diff > 0).mean() < 0.01, (diff.max(), (diff > 0).mean())
        assert np.abs(expected - image).max() > 20  # the paste did change the frame


def test_knot_animator_on_the_device_path_gives_the_opencv_paths_frames(default_portrait, demo_landmarks):
    motions = _motions(default_portrait, demo_landmarks, 12, start=30)
    runs = []
    for on_device in (False, True):
        animator = load_default_knot_animator("tiny")
        animator.frames_on_device = on_device
        animator.set_portrait(default_portrait)
        assert (animator._frames is not None) == on_device
        frames = [f for m in motions for f in animator.push(m)] + animator.flush()
        runs.append(np.stack([f.image for f in frames]).astype(np.float64))
    cpu, dev = runs
    assert cpu.shape == dev.shape == (12, *default_portrait.image.shape)
    mse = ((cpu - dev) ** 2).mean()
    assert 10 * np.log10(255**2 / max(mse, 1e-12)) > 40
    assert np.abs(cpu - dev).max() <= 12
