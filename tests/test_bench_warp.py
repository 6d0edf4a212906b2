"""bench-warp's cases: replayed landmarks (the GPU machine has no mediapipe) give the cases real tracking gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.bench.warp import _cases


def test_replayed_portrait_landmarks_give_the_same_cases_as_mediapipe():
    tracked = _cases()
    replayed = _cases(Path("benchmarks/landmarks_astronaut_carphone.npz"))
    assert tracked.keys() == replayed.keys() == {"512x512", "1280x720"}
    for name, (image, frames) in tracked.items():
        assert np.array_equal(image, replayed[name][0])
        assert frames.shape == replayed[name][1].shape == (120, 478, 2)
        assert np.abs(frames - replayed[name][1]).max() < 1e-3  # recorded as float32
