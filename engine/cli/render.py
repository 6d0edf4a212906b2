"""`python main.py render`: animate a portrait with a driving video file, headless, to a video file.

Timestamps are the driving file's frame times (not the wall clock), so a render is reproducible. The output
rules (engine/output_file.py) are checked before anything is loaded.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from engine.assets import DEFAULT_PORTRAIT, DEMO_CLIP
from engine.cli.interrupt import frame_boundary_interrupt
from engine.cli.stream_options import add_stream_arguments

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the render subcommand."""
    parser.add_argument("--portrait", type=Path, default=DEFAULT_PORTRAIT, help="portrait image (default: %(default)s)")
    parser.add_argument("--driving", type=Path, default=DEMO_CLIP, help="driving video (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="output video: .mp4 (H.264) or .webm (VP8)")
    parser.add_argument("--frames", type=int, default=None,
                        help="frames to render (default: the driving clip's length; longer clips loop)")
    parser.add_argument("--animator", choices=("warp", "knot"), default="warp", help="animator (default: warp)")
    parser.add_argument("--weights", type=Path, default=None,
                        help="Knot Forcing weights file (default: the shipped tiny weights)")
    add_stream_arguments(parser)


def make_animator(kind: str, weights: Path | None = None, stream=None):
    """The requested animator (Knot Forcing with `stream`, None: the preset's); EngineUnavailableError (one
    sentence) when Knot Forcing cannot be loaded."""
    from engine.animator_factory import AnimatorSpec, load_animator
    from engine.errors import EngineUnavailableError

    try:
        return load_animator(AnimatorSpec(kind, "tiny", "cpu", weights, stream))
    except EngineUnavailableError as err:
        raise EngineUnavailableError(f"{str(err).rstrip('.')}; use --animator warp to render without it.") from err


def _even(image):
    h, w = image.shape[:2]
    return image[: h - h % 2, : w - w % 2]


def run(args: argparse.Namespace) -> int:
    """Render; prints frames, seconds and fps. Ctrl+C leaves no partial output file."""
    from engine.face.portrait import load_portrait
    from engine.face.tracker import FaceTracker
    from engine.output_file import check_frame_count, check_video_output
    from engine.pipeline import AvatarPipeline
    from engine.video import AtomicVideoWriter, VideoFileSource

    check_frame_count(args.frames)
    check_video_output(args.out, inputs=(args.driving, args.portrait))
    from engine.cli.stream_options import stream_config
    from engine.config import get_preset

    stream = stream_config(args, get_preset("tiny").stream)
    animator = make_animator(args.animator, args.weights, stream)  # a broken engine is an error, before any work
    with FaceTracker() as tracker:
        portrait = load_portrait(args.portrait, tracker)
        source = VideoFileSource(args.driving, loop=True)
        total = args.frames if args.frames is not None else max(source.frame_count, 1)
        pipeline = AvatarPipeline(animator, tracker)
        pipeline.set_portrait(portrait)
        h, w = _even(portrait.image).shape[:2]
        written = 0
        start = time.perf_counter()
        with frame_boundary_interrupt() as check, source, AtomicVideoWriter(args.out, source.fps, (w, h)) as writer:
            for i in range(total):
                check()
                frame = source.read()
                if frame is None:
                    break
                for out in pipeline.process(frame, i / source.fps):
                    writer.write(_even(out.image))
            for out in pipeline.flush():
                writer.write(_even(out.image))
            written = writer.frames_written
        seconds = time.perf_counter() - start
    fps = written / seconds if seconds > 0 else float("inf")
    print(f"rendered {written} frames to {args.out} in {seconds:.2f} s: {fps:.1f} fps")
    return 0
