"""`python main.py soak`: run the full pipeline for many frames and record whether anything grows.

    demo clip (looped) -> FaceTracker -> Retargeter -> Knot Forcing animator -> a sink that discards

Every `--every` frames it records: process RSS, live Python objects (gc), the animator's queues (driving
frames waiting for their chunk, frames pending in the streamer, the chunk-time history), the KV cache's
bytes and its tensors' storage addresses, frames in and out, and fps over the last interval. The summary
gives the growth from frame 1,000 to the last frame (targets: memory < 1 %, fps < 5 %). Writes
`--out` (default runs/bench/soak.json) with the machine description.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from engine.assets import BENCH_RESULTS_DIR

DEFAULT_OUT = BENCH_RESULTS_DIR / "soak.json"
BASELINE_FRAME = 1_000  # growth is measured from here: start-up allocations are done by then


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the soak subcommand."""
    parser.add_argument("--frames", type=int, default=10_000, help="driving frames (default: %(default)s)")
    parser.add_argument("--every", type=int, default=500, help="record every N frames (default: %(default)s)")
    parser.add_argument("--animator", choices=("knot", "warp"), default="knot", help="animator (default: knot)")
    parser.add_argument("--preset", default="tiny", help="Knot Forcing preset (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="torch device: cpu or cuda")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results JSON (default: %(default)s)")


class DiscardSink:
    """A frame sink that counts what it is sent and keeps nothing."""

    def __init__(self) -> None:
        self.frames = 0

    def send(self, image) -> None:
        """Count one (H, W, 3) frame."""
        self.frames += 1

    def close(self) -> None:
        """Nothing to release."""


def queue_lengths(animator) -> dict:
    """Lengths of the animator's queue now: driving frames pushed and not yet answered (they wait in the
    streamer, the stream's only per-frame queue; reported under both names the records have always used)."""
    streamer = getattr(animator, "streamer", None)
    if streamer is None:
        return {}
    return {"animator_queue": len(streamer.pending), "streamer_pending": len(streamer.pending)}


def cache_state(animator) -> dict:
    """Sizes that must not change with the stream's length: the KV cache and the bounded histories.

    Values are strings and numbers only, so a record is not itself a container the gc counts: the live-object
    count of later records does not grow with the records kept so far.
    """
    streamer = getattr(animator, "streamer", None)
    if streamer is None:
        return {}
    cache = streamer.cache
    tensors = (cache.ref_k, cache.ref_v, cache.win_k, cache.win_v)
    knot = streamer.knot_latents
    return {
        "cache_bytes": cache.nbytes(),
        "cache_shapes": ", ".join("x".join(map(str, t.shape)) for t in tensors),
        "cache_storage": ", ".join(hex(t.data_ptr()) for t in tensors),  # the same addresses: never reallocated
        "window_frames_filled": cache.filled_frames,
        "knot_latents": "x".join(map(str, knot.shape)) if knot is not None else "",
        "chunk_ms_history": len(streamer.chunk_ms),
    }


def soak(pipeline, source, frames: int, every: int, sink: DiscardSink | None = None,
         on_record: Callable[[dict], None] | None = None) -> list[dict]:
    """Push `frames` driving frames through `pipeline` into `sink`; a record every `every` frames.

    `pipeline` is an AvatarPipeline with its portrait set; `source` a looping VideoFileSource; `on_record`
    sees each record as it is made (progress).
    """
    import psutil

    process = psutil.Process()
    sink = sink or DiscardSink()
    records = []
    longest: dict[str, int] = {}
    window_start = time.perf_counter()
    for i in range(1, frames + 1):
        for frame in pipeline.process(source.read(), time.monotonic()):
            sink.send(frame.image)
        for name, length in queue_lengths(pipeline.animator).items():
            longest[name] = max(longest.get(name, 0), length)
        if i % every == 0 or i == frames:
            now = time.perf_counter()
            gc.collect()  # count live objects, not garbage waiting for the next collection
            records.append({
                "frame": i,
                "frames_out": sink.frames,
                "fps": round(min(every, i - (records[-1]["frame"] if records else 0)) / (now - window_start), 2),
                "rss_mb": round(process.memory_info().rss / 2**20, 2),
                "gc_objects": len(gc.get_objects()),
                "load_average_1min": round(os.getloadavg()[0], 2),  # other processes sharing the CPU
                **{f"{name}_max": length for name, length in longest.items()},  # longest in this interval
                **cache_state(pipeline.animator),
            })
            longest = {}
            if on_record is not None:
                on_record(records[-1])
            window_start = time.perf_counter()  # the gc pass above is not counted in the next interval's fps
    return records


