"""The mouth prior: real open mouths averaged in mouth coordinates, and the warp painting a mouth gap from it."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.mouth_samples import OPENINGS, average, interior_sample
from engine.errors import KnotCamError
from engine.warp.mouth import MouthStyle, mouth_layer
from engine.warp.mouth_prior import COLS, ROWS, MouthAxes, MouthPrior
from tests.conftest import PORTRAITS, read_rgb
from tests.test_warp import _open_mouth

_LUMA = np.array([0.299, 0.587, 0.114])


def _rotated(points: np.ndarray, degrees: float, centre: np.ndarray) -> np.ndarray:
    a = np.radians(degrees)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (points - centre) @ rot.T + centre


def test_mouth_coordinates_invert_points_and_ignore_a_head_roll(face_tracker):
    lm = face_tracker.detect(read_rgb(PORTRAITS / "biden.jpg"))[:, :2]
    open_lm = _open_mouth(lm, 0.25)
    axes = MouthAxes.of(open_lm)
    q, t = np.meshgrid(np.linspace(0.05, 0.95, 7), np.linspace(0.05, 0.95, 5))
    pts = axes.points(q, t)
    back_q, back_t = axes.coordinates(pts[..., 0], pts[..., 1])
    assert np.abs(back_q - q).max() < 1e-9 and np.abs(back_t - t).max() < 1e-9
    centre = open_lm[13]
    rolled = MouthAxes.of(_rotated(open_lm, 20.0, centre))
    turned = _rotated(pts.reshape(-1, 2), 20.0, centre)
    rq, rt = rolled.coordinates(turned[:, 0], turned[:, 1])
    assert np.abs(rq - q.ravel()).max() < 1e-9 and np.abs(rt - t.ravel()).max() < 1e-9
    assert rolled.openness() == pytest.approx(axes.openness(), abs=1e-12)
    assert axes.openness() > MouthAxes.of(lm).openness() + 0.15  # a quarter-width jaw drop opens it


def test_a_shut_mouth_gives_no_sample_and_an_open_one_a_grid_of_skin_ratios(face_tracker):
    image = read_rgb(PORTRAITS / "biden.jpg")  # closed mouth
    lm = face_tracker.detect(image)[:, :2]
    assert interior_sample(image, lm) is None
    opening, patch = interior_sample(image, _open_mouth(lm, 0.3))  # the same pixels read over a wider gap
    assert opening > OPENINGS[0] and patch.shape == (ROWS, COLS, 3)
    assert np.isfinite(patch).all() and 0.0 < patch.min() and patch.max() < 3.0


def test_average_mirrors_bins_by_opening_and_leaves_teeth_out():
    left_dark = np.full((ROWS, COLS, 3), 0.6, np.float32)
    left_dark[:, : COLS // 2] = 0.2
    teeth = left_dark.copy()
    teeth[: ROWS // 2] = 1.3  # bright and neutral against skin: teeth, not averaged in
    samples = [(0.05, left_dark), (0.06, teeth), (0.2, np.full((ROWS, COLS, 3), 0.5, np.float32))]
    prior = average(samples)
    assert prior.frames.tolist() == [2, 1]  # the empty bins are left out
    assert prior.openness.tolist() == pytest.approx([0.055, 0.2])
    assert np.allclose(prior.colour[0], 0.4)  # mirrored: dark left and light right meet halfway, teeth ignored
    assert np.allclose(prior.colour[1], 0.5)
    assert np.allclose(prior.interior(0.1275), 0.45)  # halfway between the two openings
    assert np.allclose(prior.interior(0.0), 0.4) and np.allclose(prior.interior(0.9), 0.5)  # clamped
    with pytest.raises(ValueError, match="fewer than two openings"):
        average(samples[:2])


def test_the_shipped_prior_is_a_dark_mouth_that_opens_with_its_opening():
    prior = MouthPrior.load()
    assert (np.diff(prior.openness) > 0).all() and (prior.frames >= 100).all()
    for colour in prior.colour:
        luma = colour @ _LUMA
        assert luma.mean() < 0.7  # darker than the skin around it
        assert luma[:, COLS // 2].mean() > luma[:, [0, -1]].mean()  # the corners are the darkest, deep in the cheeks
        assert np.allclose(colour, colour[:, ::-1], atol=1e-2)  # symmetric: the scene's light side is averaged out


def test_a_damaged_prior_file_is_a_named_error(tmp_path):
    bad = tmp_path / "mouth_prior.npz"
    bad.write_bytes(b"not an npz")
    with pytest.raises(KnotCamError, match="mouth prior"):
        MouthPrior.load(bad)
    with pytest.raises(KnotCamError, match="missing"):
        MouthPrior.load(tmp_path / "none.npz")


def test_the_gap_is_painted_from_the_prior_in_the_portraits_skin_light(face_tracker):
    image = read_rgb(PORTRAITS / "biden.jpg")
    lm = face_tracker.detect(image)[:, :2]
    dst = _open_mouth(lm, 0.3)
    style = MouthStyle.of(image, lm)
    layer = mouth_layer(lm, dst, image.shape[:2], style)
    darker = MouthStyle(style.grey, style.skin * 0.5, style.prior)
    dark_layer = mouth_layer(lm, dst, image.shape[:2], darker)
    gap = (layer.alpha[..., 0] > 0.99) & (layer.gain[..., 0] == 0.0)  # inside the gap, none of the portrait
    assert gap.sum() > 50
    assert np.allclose(dark_layer.tint[gap], 0.5 * layer.tint[gap], atol=1e-3)
    # the painted colour is the prior's at that opening, times the skin colour
    x0, y0 = layer.box[:2]
    ys, xs = np.nonzero(gap)
    axes = MouthAxes.of(dst)
    q, t = axes.coordinates(xs + x0, ys + y0)
    expected = style.prior.sample(axes.openness(), q[None].astype(np.float32), t[None].astype(np.float32))[0]
    assert np.allclose(layer.tint[gap], expected * style.skin, atol=0.5)


def test_mouth_prior_command_builds_a_prior_the_warp_loads_from_a_real_clip(tmp_path, capsys):
    import shutil

    from engine.assets import TRAINING_DIR
    from main import main

    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(TRAINING_DIR / "single_face.mp4", videos)
    out = tmp_path / "prior.npz"
    assert main(["mouth-prior", "--videos", str(videos), "--stride", "1", "--tracks", str(tmp_path / "tracks"),
                 "--out", str(out)]) == 0
    prior = MouthPrior.load(out)
    assert prior.frames.sum() > 30 and len(prior.openness) >= 2  # single_face.mp4 opens its mouth in most frames
    assert "open-mouth frames" in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["mouth-prior", "--videos", str(empty), "--out", str(tmp_path / "none.npz")]) == 1
    assert not (tmp_path / "none.npz").exists()
