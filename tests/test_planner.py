"""Warp plans made ahead in worker processes (engine/warp/planner.py) are the plans made in line, in order, and
an animator planning ahead gives the frames of one that does not."""

from __future__ import annotations

import numpy as np
import pytest

from engine.face.retarget import Retargeter
from engine.warp import build_mesh
from engine.warp.mesh import plan_warp
from engine.warp.mouth import MouthStyle
from engine.warp.planner import WarpPlanner


def _motions(portrait, demo_landmarks, count: int, start: int = 0):
    retargeter = Retargeter(portrait.landmarks)
    return [retargeter.retarget(lm, t / 30.0) for t, lm in enumerate(demo_landmarks[start:start + count])]


def _same_plan(a, b) -> bool:
    if a is None or b is None:
        return a is b
    if (a.source is None) != (b.source is None) or (a.layer is None) != (b.layer is None):
        return False
    same = True
    if a.source is not None:
        same &= a.source.box == b.source.box and np.array_equal(a.source.coarse, b.source.coarse)
        same &= all(pa[:2] == pb[:2] and np.array_equal(pa[2], pb[2])
                    for pa, pb in zip(a.source.patches, b.source.patches, strict=True))
    if a.layer is not None:
        same &= a.layer.box == b.layer.box and all(
            np.array_equal(getattr(a.layer, k), getattr(b.layer, k)) for k in ("sample_map", "gain", "tint", "alpha"))
    return bool(same)


def test_plans_from_the_workers_are_the_plans_made_in_line_in_the_order_asked(default_portrait, demo_landmarks):
    mesh = build_mesh(default_portrait.landmarks[:, :2], default_portrait.image.shape[:2])
    style = MouthStyle.of(default_portrait.image, default_portrait.landmarks[:, :2])
    motions = _motions(default_portrait, demo_landmarks, 16, start=20)
    targets = [default_portrait.landmarks[:, :2]] + [m.landmarks for m in motions]  # the first: no motion
    with WarpPlanner(mesh, style, workers=2) as planner:
        futures = [planner.submit(t) for t in targets]
        results = [f.result(timeout=120) for f in futures]
    plans = [plan for plan, _ in results]
    assert all(also is None for _, also in results)  # no other work was asked for
    assert plans[0] is None  # the portrait's own landmarks: the portrait itself
    assert sum(p is not None and p.source is not None for p in plans) >= 12  # the clip moves the head
    assert all(_same_plan(p, plan_warp(mesh, t, style)) for p, t in zip(plans, targets, strict=True))


def test_the_workers_also_do_the_crop_side_work_of_each_frame_as_in_line(default_portrait, demo_landmarks):
    """Knot Forcing's motion map and paste mask, handed to the planner (`also`), come back with each plan, in
    order, equal to the ones made in line, and they follow the frame's landmarks."""
    from engine.face.crop import CropBox
    from engine.knot.frame_prep import FramePrep

    mesh = build_mesh(default_portrait.landmarks[:, :2], default_portrait.image.shape[:2])
    style = MouthStyle.of(default_portrait.image, default_portrait.landmarks[:, :2])
    prep = FramePrep(CropBox.from_landmarks(default_portrait.landmarks, 2.2), 128, 64)
    targets = [m.landmarks for m in _motions(default_portrait, demo_landmarks, 8, start=20)]
    with WarpPlanner(mesh, style, workers=2, also=prep) as planner:
        results = [f.result(timeout=120) for f in [planner.submit(t) for t in targets]]
    for (plan, crop), target in zip(results, targets, strict=True):
        mine = prep(target)
        assert _same_plan(plan, plan_warp(mesh, target, style))
        assert crop.motion_map.shape == (3, 64, 64) and crop.mask.shape == (128, 128)
        assert np.array_equal(crop.motion_map, mine.motion_map) and np.array_equal(crop.mask, mine.mask)
    maps = [crop.motion_map for _, crop in results]
    assert max(np.abs(maps[0] - m).max() for m in maps[1:]) > 0.5  # the frames differ: each has its own map


