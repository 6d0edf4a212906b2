"""KnotAnimator: Knot Forcing behind the Animator API, with the shipped tiny weights on real faces."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.animator import Motion
from engine.assets import default_weights_path
from engine.config import get_preset
from engine.errors import NoFaceFoundError, WeightsMismatchError
from engine.face.portrait import load_portrait
from engine.face.retarget import Retargeter
from engine.knot.knot_animator import load_default_knot_animator, load_knot_animator
from engine.pipeline import AvatarPipeline
from tests.conftest import PORTRAITS


@pytest.fixture(scope="module")
def animator():
    return load_default_knot_animator("tiny")


def _motions(portrait, demo_landmarks, count: int) -> list[Motion]:
    retargeter = Retargeter(portrait.landmarks)
    return [retargeter.retarget(lm, t / 30.0) for t, lm in enumerate(demo_landmarks[:count])]


def _stream(animator, portrait, motions):
    animator.set_portrait(portrait)
    frames = []
    for m in motions:
        frames += animator.push(m)
    return frames + animator.flush()


def test_shipped_weights_exist_and_match_the_tiny_preset():
    assert default_weights_path("tiny").is_file()
    animator = load_default_knot_animator("tiny")
    assert animator.cfg == get_preset("tiny").model


def test_every_pushed_frame_comes_out_once_in_order_with_its_timestamp(animator, default_portrait, demo_landmarks):
    motions = _motions(default_portrait, demo_landmarks, 11)  # not a multiple of the chunk: flush pads
    frames = _stream(animator, default_portrait, motions)
    assert [f.timestamp for f in frames] == [m.timestamp for m in motions]
    assert [f.index for f in frames] == list(range(len(motions)))
    assert all(f.image.shape == default_portrait.image.shape and f.image.dtype == np.uint8 for f in frames)


def test_frames_arrive_in_chunks_after_the_knot_lookahead(animator, default_portrait, demo_landmarks):
    stream = get_preset("tiny").stream
    animator.set_portrait(default_portrait)
    counts = [len(animator.push(m)) for m in _motions(default_portrait, demo_landmarks, 10)]
    first = stream.chunk_frames + stream.knot_frames
    assert counts[: first - 1] == [0] * (first - 1)
    assert counts[first - 1] == stream.chunk_frames
    assert sum(counts) == stream.chunk_frames * (1 + (10 - first) // stream.chunk_frames)
    assert animator.lookahead_frames == stream.knot_frames


def test_generated_mouth_follows_the_driving_mouth(animator, default_portrait, demo_landmarks, face_tracker):
    """The avatar's lips move towards the driving landmarks: closer to them than the still portrait is."""
    from engine.face import topology as topo

    motions = _motions(default_portrait, demo_landmarks, 60)
    frames = _stream(animator, default_portrait, motions)
    lips = list(topo.OUTER_LIPS + topo.INNER_LIPS)
    gains = []
    for f, m in zip(frames[6:], motions[6:], strict=True):
        moved = np.abs(m.landmarks[lips] - default_portrait.landmarks[lips, :2]).mean()
        if moved < 2.0:  # only frames where the driving mouth differs from the portrait's
            continue
        found = face_tracker.detect(f.image)[lips, :2]
        before = np.abs(default_portrait.landmarks[lips, :2] - m.landmarks[lips]).mean()
        after = np.abs(found - m.landmarks[lips]).mean()
        gains.append(before - after)
    assert len(gains) >= 5
    assert np.mean(gains) > 0.5  # pixels closer to the driving landmarks, on average


def test_switching_portrait_mid_stream_leaves_nothing_of_the_old_one(default_portrait, face_tracker,
                                                                      demo_landmarks):
    other = load_portrait(PORTRAITS / "obama.jpg", face_tracker)
    switched = load_default_knot_animator("tiny")
    _stream(switched, default_portrait, _motions(default_portrait, demo_landmarks, 9))
    ref_before = switched.streamer.cache.ref_k.clone()
    motions = _motions(other, demo_landmarks, 9)
    after_switch = _stream(switched, other, motions)
    assert not torch.equal(ref_before, switched.streamer.cache.ref_k)
    fresh = _stream(load_default_knot_animator("tiny"), other, motions)
    for a, b in zip(after_switch, fresh, strict=True):
        np.testing.assert_array_equal(a.image, b.image)


