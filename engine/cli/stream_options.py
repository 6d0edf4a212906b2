"""`--chunk-frames K` and `--knot-frames k` for every command that streams Knot Forcing (render, bench, eval).

K frames per chunk is the latency knob: a frame waits for its chunk (K - 1 frames at most) plus the knot k.
The shipped weights were trained with K = 3, k = 1; other values run the same model on shorter chunks.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from engine.config import StreamConfig


def add_stream_arguments(parser: argparse.ArgumentParser) -> None:
    """The two options (default: the preset's)."""
    parser.add_argument("--chunk-frames", type=int, metavar="K",
                        help="Knot Forcing frames per chunk (default: the preset's): fewer = lower latency")
    parser.add_argument("--knot-frames", type=int, metavar="k",
                        help="frames each chunk overlaps the next (default: the preset's; at most K)")


def stream_config(args: argparse.Namespace, base: StreamConfig) -> StreamConfig:
    """`base` with the options given; the knot shrinks to K when only K is lowered below it. ValueError
    (one sentence, from StreamConfig) for impossible values."""
    k_chunk = args.chunk_frames if args.chunk_frames is not None else base.chunk_frames
    k_knot = args.knot_frames if args.knot_frames is not None else min(base.knot_frames, k_chunk)
    return replace(base, chunk_frames=k_chunk, knot_frames=k_knot)