def test_a_planner_needs_a_worker(default_portrait):
    mesh = build_mesh(default_portrait.landmarks[:, :2], default_portrait.image.shape[:2])
    with pytest.raises(ValueError):
        WarpPlanner(mesh, MouthStyle.of(default_portrait.image, default_portrait.landmarks[:, :2]), workers=0)


def test_an_animator_planning_ahead_answers_that_many_frames_later(default_portrait, demo_landmarks):
    from engine.animator_factory import AnimatorSpec, load_animator

    motions = _motions(default_portrait, demo_landmarks, 11, start=40)
    runs = {}
    for ahead in (0, 2):
        animator = load_animator(AnimatorSpec("knot", "tiny", plan_ahead=ahead))
        assert animator.lookahead_frames == animator.streamer.cfg.knot_frames + ahead
        animator.set_portrait(default_portrait)
        try:
            animator.push(motions[0])
            animator.set_portrait(default_portrait)  # a new portrait restarts the stream and the planner
            counts = [len(animator.push(m)) for m in motions]
            flushed = len(animator.flush())
        finally:
            animator.close()
        assert animator._planner is None
        runs[ahead] = (counts, flushed)
    (counts0, flushed0), (counts2, flushed2) = runs[0], runs[2]
    assert counts2 == [0, 0] + counts0[:-2]  # every chunk two frames later
    assert sum(counts0) + flushed0 == sum(counts2) + flushed2 == len(motions)  # the end of a file: all out


def test_planning_ahead_changes_no_frame(default_portrait, demo_landmarks):
    from engine.animator_factory import AnimatorSpec, load_animator

    motions = _motions(default_portrait, demo_landmarks, 10, start=40)
    runs = []
    for ahead in (0, 3):
        animator = load_animator(AnimatorSpec("knot", "tiny", plan_ahead=ahead))
        animator.set_portrait(default_portrait)
        try:
            runs.append([f for m in motions for f in animator.push(m)] + animator.flush())
        finally:
            animator.close()
    plain, ahead = runs
    assert [f.index for f in ahead] == [f.index for f in plain] == list(range(10))
    assert [f.timestamp for f in ahead] == [f.timestamp for f in plain]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(plain, ahead, strict=True))


def test_on_the_device_path_planning_ahead_also_hands_each_chunk_out_with_the_next(default_portrait,
                                                                                   demo_landmarks):
    """The device path, planning ahead, queues a chunk's download and hands it out one chunk later (its copy
    overlaps the next chunk's work), the same frames; run here on the CPU device, the code a GPU runs."""
    from engine.animator_factory import AnimatorSpec, load_animator

    motions = _motions(default_portrait, demo_landmarks, 12, start=40)
    runs = {}
    for ahead in (0, 2):
        animator = load_animator(AnimatorSpec("knot", "tiny", plan_ahead=ahead))
        animator.frames_on_device = True
        k, big_k = animator.streamer.cfg.knot_frames, animator.streamer.cfg.chunk_frames
        assert animator.lookahead_frames == k + (ahead + big_k if ahead else 0)
        assert animator.defers_download == bool(ahead)
        animator.set_portrait(default_portrait)
        try:
            outs = [animator.push(m) for m in motions]
            frames = [f for out in outs for f in out] + animator.flush()
        finally:
            animator.close()
        runs[ahead] = ([len(out) for out in outs], frames)
    (counts0, frames0), (counts2, frames2) = runs[0], runs[2]
    shift = 2 + big_k  # the plans made ahead, then one chunk held while its copy runs
    assert counts2 == [0] * shift + counts0[:-shift]
    assert [f.index for f in frames2] == [f.index for f in frames0] == list(range(len(motions)))
    assert all(np.array_equal(a.image, b.image) for a, b in zip(frames0, frames2, strict=True))
