"""The soak, short: the full pipeline (demo clip looped -> tracker -> Knot Forcing tiny -> a discarding sink)
for a few dozen frames; the KV cache and the animator's queues keep their sizes from record to record.
The 10,000-frame run is `python main.py soak` (benchmarks/soak.json)."""

import json

import pytest

from engine.assets import default_weights_path
from engine.bench.soak import DiscardSink, growth, soak
from engine.face.tracker import FaceTracker
from engine.knot.knot_animator import load_default_knot_animator
from engine.pipeline import AvatarPipeline
from engine.video import VideoFileSource
from main import main
from tests.conftest import DEMO_CLIP

needs_tiny = pytest.mark.skipif(not default_weights_path("tiny").is_file(), reason="tiny weights not installed")


@pytest.fixture(scope="module")
def records(default_portrait) -> list[dict]:
    knot = load_default_knot_animator("tiny", "cpu")
    with FaceTracker() as tracker, VideoFileSource(DEMO_CLIP, loop=True) as source:
        pipeline = AvatarPipeline(knot, tracker)
        pipeline.set_portrait(default_portrait)
        return soak(pipeline, source, frames=36, every=6, sink=DiscardSink())


@needs_tiny
def test_kv_cache_keeps_its_shapes_bytes_and_storage_for_the_whole_soak(records):
    fields = ("cache_bytes", "cache_shapes", "cache_storage", "knot_latents")
    assert len(records) == 6
    assert all({f: r[f] for f in fields} == {f: records[0][f] for f in fields} for r in records)


@needs_tiny
def test_window_fills_once_and_then_stays_full(records):
    assert [r["window_frames_filled"] for r in records[2:]] == [6] * 4


@needs_tiny
def test_queues_stay_the_same_length_and_nothing_is_lost(records):
    queues = ("animator_queue_max", "streamer_pending_max")
    assert all({q: r[q] for q in queues} == {q: records[1][q] for q in queues} for r in records[1:])
    assert records[1]["animator_queue_max"] <= 4  # at most one chunk (K + k frames) waits
    assert all(r["frame"] - r["frames_out"] <= 4 for r in records)  # every other frame reached the sink
    assert all(r["chunk_ms_history"] <= 64 for r in records)


def test_growth_is_measured_from_frame_1000_to_the_last_record():
    rows = [{"frame": f, "rss_mb": 500.0 + f / 1000, "gc_objects": 1000, "fps": 20.0} for f in range(500, 10_001, 500)]
    g = growth(rows)
    assert (g["from_frame"], g["to_frame"]) == (1000, 10_000)
    assert g["rss"] == pytest.approx(9 / 501, abs=1e-4) and g["gc_objects"] == 0 and g["fps"] == 0


def test_soak_command_writes_its_records_and_the_machine(tmp_path, capsys):
    out = tmp_path / "soak.json"
    assert main(["soak", "--animator", "warp", "--frames", "20", "--every", "10", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert [r["frame"] for r in result["records"]] == [10, 20]
    assert all(r["rss_mb"] > 0 and r["gc_objects"] > 0 and r["fps"] > 0 for r in result["records"])
    assert result["machine"]["cpu_count"] >= 1 and "frame     20" in capsys.readouterr().out
