"""Warp benchmark: ms per frame of the CPU warp (one OpenCV thread) and its torch twin (on `main.py --threads`
torch threads), at 512x512 and 1280x720.

Driven by the astronaut's own tracked landmarks (478, 3) turned through yaw +-25 and pitch +-10 degrees,
shifted and scaled a little, over 120 frames; the 720p case is the portrait scaled to 720 rows on a
1280-wide canvas. Prints the figures and merges them, with the machine, into runs/bench/warp.json (or --out;
the committed benchmarks/warp.json keeps its earlier A/B entries next to them). Run: python main.py bench-warp
[--out PATH] [--device cuda] [--landmarks benchmarks/landmarks_astronaut_carphone.npz].
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from engine.assets import BENCH_RESULTS_DIR, DEFAULT_PORTRAIT
from engine.bench.machine import describe_machine
from engine.warp import build_mesh, warp_with_mesh
from engine.warp.mouth import MouthStyle
from engine.warp.torch_warp import warp_with_mesh_torch

FRAMES = 120
PORTRAIT = DEFAULT_PORTRAIT


def _driving(landmarks: np.ndarray) -> np.ndarray:
    """(FRAMES, 478, 2): the portrait's landmarks (478, 3) themselves first, then a head moving about."""
    centre = landmarks.mean(axis=0)
    out = [landmarks[:, :2]]
    for t in np.linspace(0.0, 2 * np.pi, FRAMES - 1):
        y, p = np.radians(25 * np.sin(t)), np.radians(10 * np.sin(2 * t))
        yaw = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
        pitch = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
        turned = ((landmarks - centre) @ (pitch @ yaw).T)[:, :2] * (1 + 0.05 * np.sin(3 * t))
        out.append(turned + centre[:2] + 8 * np.array([np.sin(t), np.cos(t)]))
    return np.stack(out)


def _cases(landmarks: Path | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (image (H, W, 3) uint8, driving landmarks (F, 478, 2), the portrait's first) at both sizes.

    landmarks: a `main.py bench --record-landmarks` file holding the portrait's answer, replayed instead of
    running mediapipe (the GPU machine has none)."""
    from engine.eval.recorded_tracker import RecordedTracker
    from engine.face.portrait import load_portrait
    from engine.face.tracker import FaceTracker

    with RecordedTracker.load(landmarks) if landmarks else FaceTracker() as tracker:
        portrait = load_portrait(PORTRAIT, tracker)
    image = portrait.image
    frames = _driving(portrait.landmarks.astype(np.float64))
    scale = 720 / image.shape[0]
    big = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    canvas = np.full((720, 1280, 3), 90, dtype=np.uint8)
    left = (1280 - big.shape[1]) // 2
    canvas[:, left : left + big.shape[1]] = big
    return {"512x512": (image, frames), "1280x720": (canvas, frames * scale + [left, 0.0])}


def _ms_per_frame(warp, frames: np.ndarray, repeats: int, clock=time.perf_counter) -> float:
    """Best of `repeats` passes; clock=time.process_time counts only this process's CPU time."""
    for f in frames[:5]:
        warp(f)
    best = float("inf")
    for _ in range(repeats):  # best of several passes: other processes on a shared machine only add time
        start = clock()
        for f in frames:
            warp(f)
        best = min(best, (clock() - start) / len(frames))
    return best * 1e3


def measure(device: str = "cpu", repeats: int = 3, landmarks: Path | None = None) -> dict:
    """Measure every case; returns the json-ready result."""
    cv2.setNumThreads(1)
    result = {"machine": describe_machine(device), "opencv_threads": 1, "frames": 0, "ms_per_frame": {}}
    for name, (image, frames) in _cases(landmarks).items():
        mesh = build_mesh(frames[0], image.shape[:2])
        tensor = torch.from_numpy(image.copy()).to(device)
        style = MouthStyle.of(image, frames[0])  # found once per portrait, as the animators do
        sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

        def torch_warp(f, mesh=mesh, tensor=tensor, sync=sync, style=style):
            warp_with_mesh_torch(tensor, mesh, f, style=style)
            sync()

        def cpu_warp(f, image=image, mesh=mesh, style=style):
            warp_with_mesh(image, mesh, f, style=style)

        result["frames"] = len(frames)
        result["ms_per_frame"][name] = {
            "cpu_cv2_remap": round(_ms_per_frame(cpu_warp, frames, repeats), 3),
            # On a busy shared machine wall time mostly measures the others: CPU time is the steadier figure.
            "cpu_cv2_remap_process_time": round(_ms_per_frame(cpu_warp, frames, repeats, time.process_time), 3),
            f"torch_grid_sample_{device}": round(_ms_per_frame(torch_warp, frames, repeats), 3),
        }
    result["machine"]["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `main.py bench-warp`."""
    parser.add_argument("--out", type=Path, default=BENCH_RESULTS_DIR / "warp.json",
                        help="results JSON, merged into (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="torch device for the grid_sample warp (default: cpu)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--landmarks", type=Path, default=None,
                        help="replay the portrait's landmarks from a `bench --record-landmarks` file instead of "
                             "running mediapipe (for machines without it)")


def run(args: argparse.Namespace) -> int:
    """Print the figures, write the json."""
    result = measure(args.device, args.repeats, args.landmarks)
    for name, figures in result["ms_per_frame"].items():
        print(name, ", ".join(f"{k} {v:.2f} ms" for k, v in figures.items()))
    merged = json.loads(args.out.read_text()) if args.out.is_file() else {}
    merged.update(result)  # this run's keys replace the last run's; other entries (A/B comparisons) stay
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(merged, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0
