"""RecordedTracker replays mediapipe's real answers by frame content (for benchmarks on machines without it)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import KnotCamError, NoFaceFoundError
from engine.eval.recorded_tracker import LandmarkRecorder, RecordedTracker, frame_key
from engine.face.portrait import load_portrait
from engine.face.tracker import FaceTracker
from tests.conftest import PORTRAITS


def test_a_recording_replays_the_same_answers_after_a_round_trip_through_a_file(tmp_path, demo_frames):
    frames = demo_frames[:12]
    blank = np.zeros((240, 320, 3), np.uint8)
    with FaceTracker() as tracker:
        recorder = LandmarkRecorder(tracker)
        portrait = load_portrait(PORTRAITS / "astronaut.png", recorder)
        live = [recorder.track(f) for f in frames]
        assert recorder.track(blank) is None
        with pytest.raises(NoFaceFoundError):
            recorder.detect(blank)
    recorder.recording().save(tmp_path / "rec.npz")
    replay = RecordedTracker.load(tmp_path / "rec.npz")

    assert np.array_equal(load_portrait(PORTRAITS / "astronaut.png", replay).landmarks, portrait.landmarks)
    for frame, answer in zip(frames + frames, live + live, strict=True):  # a looped clip finds its frames again
        assert np.array_equal(replay.track(frame.copy()), answer)
    assert replay.track(blank) is None
    with pytest.raises(NoFaceFoundError):
        replay.detect(blank)


def test_an_unrecorded_frame_or_a_bad_file_is_a_clear_error(tmp_path, demo_frames):
    replay = RecordedTracker({frame_key(demo_frames[0]): np.zeros((478, 3), np.float32)})
    assert replay.track(demo_frames[0]) is not None
    shifted = demo_frames[0].copy()
    shifted[0, 0, 0] ^= 1  # one pixel differs: a different frame
    with pytest.raises(KnotCamError, match="not in the landmark recording"):
        replay.track(shifted)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a recording")
    with pytest.raises(KnotCamError, match="not a landmark recording"):
        RecordedTracker.load(bad)
    with pytest.raises(KnotCamError):
        RecordedTracker.load(tmp_path / "missing.npz")
