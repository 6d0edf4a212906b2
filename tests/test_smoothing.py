"""One Euro filter: steady on noise, quick on motion."""

from __future__ import annotations

import numpy as np

from engine.face.smoothing import OneEuroConfig, OneEuroFilter


def test_first_sample_passes_unchanged():
    f = OneEuroFilter(OneEuroConfig())
    np.testing.assert_array_equal(f(np.array([3.0, 4.0]), 0.0), [3.0, 4.0])


def test_noise_on_a_still_signal_is_reduced_a_lot():
    rng = np.random.default_rng(0)
    noisy = rng.normal(0.0, 0.01, (300, 1))
    f = OneEuroFilter(OneEuroConfig(min_cutoff=0.5, beta=1.0))
    out = np.array([f(x, i / 30) for i, x in enumerate(noisy)])
    assert out[30:].std() < noisy[30:].std() / 3


def test_a_fast_step_gets_through_within_two_frames():
    f = OneEuroFilter(OneEuroConfig(min_cutoff=2.0, beta=40.0, d_cutoff=8.0))
    signal = [0.0] * 10 + [1.0] * 5
    out = [float(f(np.array([x]), i / 30)[0]) for i, x in enumerate(signal)]
    assert out[11] > 0.8


def test_reset_forgets_the_history():
    f = OneEuroFilter(OneEuroConfig())
    f(np.array([0.0]), 0.0)
    f.reset()
    assert f(np.array([5.0]), 0.1)[0] == 5.0


def test_rows_of_a_point_array_are_filtered_by_their_own_speed():
    f = OneEuroFilter(OneEuroConfig(min_cutoff=0.5, beta=20.0))
    f(np.zeros((2, 2)), 0.0)
    out = f(np.array([[1.0, 0.0], [0.001, 0.0]]), 1 / 30)
    assert out[0, 0] > 0.5 and out[1, 0] < 0.0005
