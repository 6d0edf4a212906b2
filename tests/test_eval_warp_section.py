"""The report's warp section on the real carphone clip: moments chosen by pose, the before/after sheet, the
numbers, and both warps leaving the portrait as it is when nothing moves."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from engine.eval.scoring import TILE
from engine.eval.systems import DrivingClip, retarget_clip, run_animator
from engine.eval.warp_section import (
    MOMENTS,
    compare_clip,
    face_measures,
    most_turned,
    pick_moments,
    warp_animators,
    warp_section,
    write_sheet,
)
from engine.face.head_pose import head_pose


@pytest.fixture(scope="module")
def carphone(demo_frames, demo_landmarks, face_tracker):
    """The held-out carphone clip as the report uses it: tracked clip, frame 0 as portrait, its own motion."""
    from engine.face.portrait import load_portrait

    nan = np.full((478, 3), np.nan, np.float32)
    landmarks = np.stack([nan if lm is None else lm for lm in demo_landmarks]).astype(np.float32)
    clip = DrivingClip(demo_frames, landmarks, 30.0, math.nan)
    portrait = load_portrait(demo_frames[0], face_tracker, name="carphone frame 0")
    return clip, portrait, retarget_clip(portrait, clip, len(demo_frames))


def test_the_chosen_frames_are_the_clips_extremes_of_pose_and_openness(carphone):
    clip = carphone[0]
    picks = pick_moments(face_measures(clip.landmarks))
    assert list(picks) == list(MOMENTS) and 0 not in picks.values()  # frame 0 is the portrait
    poses = {i: head_pose(lm) for i, lm in enumerate(clip.landmarks) if i > 0 and np.isfinite(lm).all()}
    yaw = {i: p.yaw for i, p in poses.items()}
    scale = {i: p.scale for i, p in poses.items()}
    assert picks["turn left"] == min(yaw, key=yaw.get) and picks["turn right"] == max(yaw, key=yaw.get)
    assert picks["lean back"] == min(scale, key=scale.get) and picks["lean in"] == max(scale, key=scale.get)
    assert yaw[picks["turn right"]] - yaw[picks["turn left"]] > 10  # carphone turns both ways
    measures = face_measures(clip.landmarks)
    assert measures.mouth[picks["open mouth"]] == np.nanmax(measures.mouth[1:])
    assert measures.eyes[picks["blink"]] == np.nanmin(measures.eyes[1:])
    assert measures.eyes[picks["blink"]] < 0.6 * np.nanmedian(measures.eyes)  # a real blink, not noise


def test_the_most_turned_frames_are_those_furthest_from_the_portraits_yaw(carphone):
    measures = face_measures(carphone[0].landmarks)
    picked = most_turned(measures)
    turn = np.abs(measures.yaw[1:] - measures.yaw[0])
    assert len(picked) == round(0.2 * len(turn)) and np.isfinite(turn[picked]).all()
    assert turn[picked].min() >= np.nanmax(np.delete(turn, picked))  # no frame left out turns further
    assert np.argmax(np.abs(measures.yaw[1:] - measures.yaw[0])) in picked


def test_the_sheet_has_a_row_per_moment_and_real_before_after_columns(carphone, tmp_path):
    comparison = compare_clip(*carphone)
    assert [name for name, _ in comparison.columns] == ["real", "before", "after"]
    for _, tiles in comparison.columns:
        assert len(tiles) == 6 and all(t.shape == (TILE, TILE, 3) for t in tiles)
    write_sheet(comparison, "carphone", tmp_path / "warp_carphone.png")
    sheet = cv2.imread(str(tmp_path / "warp_carphone.png"))
    assert sheet.shape[:2] == (1100, 510)  # plots.contact_sheet: 1.75 in a row + title, 1.7 in a column, 100 dpi
    before, after = (dict(comparison.columns)[w] for w in ("before", "after"))
    turns = [MOMENTS.index("turn left"), MOMENTS.index("turn right")]
    assert all(np.abs(before[r].astype(int) - after[r]).mean() > 1.0 for r in turns)  # the warps differ visibly


def test_the_section_writes_a_sheet_per_clip_and_a_before_after_table(carphone, tmp_path):
    section = warp_section(tmp_path, {"carphone": carphone})
    assert (tmp_path / "warp_carphone.png").stat().st_size > 10_000
    assert "## Warp prior: before / after" in section.markdown and "(warp_carphone.png)" in section.markdown
    rows = [line for line in section.markdown.splitlines() if line.startswith(("| before", "| after"))]
    assert len(rows) == 2
    numbers = section.results["clips"]["carphone"]
    for warp in ("before", "after"):
        keys = ("tear_all", "tear_turned", "tear_turn_left", "tear_turn_right", "mouth", "eyes", "pose", "jitter")
        assert all(math.isfinite(numbers[warp][k]) for k in keys), numbers[warp]
        assert 0 <= numbers[warp]["tear_turn_left"] <= 1 and numbers[warp]["pose"] < 0.2


def test_with_no_motion_both_warps_return_the_portrait(carphone):
    portrait = carphone[1]
    still = DrivingClip([portrait.image] * 3, np.stack([portrait.landmarks] * 3), 30.0, math.nan)
    motions = retarget_clip(portrait, still, 3)
    for name, animator in warp_animators().items():
        run = run_animator(animator, portrait, motions, lambda i: True)
        for frame in run.frames.values():
            diff = np.abs(frame.astype(int) - portrait.image)
            assert diff.mean() < 0.1 and diff.max() <= 2, name