def test_a_portrait_without_a_face_is_refused_and_the_stream_goes_on(default_portrait, face_tracker, demo_frames):
    pipeline = AvatarPipeline(load_default_knot_animator("tiny"), face_tracker)
    pipeline.set_portrait(default_portrait)
    with pytest.raises(NoFaceFoundError):
        load_portrait(np.full((256, 256, 3), 128, np.uint8), face_tracker)
    out = []
    for t, frame in enumerate(demo_frames[:8]):
        out += pipeline.process(frame, float(t))
    assert len(out) >= 4 and pipeline.portrait is default_portrait


def test_missing_or_foreign_weights_raise_a_clear_error(tmp_path):
    with pytest.raises(WeightsMismatchError, match="does not exist"):
        load_knot_animator(tmp_path / "none.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a weights file")
    with pytest.raises(WeightsMismatchError, match="corrupt"):
        load_knot_animator(bad)
    with pytest.raises(WeightsMismatchError, match="another model config"):
        load_knot_animator(default_weights_path("tiny"), expected=get_preset("base").model)


def test_both_blends_change_only_the_face_region(animator, default_portrait, demo_landmarks):
    motions = _motions(default_portrait, demo_landmarks, 8)
    residual = _stream(animator, default_portrait, motions)
    replace = _stream(load_knot_animator(default_weights_path("tiny"), get_preset("tiny").stream, blend="replace"),
                      default_portrait, motions)
    for a, b in zip(residual, replace, strict=True):
        assert np.array_equal(a.image[:40, :40], b.image[:40, :40])  # far from the face: the warp alone
        assert not np.array_equal(a.image, b.image)  # in the face: correction added vs generated face pasted


def test_a_grey_portrait_stays_grey_through_knot_forcing(animator, face_tracker, demo_landmarks, tmp_path):
    import cv2

    grey = cv2.cvtColor(cv2.imread(str(PORTRAITS / "obama.jpg")), cv2.COLOR_BGR2GRAY)
    path = tmp_path / "grey.png"
    cv2.imwrite(str(path), grey)
    portrait = load_portrait(path, face_tracker)
    frames = _stream(animator, portrait, _motions(portrait, demo_landmarks, 12))
    assert frames
    for frame in frames:
        channels = frame.image.astype(np.int16)
        assert np.abs(channels - channels.mean(axis=2, keepdims=True)).max() <= 1  # no red lips, no tint


def test_the_animator_crops_the_portrait_at_the_face_size_the_model_was_trained_on(animator, demo_frames,
                                                                                   demo_landmarks):
    """prepare's clip crops and the app's portrait crop put the face at the same size (a 1.4x mismatch cost
    Knot Forcing 1-2 dB against its own warp prior)."""
    from engine.animator import Portrait
    from engine.data.prepare import _clip_from_frames
    from engine.face import topology as topo

    def extent(landmarks: np.ndarray) -> float:
        oval = landmarks[list(topo.FACE_OVAL), :2]
        return float((oval.max(axis=0) - oval.min(axis=0)).max())

    cfg = animator.cfg
    clip = _clip_from_frames(demo_frames, demo_landmarks, cfg.resolution, cfg.crop_scale, {})
    trained = np.median([extent(lm) for lm in clip.landmarks])
    animator.set_portrait(Portrait(demo_frames[0], demo_landmarks[0]))
    shown = extent(animator.box.to_crop(demo_landmarks[0], cfg.resolution))
    assert abs(shown / trained - 1) < 0.1
    assert abs(trained / cfg.resolution - 1 / cfg.crop_scale) < 0.02  # the face fills 1/crop_scale of the crop
