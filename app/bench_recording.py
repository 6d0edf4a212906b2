"""`main.py bench-recording`: the avatar's frame rate in the real window, with and without a recording.

The window runs offscreen on the default engine, driven by the demo clip in real time. Phases alternate
(not recording, recording at 1280x720 @ 30, `--rounds` times, then the same at 1920x1080 @ 30), each `--seconds`
long after a settling second; avatar fps = frames the generation thread delivered in the phase / its length,
summed over the rounds (alternating spreads the machine's own drift over both sides).
The recordings are checked afterwards (duration, frames decoded) and removed. Writes one JSON file.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from engine.assets import BENCH_RESULTS_DIR

SIZES = ((1280, 720), (1920, 1080))
FPS = 30
SETTLE_S = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=3, help="alternations per size (default: %(default)s)")
    parser.add_argument("--animator", choices=("knot", "warp"), default="knot", help="engine (default: knot)")
    parser.add_argument("--out", type=Path, default=BENCH_RESULTS_DIR / "recording.json",
                        help="results JSON (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    from app.testing import prepare_qt_environment, temporary_settings

    prepare_qt_environment()  # before the QApplication exists
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from engine.bench.machine import describe_machine
    from engine.video import count_packets

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory(prefix="knotcam-bench-") as tmp:
        folder = Path(tmp)
        window = MainWindow(temporary_settings(folder, animator=args.animator, output_fps=FPS))
        delivered = [0]
        window.generation.avatar_ready.connect(lambda _frame: delivered.__setitem__(0, delivered[0] + 1))
        window.show()

        def wait(seconds: float) -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                app.processEvents()
                time.sleep(0.005)

        def phase(seconds: float) -> float:
            wait(SETTLE_S)
            start_frames, start = delivered[0], time.monotonic()
            wait(seconds)
            return (delivered[0] - start_frames) / (time.monotonic() - start)

        wait(3.0)  # the engine loads and the first chunks are generated
        phases, files = [], []
        for size in SIZES:
            base, recording = [], []
            for r in range(args.rounds):
                base.append(phase(args.seconds))
                path = folder / f"take_{size[0]}x{size[1]}_{r}.mp4"
                window.output.start_recording(str(path), FPS, size)
                recording.append(phase(args.seconds))
                window.output.stop_recording()
                deadline = time.monotonic() + 60
                while not path.exists() and time.monotonic() < deadline:
                    wait(0.1)
                frames = count_packets(path) if path.exists() else 0
                files.append({"size": f"{size[0]}x{size[1]}", "saved": path.exists(), "frames": frames,
                              "seconds": round(frames / FPS, 2), "wall_seconds": round(args.seconds + SETTLE_S, 2)})
            without, during = sum(base) / len(base), sum(recording) / len(recording)
            phases.append({"size": f"{size[0]}x{size[1]}", "fps": FPS, "avatar_fps_without": round(without, 2),
                           "avatar_fps_recording": round(during, 2), "ratio": round(during / without, 3),
                           "rounds_without": [round(x, 2) for x in base],
                           "rounds_recording": [round(x, 2) for x in recording]})
        window.close()
        app.processEvents()
    result = {"machine": describe_machine("cpu"), "animator": args.animator, "phase_seconds": args.seconds,
              "phases": phases, "recordings": files,
              "note": "avatar fps = frames the generation thread delivered per second in the offscreen window, "
                      "driven by the demo clip in real time; each recording phase follows its own baseline"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for p in phases:
        print(f"{p['size']} @ {FPS}: avatar {p['avatar_fps_without']:.1f} fps without, "
              f"{p['avatar_fps_recording']:.1f} recording ({p['ratio']:.0%})")
    print(f"wrote {args.out}")
    return 0
