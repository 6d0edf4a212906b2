"""`--chunk-frames K`, `--knot-frames k` and `--denoising-steps N` for every command that streams Knot Forcing
(render, bench, eval).

K frames per chunk is the latency knob: a frame waits for its chunk (K - 1 frames at most) plus the knot k.
The shipped weights were trained with K = 3, k = 1; other values run the same model on shorter chunks.
N keeps the first N times of the preset's schedule (tiny: 1.0, 0.66 of the (1.0, 0.66, 0.33) it was trained
with): the last step goes straight to t = 0, the model's clean prediction at a time it was trained at; fewer
steps = fewer DiT passes per chunk.
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
    parser.add_argument("--denoising-steps", type=int, metavar="N",
                        help="DiT passes per chunk before its commit (default: the preset's); fewer = faster")


def stream_config(args: argparse.Namespace, base: StreamConfig) -> StreamConfig:
    """`base` with the options given; the knot shrinks to K when only K is lowered below it. ValueError
    (one sentence, from StreamConfig) for impossible values."""
    k_chunk = args.chunk_frames if args.chunk_frames is not None else base.chunk_frames
    k_knot = args.knot_frames if args.knot_frames is not None else min(base.knot_frames, k_chunk)
    steps = base.timesteps
    if args.denoising_steps is not None:
        if not 1 <= args.denoising_steps <= len(base.timesteps):
            raise ValueError(f"--denoising-steps must be 1 to {len(base.timesteps)}")
        steps = base.timesteps[: args.denoising_steps]
    return replace(base, chunk_frames=k_chunk, knot_frames=k_knot, timesteps=steps)
