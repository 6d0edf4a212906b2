"""`python main.py bench`, smoke-sized: the figures it promises are in the JSON it writes (no speed is
asserted: speed is what the full run measures, on a stated machine)."""

import json

import pytest

from engine.assets import default_weights_path
from engine.bench.stages import StageTimer
from main import main


@pytest.mark.skipif(not default_weights_path("tiny").is_file(), reason="tiny weights not installed")
def test_knot_bench_writes_fps_chunk_ms_memory_latency_and_stage_shares(tmp_path):
    out = tmp_path / "streamer.json"
    assert main(["bench", "--animator", "knot", "--frames", "25", "--warmup", "7", "--out", str(out)]) == 0
    run = json.loads(out.read_text())["knot-tiny-cpu"]
    assert run["frames"] == 25 and run["frames_out"] == 25 and run["fps"] > 0
    assert set(run["checkpoints"]) == {"25"}  # and 100, 1,000, 10,000 on longer runs
    point = run["checkpoints"]["25"]
    assert point["chunk_ms"]["median"] > 0 and point["rss_mb"] > 0 and point["cuda_mb"] is None
    assert 0 < run["latency_ms"]["median"] <= run["latency_ms"]["p95"]
    stages = run["stages"]
    assert set(stages["share_of_animator"]) == {"warp prior", "codec encode", "motion map", "DiT", "decode + compose"}
    assert sum(stages["share_of_total"].values()) == pytest.approx(1, abs=0.01)
    assert sum(stages["share_of_animator"].values()) == pytest.approx(1, abs=0.01)
    assert run["machine"]["cpu_count"] >= 1 and "load_average_1min" in run["machine"]


def test_warp_bench_adds_its_own_entry_next_to_an_earlier_one(tmp_path):
    out = tmp_path / "streamer.json"
    out.write_text(json.dumps({"knot-tiny-cpu": {"kept": True}}))
    assert main(["bench", "--animator", "warp", "--frames", "5", "--out", str(out)]) == 0
    runs = json.loads(out.read_text())
    assert runs["knot-tiny-cpu"] == {"kept": True}
    assert runs["warp"]["frames_out"] == 5 and runs["warp"]["lookahead_frames"] == 0


def test_stage_timer_counts_calls_and_seconds_of_a_wrapped_method_and_restarts_at_reset():
    class Tracker:
        def track(self, x):
            return x * 2

    tracker, timer = Tracker(), StageTimer()
    timer.wrap(tracker, "track", "tracking")
    assert [tracker.track(i) for i in range(3)] == [0, 2, 4]
    assert timer.calls["tracking"] == 3 and timer.seconds["tracking"] > 0
    timer.reset()
    assert timer.calls["tracking"] == 0 and timer.seconds["tracking"] == 0


def test_bench_replays_recorded_landmarks_with_untrained_weights_of_a_preset(tmp_path, monkeypatch, capsys):
    """The GPU machine's way: mediapipe's answers recorded here, replayed there (base and large ship no
    weights: --random-weights; tiny here, for time)."""
    recording, out = tmp_path / "landmarks.npz", tmp_path / "streamer.json"
    assert main(["bench", "--record-landmarks", str(recording)]) == 0
    assert "recorded 121 answers" in capsys.readouterr().out  # the portrait and the demo clip's 120 frames

    def no_mediapipe(*args, **kwargs):
        raise AssertionError("mediapipe was used although a recording was given")

    monkeypatch.setattr("engine.face.tracker.FaceTracker._make_mesh", no_mediapipe)
    assert main(["bench", "--animator", "knot", "--preset", "tiny", "--random-weights", "--landmarks",
                 str(recording), "--frames", "125", "--warmup", "0", "--out", str(out)]) == 0
    run = json.loads(out.read_text())["knot-tiny-cpu"]
    assert run["frames_out"] == 125  # past the clip's end: the looped frames were found in the recording
    assert run["weights"] == "untrained (speed only)" and run["tracker"].startswith("mediapipe answers replayed")


@pytest.mark.skipif(not default_weights_path("tiny").is_file(), reason="tiny weights not installed")
def test_drift_run_records_the_models_correction_and_sharpness_early_and_late(tmp_path):
    import numpy as np

    from engine.bench.drift import DriftMeter
    from engine.face.portrait import load_portrait
    from engine.face.retarget import Retargeter
    from engine.face.tracker import FaceTracker
    from engine.knot.knot_animator import load_default_knot_animator
    from engine.video import VideoFileSource
    from tests.conftest import DEMO_CLIP, PORTRAITS

    animator = load_default_knot_animator("tiny")
    meter = DriftMeter(animator, 40)
    with FaceTracker() as tracker, VideoFileSource(DEMO_CLIP) as source:
        portrait = load_portrait(PORTRAITS / "astronaut.png", tracker)
        animator.set_portrait(portrait)
        retargeter = Retargeter(portrait.landmarks)
        for i in range(40):
            animator.push(retargeter.retarget(tracker.track(source.read()), i / 30))
    animator.flush()
    assert np.isfinite(meter.correction).all() and (meter.correction > 0).all()  # the model does change the warp
    assert np.isfinite(meter.sharpness).all() and (meter.sharpness > 0).all()
    summary = meter.summary()
    assert summary["early_frames"] == summary["late_frames"] == [0, 39]  # a short stream: one window, clipped
    assert summary["correction_rms"]["late_over_early"] == 1.0


def test_bench_with_tracking_on_a_second_thread_animates_every_frame_in_order(tmp_path):
    out = tmp_path / "streamer.json"
    assert main(["bench", "--animator", "warp", "--frames", "30", "--warmup", "5", "--tracking-thread",
                 "--out", str(out)]) == 0
    run = json.loads(out.read_text())["warp-tracking-thread"]
    assert run["frames"] == run["frames_out"] == 30 and run["tracking_thread"]
    assert "tracking" not in run["stages"]["per_frame_ms"]  # it overlaps the other stages: not timed
    assert 0 < run["latency_ms"]["median"] <= run["latency_ms"]["p95"]
