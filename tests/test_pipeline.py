"""AvatarPipeline end to end on the demo clip: real tracker, retargeter and warp animator."""

from __future__ import annotations

import numpy as np
import pytest

from engine.face import topology as topo
from engine.face.head_pose import head_pose
from engine.face.tracker import FaceTracker
from engine.pipeline import AvatarPipeline
from engine.warp import WarpAnimator

NEUTRAL, MOUTH_OPEN = 96, 103  # demo-clip frames: mouth closed / mouth open


def _mouth_height(landmarks: np.ndarray) -> float:
    """Outer-lip height over mouth width, in the head's frame (the tracker finds lip edges on skin reliably)."""
    head = head_pose(landmarks).to_head(landmarks)
    upper, lower = list(topo.OUTER_LIP_UPPER[3:8]), list(topo.OUTER_LIP_LOWER[3:8])
    height = np.linalg.norm(head[upper, :2] - head[lower, :2], axis=1).mean()
    return float(height / np.linalg.norm(head[61, :2] - head[291, :2]))


def test_pipeline_without_portrait_refuses_to_run(demo_frames):
    with FaceTracker() as tracker:
        with pytest.raises(RuntimeError):
            AvatarPipeline(WarpAnimator(), tracker).process(demo_frames[0], 0.0)


def test_every_driving_frame_gives_one_avatar_frame(default_portrait, demo_frames):
    with FaceTracker() as tracker:
        pipeline = AvatarPipeline(WarpAnimator(), tracker)
        pipeline.set_portrait(default_portrait)
        frames = [f for i, frame in enumerate(demo_frames[:10]) for f in pipeline.process(frame, i / 30)]
        assert pipeline.last_landmarks is not None and pipeline.last_landmarks.shape == (478, 3)
    assert [f.index for f in frames] == list(range(10))
    assert frames[0].image.shape == default_portrait.image.shape


def test_first_frame_is_the_neutral_and_returns_the_portrait(default_portrait, demo_frames):
    with FaceTracker() as tracker:
        pipeline = AvatarPipeline(WarpAnimator(), tracker)
        pipeline.set_portrait(default_portrait)
        first = pipeline.process(demo_frames[0], 0.0)[0]
    assert np.abs(first.image.astype(int) - default_portrait.image).max() <= 1


def test_driving_mouth_opening_opens_the_avatar_mouth_as_much(default_portrait, demo_frames, face_tracker):
    with FaceTracker(static_image_mode=True) as tracker:
        pipeline = AvatarPipeline(WarpAnimator(), tracker)
        pipeline.set_portrait(default_portrait)
        pipeline.process(demo_frames[NEUTRAL], 0.0)
        neutral_driving = pipeline.last_landmarks
        out = pipeline.process(demo_frames[MOUTH_OPEN], 1.0)[0]
        open_driving = pipeline.last_landmarks
    seen = face_tracker.detect(out.image)

    wanted = _mouth_height(open_driving) - _mouth_height(neutral_driving)
    got = _mouth_height(seen) - _mouth_height(default_portrait.landmarks)
    assert wanted > 0.25
    assert got == pytest.approx(wanted, rel=0.25)


def test_set_animator_keeps_the_portrait(default_portrait, demo_frames):
    with FaceTracker() as tracker:
        pipeline = AvatarPipeline(WarpAnimator(), tracker)
        pipeline.set_portrait(default_portrait)
        pipeline.set_animator(WarpAnimator())
        assert len(pipeline.process(demo_frames[0], 0.0)) == 1
