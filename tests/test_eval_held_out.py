"""Held-out self-reenactment scoring: face and mouth boxes, the stillest frames, flicker, and the table."""

from __future__ import annotations

import math

import cv2
import numpy as np

from engine.eval.held_out import HeldOutScores, compare_with_warp, face_box, mouth_box, score_clip, still_frames, table
from engine.eval.systems import DrivingClip


def _clip(demo_frames, demo_landmarks, n: int = 30) -> DrivingClip:
    return DrivingClip(demo_frames[:n], np.stack(demo_landmarks[:n]).astype(np.float32), 30.0, 0.0)


def test_the_mouth_box_lies_inside_the_face_box_on_a_real_face(demo_frames, demo_landmarks):
    face = face_box(demo_landmarks[0], demo_frames[0].shape)
    mouth = mouth_box(demo_landmarks[0], demo_frames[0].shape)
    assert face[0].start <= mouth[0].start < mouth[0].stop <= face[0].stop + 2
    assert face[1].start <= mouth[1].start < mouth[1].stop <= face[1].stop


def test_the_stillest_frames_are_those_with_the_least_landmark_motion():
    rng = np.random.default_rng(0)
    base = rng.uniform(50, 150, (478, 2))
    tracks = np.stack([base + (0 if i in (5, 6, 7) else rng.normal(0, 3, (478, 2))) for i in range(20)])
    tracks[6], tracks[7] = tracks[5], tracks[5]  # frames 6 and 7 do not move from the frame before
    assert set(still_frames(tracks, share=0.15)) == {6, 7}  # 2 of the 19 frame pairs


def test_a_copy_of_the_truth_scores_infinite_psnr_and_a_still_output_has_no_flicker(demo_frames, demo_landmarks):
    clip = _clip(demo_frames, demo_landmarks)
    truth = score_clip(dict(enumerate(clip.frames)), clip, 3)
    assert math.isinf(truth.values["face_psnr"]) and truth.values["face_ssim"] > 0.999
    still = score_clip({i: clip.frames[0] for i in range(len(clip.frames))}, clip, 3)
    assert still.values["flicker"] == 0.0 and still.values["face_psnr"] < 40
    noisy = {i: np.clip(f.astype(int) + np.random.default_rng(i).integers(-20, 21, f.shape), 0, 255).astype(np.uint8)
             for i, f in enumerate(clip.frames)}
    shimmer = score_clip(noisy, clip, 3)
    assert shimmer.values["flicker"] > truth.values["flicker"] + 5
    soft = score_clip({i: cv2.GaussianBlur(f, (0, 0), 1.5) for i, f in enumerate(clip.frames)}, clip, 3)
    assert truth.values["sharpness_vs_real"] == 1.0 and soft.values["sharpness_vs_real"] < 0.7
    assert shimmer.values["sharpness_vs_real"] > 1.5  # noise reads as detail: the column is read beside flicker
    assert set(truth.tiles) == {"open mouth", "blink", "head turn", "chunk border"}


def test_systems_are_compared_with_the_warp_and_tabled_per_clip(demo_frames, demo_landmarks):
    clip = _clip(demo_frames, demo_landmarks)
    warp = score_clip(dict(enumerate(clip.frames)), clip, 3)
    other = score_clip({i: np.roll(f, 2, axis=1) for i, f in enumerate(clip.frames)}, clip, 3)
    systems: dict[str, HeldOutScores] = {"warp": warp, "knot": other}
    compare_with_warp(systems)
    assert 10 < other.values["vs_warp_psnr"] < 60 and math.isinf(warp.values["vs_warp_psnr"])
    lines = table({"carphone": systems}).splitlines()
    assert len(lines) == 4 and lines[3].startswith("| carphone | knot |")
