"""The driving face is tracked on its own thread (app/tracking.py), beside generation, with real mediapipe."""

from __future__ import annotations

import threading

import numpy as np

from app.testing import prepare_qt_environment

prepare_qt_environment()

from app.engine_choice import AnimatorChoice, BuiltAnimator, build_animator  # noqa: E402
from app.queues import DropOldestQueue  # noqa: E402
from app.tracking import TrackingWorker  # noqa: E402
from app.workers import GenerationWorker  # noqa: E402
from engine.face.tracker import FaceTracker  # noqa: E402


def test_tracking_worker_tracks_every_frame_in_order_like_a_tracker_on_one_thread(qtbot, demo_frames):
    frames_in, tracked = DropOldestQueue(32), DropOldestQueue(32)
    for i, frame in enumerate(demo_frames[:12]):
        frames_in.put((frame, i / 30))
    worker = TrackingWorker(frames_in, tracked)
    worker.start()
    try:
        qtbot.waitUntil(lambda: worker.frames_tracked == 12, timeout=20000)
    finally:
        assert worker.stop(5000)
    items = [tracked.get(0.01) for _ in range(12)]
    assert [t for _, t, _ in items] == [i / 30 for i in range(12)]
    with FaceTracker() as tracker:
        expected = [tracker.track(frame) for frame in demo_frames[:12]]
    for (_, _, landmarks), want in zip(items, expected, strict=True):
        assert landmarks.shape == (478, 3) and np.abs(landmarks[:, :2] - want[:, :2]).max() < 1.0


def test_generation_animates_on_its_thread_what_tracking_found_on_another(qtbot, monkeypatch, default_portrait,
                                                                          demo_frames):
    track_threads, push_threads, pushed, found = set(), set(), [], []
    track = FaceTracker.track

    def tracked(self, frame):
        track_threads.add(threading.get_ident())
        found.append(track(self, frame))
        return found[-1]

    monkeypatch.setattr(FaceTracker, "track", tracked)

    def build(choice: AnimatorChoice) -> BuiltAnimator:
        built = build_animator(choice)
        push = built.animator.push

        def recorded(motion):
            push_threads.add(threading.get_ident())
            pushed.append(motion)
            return push(motion)

        built.animator.push = recorded
        return built

    frames_in, frames_out = DropOldestQueue(64), DropOldestQueue(64)
    generation = GenerationWorker(frames_in, frames_out, AnimatorChoice("warp"), build=build)
    generation.set_portrait(default_portrait)
    with qtbot.waitSignal(generation.calibrating_changed, timeout=20000):  # the portrait is on: frames count
        generation.start()
    try:
        for i, frame in enumerate(demo_frames[:6]):
            frames_in.put((frame, i / 30))
            qtbot.waitUntil(lambda i=i: len(pushed) == i + 1, timeout=20000)
    finally:
        assert generation.stop(5000)
    assert len(track_threads) == 1 and len(push_threads) == 1 and track_threads != push_threads
    assert threading.get_ident() not in track_threads | push_threads
    assert len(found) == 6 and all(lm is not None for lm in found)
    assert not generation.tracking.isRunning()  # stopped with generation
