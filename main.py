"""KnotCam entry point. `python main.py` opens the GUI; subcommands run headless.

Each subcommand lives in the module named in SUBCOMMANDS, which provides
`add_arguments(parser)` and `run(args) -> int`. Modules are imported only when their command runs,
so `render` never loads Qt and the GUI never loads the training code. Options before the subcommand are
global: `--threads N` sets torch's CPU threads (engine/threads.py) before any subcommand runs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import multiprocessing
import sys

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "render": ("engine.cli.render", "render a portrait driven by a video file to an MP4, headless"),
    "bench": ("engine.bench.stream", "benchmark an animator over many frames"),
    "params": ("engine.cli.params", "print parameter counts of the model presets"),
    "prepare": ("engine.data.prepare", "turn folders of videos/images into a training set"),
    "scan-video": ("engine.data.head_scan", "render a textured 3D head scan as a video of a turning head"),
    "mouth-prior": ("engine.data.mouth_samples", "average the open mouths of real videos into the warp's mouth prior"),
    "train": ("engine.train.cli", "train the codec and the Knot Forcing DiT (resumable)"),
    "eval": ("engine.eval.report", "evaluate animators side by side and write runs/eval/report.md"),
    "soak": ("engine.bench.soak", "run the full pipeline for many frames and record memory and fps"),
    "bench-model": ("engine.bench.model", "benchmark the DiT, the codec and cached vs recomputed streaming"),
    "bench-driving": ("engine.bench.driving", "benchmark tracking, retargeting and smoothing on this CPU"),
    "bench-warp": ("engine.bench.warp", "benchmark the warp prior (OpenCV and torch) at 512x512 and 1280x720"),
    "bench-recording": ("app.bench_recording", "measure the avatar's fps in the window while recording (720p, 1080p)"),
    "profile": ("engine.bench.profile", "profile one streamed chunk's CUDA kernels and CPU ops"),
}


def _thread_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a thread count is a whole number of at least 1, not {text!r}")
    return int(text)


def global_options() -> argparse.ArgumentParser:
    """The options every subcommand shares, given before its name: `main.py --threads 1 bench`."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--threads", type=_thread_count, metavar="N", dest="torch_threads",
                        help="torch CPU threads (default: every core but one, 1 on 2 cores or fewer)")
    return parser


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The CLI parser; only `command`'s module is imported to add its arguments."""
    parser = argparse.ArgumentParser(prog="knotcam", description=__doc__.splitlines()[0],
                                     parents=[global_options()])
    sub = parser.add_subparsers(dest="command")
    gui = sub.add_parser("gui", help="open the window (the default)")
    if command is None:
        importlib.import_module("app.main").add_gui_arguments(gui)
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if name == command:
            importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    options, rest = global_options().parse_known_args(argv)
    command = rest[0] if rest and rest[0] in SUBCOMMANDS else None
    if command is None and argv[:1] not in (["-h"], ["--help"]):
        if options.torch_threads is not None:
            global_options().error("--threads is for the subcommands; the window sets torch's threads itself")
        if argv and argv[0] == "gui":
            argv = argv[1:]
        from app.main import add_gui_arguments, run_gui

        gui = argparse.ArgumentParser(prog="knotcam", parents=[global_options()], allow_abbrev=False)
        add_gui_arguments(gui)
        args, qt_args = gui.parse_known_args(argv)
        return run_gui(args, qt_args)
    args = build_parser(command).parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    from engine.errors import KnotCamError
    from engine.threads import apply_thread_policy

    try:
        threads = apply_thread_policy(args.torch_threads)
        logging.getLogger("knotcam").debug("torch uses %d CPU thread(s)", threads)
        return int(importlib.import_module(SUBCOMMANDS[args.command][0]).run(args) or 0)
    except KnotCamError as err:
        print(f"knotcam {args.command}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"knotcam {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    multiprocessing.freeze_support()  # prepare/train start worker processes; needed in a frozen bundle
    sys.exit(main())