def growth(records: list[dict], baseline_frame: int = BASELINE_FRAME) -> dict | None:
    """Relative change of RSS, live objects and fps from the record at `baseline_frame` to the last one."""
    base = next((r for r in records if r["frame"] >= baseline_frame), None)
    last = records[-1] if records else None
    if base is None or last is None or last is base:
        return None
    return {"from_frame": base["frame"], "to_frame": last["frame"],
            "rss": round(last["rss_mb"] / base["rss_mb"] - 1, 4),
            "gc_objects": round(last["gc_objects"] / base["gc_objects"] - 1, 4),
            "fps": round(last["fps"] / base["fps"] - 1, 4),
            "targets": {"rss": "< 0.01", "fps": "> -0.05"}}


def _dumps(result: dict) -> str:
    """JSON with one line per record, so the file reads as a table."""
    rows = ",\n    ".join(json.dumps(r) for r in result["records"])
    return json.dumps({**result, "records": "@records@"}, indent=2).replace('"@records@"', f"[\n    {rows}\n  ]")


def _print_record(record: dict) -> None:
    print(f"  frame {record['frame']:>6}: fps {record['fps']}, rss {record['rss_mb']} MiB, "
          f"objects {record['gc_objects']}, animator queue <= {record.get('animator_queue_max')}", flush=True)


def run(args: argparse.Namespace) -> int:
    """Soak the pipeline, print each record and the growth, write `args.out`."""
    from engine.assets import DEFAULT_PORTRAIT, DEMO_CLIP
    from engine.bench.machine import describe_machine
    from engine.bench.stream import build_animator
    from engine.face.portrait import load_portrait
    from engine.face.tracker import FaceTracker
    from engine.pipeline import AvatarPipeline
    from engine.video import VideoFileSource

    if args.frames < 1 or args.every < 1:
        raise SystemExit("--frames and --every must be at least 1")
    started = time.perf_counter()
    with FaceTracker() as tracker, VideoFileSource(DEMO_CLIP, loop=True) as source:
        pipeline = AvatarPipeline(build_animator(args.animator, args.preset, args.device), tracker)
        pipeline.set_portrait(load_portrait(DEFAULT_PORTRAIT, tracker))
        print(f"soak: {args.animator} {args.preset} on {args.device}, {args.frames} frames", flush=True)
        records = soak(pipeline, source, args.frames, args.every, on_record=_print_record)
    summary = growth(records)
    result = {"what": "demo clip looped -> FaceTracker -> Retargeter -> animator -> discarding sink",
              "animator": args.animator, "preset": args.preset, "device": args.device, "frames": args.frames,
              "every": args.every, "seconds": round(time.perf_counter() - started, 1), "growth": summary,
              "records": records, "date": time.strftime("%Y-%m-%d %H:%M"), "machine": describe_machine(args.device)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(_dumps(result) + "\n")
    if summary:
        print(f"growth from frame {summary['from_frame']} to {summary['to_frame']}: rss {summary['rss']:+.2%}, "
              f"objects {summary['gc_objects']:+.2%}, fps {summary['fps']:+.2%}")
    print(f"wrote {args.out}")
    return 0
