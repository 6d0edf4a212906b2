"""Faults upstream of the animator, through the real pipeline (mediapipe on the demo clip, the warp animator):
no face in the driving frame, a face that leaves and returns, a driving video that ends or is corrupt."""

import logging

import numpy as np
import pytest

from engine.errors import VideoSourceError
from engine.face.tracker import FaceTracker
from engine.pipeline import AvatarPipeline
from engine.video import VideoFileSource
from engine.warp import WarpAnimator
from main import main
from tests.conftest import DEMO_CLIP

FPS = 29.97


def faceless(frame: np.ndarray) -> np.ndarray:
    """The driving frame with nobody in it: a flat grey picture of its size."""
    return np.full_like(frame, 127)


def run_pipeline(portrait, frames: list[np.ndarray]) -> tuple[list, list]:
    """Drive a fresh tracker + retargeter + warp animator; returns the avatar frames and the motions."""
    motions = []
    animator = WarpAnimator()
    push = animator.push
    animator.push = lambda motion: motions.append(motion) or push(motion)  # observe what reaches the animator
    with FaceTracker() as tracker:
        pipeline = AvatarPipeline(animator, tracker)
        pipeline.set_portrait(portrait)
        out = [f for i, frame in enumerate(frames) for f in pipeline.process(frame, i / FPS)]
    return out, motions


def test_no_face_holds_the_last_pose_then_eases_to_neutral_without_logging(default_portrait, demo_frames, caplog):
    gap = 150  # five seconds without a face
    frames = demo_frames[:60] + [faceless(demo_frames[0])] * gap
    with caplog.at_level(logging.DEBUG):
        out, motions = run_pipeline(default_portrait, frames)
    assert len(out) == len(frames)  # one avatar frame per driving frame, face or not
    assert [m.face_visible for m in motions[59:62]] == [True, False, False]
    assert np.array_equal(out[60].image, out[59].image)  # the last pose is held, not dropped
    neutral = default_portrait.image.astype(float)
    held_diff = np.abs(out[59].image - neutral).mean()
    final_diff = np.abs(out[-1].image - neutral).mean()
    assert final_diff < 0.25 * held_diff  # five seconds later the avatar is back near its neutral face
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith(("engine", "app"))]


@pytest.fixture(scope="module")
def normal_motion(default_portrait, demo_frames) -> float:
    """The largest landmark move from one frame to the next while the whole demo clip is tracked."""
    _, motions = run_pipeline(default_portrait, demo_frames)
    track = np.stack([m.landmarks for m in motions]).astype(float)
    return float(np.linalg.norm(np.diff(track, axis=0), axis=2).max())


@pytest.mark.parametrize(("gap", "back_at"), [(10, 70), (60, 100)])  # the head is turned away at both returns
def test_face_returning_after_leaving_moves_no_more_than_normal_motion(default_portrait, demo_frames, normal_motion,
                                                                       gap, back_at):
    frames = demo_frames[: back_at - gap] + [faceless(demo_frames[0])] * gap + demo_frames[back_at:]
    _, motions = run_pipeline(default_portrait, frames)
    track = np.stack([m.landmarks for m in motions]).astype(float)  # (F, 478, 2)
    step = np.linalg.norm(np.diff(track, axis=0), axis=2).max(axis=1)  # largest landmark move per frame
    visible = np.array([m.face_visible for m in motions])
    returned = int(np.argmax(~visible[:-1] & visible[1:])) + 1  # the first frame with the face back
    assert step[returned - 1 : returned + 10].max() <= normal_motion


def test_driving_video_at_its_end_loops_to_the_first_frame():
    with VideoFileSource(DEMO_CLIP, loop=True) as source:
        frames = [source.read() for _ in range(source.frame_count + 1)]
    assert all(f is not None for f in frames)
    assert np.array_equal(frames[-1], frames[0])


def test_truncated_driving_video_raises_a_clear_video_source_error(tmp_path):
    broken = tmp_path / "half.mp4"
    broken.write_bytes(DEMO_CLIP.read_bytes()[: DEMO_CLIP.stat().st_size // 2])  # the index is at the end
    with pytest.raises(VideoSourceError, match="half.mp4 is not a video file that can be read"):
        VideoFileSource(broken, loop=True)


def test_render_with_a_corrupt_driving_video_says_one_sentence_and_writes_nothing(tmp_path, capsys):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    out = tmp_path / "out.mp4"
    assert main(["render", "--driving", str(corrupt), "--out", str(out), "--frames", "5"]) == 2
    err = capsys.readouterr().err
    assert "corrupt.mp4 is not a video file that can be read" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == [corrupt]

