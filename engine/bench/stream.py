"""`python main.py bench`: the whole pipeline minus the webcam, for many frames, and what each part costs.

    demo clip (looped) -> FaceTracker -> Retargeter -> animator (Knot Forcing or warp) -> discarded

Figures: end-to-end fps; per-chunk ms (KnotStreamer.chunk_ms), process RSS and CUDA memory at frames
100 / 1,000 / 10,000; motion-to-avatar latency (time from reading a driving frame to its avatar frame being
out: median and p95); each stage's share of the time. Stages are timed from the outside by wrapping the
objects' methods on their instances (tracker.track, retargeter.retarget, animator.push and, inside Knot
Forcing, codec.encode, motion_map, streamer.push, compose); the engine itself carries no timing code.
The warp prior is what is left of KnotAnimator.push once the other inner stages are taken out. On a GPU,
BUSY_FRAMES more frames are animated under torch's profiler after the timed run: the share of their wall time
the GPU spent running kernels or copies (engine/bench/gpu_busy.py), with its ms per frame.

The driving frames are read as fast as the pipeline takes them (no pacing; `--pace FPS` paces them like a
live camera), so the latency is the pipeline's own: with a 30 fps camera each frame also waits for the
rest of its chunk to arrive. Results go into `--out` (JSON), one entry per animator/preset/device, other
entries kept, each with the machine description and its load average (the CPU figures are wall-clock).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from engine.assets import BENCH_RESULTS_DIR, DEFAULT_PORTRAIT, DEMO_CLIP, shown
from engine.bench.drift import DriftMeter
from engine.bench.machine import describe_machine  # light: its heavy imports are inside the function
from engine.bench.stages import StageTimer, cuda_mb, instrument, latency_ms, rss_mb, stage_shares
from engine.cli.stream_options import add_stream_arguments, stream_config
from engine.config import get_preset

DEFAULT_OUT = BENCH_RESULTS_DIR / "streamer.json"
CHECKPOINTS = (100, 1_000, 10_000)
WARMUP_FRAMES = 100  # latency and stage shares leave out the first frames (graph and allocator warm-up)
BUSY_FRAMES = 120  # frames animated under the profiler after the timed run, on a GPU: its busy share


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the bench subcommand."""
    parser.add_argument("--animator", choices=("knot", "warp"), default="knot", help="animator (default: knot)")
    parser.add_argument("--frames", type=int, default=10_000, help="driving frames to push (default: %(default)s)")
    parser.add_argument("--preset", default="tiny", help="Knot Forcing preset (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="torch device for Knot Forcing: cpu or cuda")
    parser.add_argument("--portrait", type=Path, default=DEFAULT_PORTRAIT, help="portrait (default: %(default)s)")
    parser.add_argument("--driving", type=Path, default=DEMO_CLIP, help="driving clip (default: %(default)s)")
    parser.add_argument("--pace", type=float, default=0.0,
                        help="read driving frames at this rate like a live camera (default: as fast as possible)")
    parser.add_argument("--warmup", type=int, default=WARMUP_FRAMES,
                        help="first frames left out of latency and stage shares (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results JSON (default: %(default)s)")
    parser.add_argument("--no-stages", action="store_true",
                        help="leave the stage timers out: on a GPU they wait for it around every stage, which "
                             "serialises the CPU and GPU work (use for the end-to-end figure)")
    parser.add_argument("--tracking-thread", action="store_true",
                        help="read and track the driving frames on a second thread, up to two frames ahead, as the "
                             "app does (the tracking stage is then not timed: it overlaps the others)")
    parser.add_argument("--drift", action="store_true",
                        help="also record the model's correction and the frames' sharpness per frame: minute 1 "
                             "against minute 10 (use --frames 18000)")
    parser.add_argument("--frames-on-host", action="store_true",
                        help="on a GPU, warp, crop and paste with OpenCV on the CPU (the path before the device one)")
    parser.add_argument("--plan-ahead", type=int, default=0, metavar="N",
                        help="Knot Forcing: make the warp plans N frames ahead in N worker processes (engine.warp."
                             "planner); N frames more latency, for throughput (default: 0, planned in line)")
    add_stream_arguments(parser)
    parser.add_argument("--random-weights", action="store_true",
                        help="untrained weights of the preset (speed only: for presets that ship no weights)")
    parser.add_argument("--record-landmarks", type=Path, metavar="FILE",
                        help="only track the portrait and the driving clip with mediapipe and save the answers")
    parser.add_argument("--landmarks", type=Path, metavar="FILE",
                        help="replay a --record-landmarks file instead of running mediapipe (for machines "
                             "without it; tracking then costs a lookup)")


# --- building ------------------------------------------------------------------------------------------------
def build_animator(kind: str, preset: str, device: str, random_weights: bool = False, stream=None,
                   plan_ahead: int = 0):
    """The animator to measure, exactly (engine/animator_factory.py: no step-down, no fallback): Knot Forcing
    from the shipped (or untrained) weights of `preset`, or warp."""
    from engine.animator_factory import AnimatorSpec, load_animator

    if kind == "knot" and random_weights:
        import torch

        from engine.bench.model import random_model
        from engine.config import get_preset
        from engine.knot.codec import FrameCodec
        from engine.knot.knot_animator import KnotAnimator

        p = get_preset(preset)  # KnotAnimator moves the DiT to its device and dtype
        return KnotAnimator(FrameCodec(p.model), random_model(p, torch.device("cpu"), torch.float32),
                            stream or p.stream, device, plan_ahead=plan_ahead)
    return load_animator(AnimatorSpec(kind, preset, device, None, stream, plan_ahead))


# --- running -------------------------------------------------------------------------------------------------
def bench(args: argparse.Namespace) -> dict:
    """Run the pipeline for `args.frames` driving frames; the figures as a JSON-ready dict."""
    import numpy as np
    import torch

    from engine.bench.gpu_busy import busy_share
    from engine.eval.recorded_tracker import RecordedTracker
    from engine.face.portrait import load_portrait
    from engine.face.tracker import FaceTracker
    from engine.pipeline import AvatarPipeline
    from engine.video import VideoFileSource

    device = args.device
    on_cuda = device.startswith("cuda")
    def wait_for_gpu() -> None:  # never while a CUDA graph is being captured (the graphed encode): not allowed
        if not torch.cuda.is_current_stream_capturing():
            torch.cuda.synchronize(torch.device(device))

    timer = StageTimer(wait_for_gpu if on_cuda else None)
    latencies = np.full(args.frames, np.nan)  # preallocated: the measurement must not grow memory itself
    checkpoints: dict[str, dict] = {}
    tracker_used = RecordedTracker.load(args.landmarks) if args.landmarks else FaceTracker()
    with tracker_used as tracker, VideoFileSource(args.driving, loop=True) as source:
        portrait = load_portrait(args.portrait, tracker)
        stream = stream_config(args, get_preset(args.preset).stream) if args.animator == "knot" else None
        animator = build_animator(args.animator, args.preset, device, args.random_weights, stream,
                                  args.plan_ahead if args.animator == "knot" else 0)
        if args.frames_on_host and hasattr(animator, "frames_on_device"):
            animator.frames_on_device = False
        pipeline = AvatarPipeline(animator, None if args.tracking_thread else tracker)
        pipeline.set_portrait(portrait)
        if not args.no_stages:
            instrument(pipeline, timer)
        drift = DriftMeter(animator, args.frames) if args.drift and hasattr(animator, "compose") else None
        streamer = getattr(animator, "streamer", None)
        period = 1.0 / args.pace if args.pace > 0 else 0.0
        emitted = 0
        window_start, window_frames = time.perf_counter(), 0
        started = time.perf_counter()
        timed_from = started
        driving = (tracked_on_a_thread if args.tracking_thread else tracked_in_line)(source, tracker, args.frames,
                                                                                     period, started)
        for i, (frame, captured_at, landmarks) in enumerate(driving):
            if i == args.warmup:
                timer.reset()
                timed_from = time.perf_counter()
            out = pipeline.animate(landmarks, frame.shape[:2], captured_at)
            now = time.monotonic()
            for avatar in out:
                if avatar.index < args.frames:
                    latencies[avatar.index] = now - avatar.timestamp
            emitted += len(out)
            window_frames += 1
            done = i + 1
            if done in CHECKPOINTS or done == args.frames:
                wall = time.perf_counter()
                checkpoints[str(done)] = {
                    "recent_fps": round(window_frames / max(wall - window_start, 1e-9), 2),
                    "chunk_ms": _chunk_ms(streamer),
                    "rss_mb": round(rss_mb(), 1),
                    "cuda_mb": cuda_mb(device),
                    "load_average_1min": round(os.getloadavg()[0], 2),  # other processes sharing the CPU
                }
                window_start, window_frames = wall, 0
                print(f"  frame {done:>6}: " + ", ".join(f"{k} {v}" for k, v in checkpoints[str(done)].items()
                                                          if v is not None), flush=True)
        total_s = time.perf_counter() - started
        timed_s = time.perf_counter() - timed_from
        timer.enabled = False  # flush composes the held-back frames without a push: not a streaming cost
        gpu_busy = busy_share(lambda: _animate(pipeline, tracked_in_line(source, tracker, BUSY_FRAMES, 0.0, 0.0)),
                              device) if on_cuda and args.animator == "knot" else None
        emitted += len(pipeline.flush())
        lookahead = animator.lookahead_frames
        stream_cfg = getattr(streamer, "cfg", None)
        animator.close()
    timed_frames = max(args.frames - args.warmup, 0)
    measured = latencies[args.warmup:]
    result = {
        "what": "demo clip looped -> FaceTracker -> Retargeter -> animator -> discarded (no webcam, no sink)",
        "animator": args.animator,
        "preset": args.preset if args.animator == "knot" else None,
        "weights": None if args.animator != "knot" else "untrained (speed only)" if args.random_weights else "shipped",
        "tracker": f"mediapipe answers replayed from {args.landmarks}" if args.landmarks else "mediapipe",
        "device": device if args.animator == "knot" else "cpu",
        "frames": args.frames,
        "frames_out": emitted,
        "paced_fps": args.pace or None,
        "portrait": shown(args.portrait), "portrait_size": list(portrait.image.shape[1::-1]),
        "driving": shown(args.driving), "driving_size": list(source.size),
        "fps": round(args.frames / total_s, 2),
        "warmup_frames": args.warmup,
        "fps_after_warmup": round(timed_frames / timed_s, 2) if timed_frames else None,
        "seconds": round(total_s, 1),
        "checkpoints": checkpoints,
        "latency_ms": latency_ms(measured[np.isfinite(measured)]),
        "lookahead_frames": lookahead,
        "stages": stage_shares(timer, timed_s) if timed_frames and not args.no_stages else None,
        "stage_timers": not args.no_stages,
        "tracking_thread": args.tracking_thread,
        "drift": drift.summary() if drift is not None else None,
        "frames_on_device": bool(getattr(animator, "frames_on_device", False)),
        "plan_ahead": getattr(animator, "plan_ahead", 0),
        "gpu_busy": gpu_busy,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": describe_machine(device),
    }
    if stream_cfg is not None:
        result["stream"] = {"chunk_frames": stream_cfg.chunk_frames, "knot_frames": stream_cfg.knot_frames,
                            "window_frames": stream_cfg.window_frames,
                            "denoising_steps": len(stream_cfg.timesteps)}
    first, last = checkpoints.get("100"), checkpoints.get(str(max(CHECKPOINTS)))
    if first and last:
        result["growth_100_to_10000"] = {
            "rss": round(last["rss_mb"] / first["rss_mb"] - 1, 4),
            "chunk_ms": (round(last["chunk_ms"]["median"] / first["chunk_ms"]["median"] - 1, 4)
                         if first["chunk_ms"] else None)}
    return result


def _animate(pipeline, driving) -> int:
    """Animate every (frame, t, landmarks) of `driving`; how many there were."""
    count = 0
    for frame, captured_at, landmarks in driving:
        pipeline.animate(landmarks, frame.shape[:2], captured_at)
        count += 1
    return count


def _paced_read(source, i: int, period: float, started: float):
    """The i-th driving frame, read no earlier than a live camera at `period` would give it; (frame, t)."""
    if period:
        time.sleep(max(0.0, started + i * period - time.perf_counter()))
    return source.read(), time.monotonic()


def tracked_in_line(source, tracker, frames: int, period: float, started: float):
    """(frame, t, landmarks) per driving frame, tracked on this thread just before it is animated."""
    for i in range(frames):
        frame, t = _paced_read(source, i, period, started)
        yield frame, t, tracker.track(frame)


def tracked_on_a_thread(source, tracker, frames: int, period: float, started: float):
    """The same, read and tracked on a second thread up to two frames ahead (the app's TrackingWorker)."""
    import queue
    import threading

    ready: queue.Queue = queue.Queue(maxsize=2)

    def track_all() -> None:
        try:
            for i in range(frames):
                frame, t = _paced_read(source, i, period, started)
                ready.put((frame, t, tracker.track(frame)))
        finally:
            ready.put(None)

    worker = threading.Thread(target=track_all, name="bench-tracking", daemon=True)
    worker.start()
    while (item := ready.get()) is not None:
        yield item
    worker.join()


def _chunk_ms(streamer) -> dict | None:
    """Median and min of the streamer's recent per-chunk compute times (its last 64 chunks)."""
    if streamer is None or not streamer.chunk_ms:
        return None
    recent = list(streamer.chunk_ms)
    return {"median": round(statistics.median(recent), 2), "min": round(min(recent), 2), "chunks": len(recent)}


def result_key(result: dict) -> str:
    """The entry a run replaces in the results file: animator, preset, device (and pacing)."""
    parts = [result["animator"]]
    if result["animator"] == "knot":
        parts += [result["preset"], result["device"].split(":")[0]]
        k = result.get("stream", {}).get("chunk_frames")
        if k is not None and k != get_preset(result["preset"]).stream.chunk_frames:  # not the preset's K
            parts.append(f"K{k}")
        n = result.get("stream", {}).get("denoising_steps")
        if n is not None and n != len(get_preset(result["preset"]).stream.timesteps):  # not the preset's steps
            parts.append(f"N{n}")
        if result["device"].startswith("cuda") and not result.get("frames_on_device", True):
            parts.append("host-frames")
        if result.get("plan_ahead"):
            parts.append(f"plan{result['plan_ahead']}")
    if result["paced_fps"]:
        parts.append(f"paced{result['paced_fps']:g}")
    if result.get("tracking_thread"):
        parts.append("tracking-thread")
    if not result.get("stage_timers", True):
        parts.append("untimed-stages")
    if result.get("drift"):
        parts.append("drift")
    return "-".join(parts)


def record_landmarks(args: argparse.Namespace) -> int:
    """Track the portrait and every frame of the driving clip once; save mediapipe's answers."""
    from engine.eval.recorded_tracker import LandmarkRecorder
    from engine.face.portrait import load_portrait
    from engine.face.tracker import FaceTracker
    from engine.video import VideoFileSource

    with FaceTracker() as tracker, VideoFileSource(args.driving) as source:
        recorder = LandmarkRecorder(tracker)
        load_portrait(args.portrait, recorder)
        for frame in source:
            recorder.track(frame)
    recorder.recording().save(args.record_landmarks)
    print(f"recorded {len(recorder.answers)} answers for {args.portrait} and {args.driving} "
          f"into {args.record_landmarks}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Benchmark, print the figures and merge them into `args.out`."""
    if args.record_landmarks:
        return record_landmarks(args)
    if args.frames < 1:
        raise SystemExit("--frames must be at least 1")
    print(f"bench: {args.animator}" + (f" {args.preset} on {args.device}" if args.animator == "knot" else "")
          + f", {args.frames} frames", flush=True)
    result = bench(args)
    s = result["stages"]
    print(f"fps {result['fps']} (after warm-up {result['fps_after_warmup']}), latency median "
          f"{result['latency_ms']['median']} ms, p95 {result['latency_ms']['p95']} ms")
    if s:
        print("stages (ms/frame): " + ", ".join(f"{k} {v}" for k, v in s["per_frame_ms"].items()))
        if "animator_per_frame_ms" in s:
            print("  inside the animator: " + ", ".join(f"{k} {v}" for k, v in s["animator_per_frame_ms"].items()))
    runs = json.loads(args.out.read_text()) if args.out.is_file() else {}
    runs[result_key(result)] = result
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(runs, indent=2) + "\n")
    tmp.replace(args.out)
    print(f"wrote {args.out} [{result_key(result)}]")
    return 0
