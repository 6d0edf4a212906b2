"""Benchmark of the driving signal: tracker + retarget + smoothing, ms per frame at 640x480 on this CPU.

Runs the demo clip (upscaled to 640x480, a webcam's size) through FaceTracker in tracking mode and the
Retargeter with default smoothing, for a few hundred frames, and writes runs/bench/driving.json (or --out).
Usage: python main.py bench-driving [--frames 600]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import cv2
import numpy as np

from engine.assets import BENCH_RESULTS_DIR, DEFAULT_PORTRAIT, DEMO_CLIP
from engine.face.crop import CropBox
from engine.face.motion_map import MotionRenderer
from engine.face.portrait import load_portrait
from engine.face.retarget import Retargeter
from engine.face.tracker import FaceTracker
from engine.video import VideoFileSource


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _stats(ms: list[float]) -> dict:
    a = np.array(ms)
    return {"mean": round(float(a.mean()), 3), "median": round(float(np.median(a)), 3),
            "p95": round(float(np.percentile(a, 95)), 3)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `main.py bench-driving`."""
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--out", type=Path, default=BENCH_RESULTS_DIR / "driving.json",
                        help="results JSON (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, print the figures and write `args.out`."""
    load_before = round(os.getloadavg()[0], 2)  # other processes on the machine skew the figures

    with VideoFileSource(DEMO_CLIP) as source:
        clip = [cv2.resize(f, (640, 480), interpolation=cv2.INTER_CUBIC) for f in source]
    with FaceTracker() as tracker:
        portrait = load_portrait(DEFAULT_PORTRAIT, tracker)
    retargeter = Retargeter(portrait.landmarks)
    box = CropBox.from_landmarks(portrait.landmarks)
    renderer = MotionRenderer(64)
    track_ms, retarget_ms, map_ms, total_ms = [], [], [], []
    with FaceTracker() as tracker:
        tracker.track(clip[0])  # graph start-up is not per-frame cost
        for i in range(args.frames):
            frame = clip[i % len(clip)]
            t0 = time.perf_counter()
            landmarks = tracker.track(frame)
            t1 = time.perf_counter()
            motion = retargeter.retarget(landmarks, i / 30.0)
            t2 = time.perf_counter()
            renderer.render(box.to_crop(motion.landmarks, 64))
            t3 = time.perf_counter()
            track_ms.append((t1 - t0) * 1e3)
            retarget_ms.append((t2 - t1) * 1e3)
            map_ms.append((t3 - t2) * 1e3)
            total_ms.append((t2 - t0) * 1e3)
    import mediapipe

    result = {
        "what": "FaceTracker.track (mediapipe face mesh, tracking mode) + Retargeter.retarget (default smoothing)",
        "frame_size": [640, 480],
        "frames": args.frames,
        "ms_per_frame": {"tracker": _stats(track_ms), "retarget_and_smoothing": _stats(retarget_ms),
                         "tracker_retarget_smoothing": _stats(total_ms), "motion_map_64": _stats(map_ms)},
        "target_ms": 10.0,
        "machine": {"cpu": _cpu_name(), "logical_cpus": os.cpu_count(), "load_average_1min": load_before,
                    "python": platform.python_version(),
                    "mediapipe": mediapipe.__version__, "opencv": cv2.__version__, "numpy": np.__version__},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["ms_per_frame"], indent=2))
    print(f"wrote {args.out}")
    return 0
