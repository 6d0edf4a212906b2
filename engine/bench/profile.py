"""Where one streamed chunk's time goes on a GPU: the top CUDA kernels and CPU ops of a KnotStreamer chunk.

    python main.py profile --preset base [--dtype bfloat16] [--no-cuda-graph]

Random weights (speed does not depend on them). Prints torch.profiler's table of the 20 most expensive ops
over 20 chunks with a full window; a diagnostic for docs/performance.md, not a figure of record.
"""

from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile

from engine.bench.model import Driver
from engine.config import get_preset


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `main.py profile`."""
    parser.add_argument("--preset", default="base")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--no-cuda-graph", action="store_true")
    parser.add_argument("--chunks", type=int, default=20)


def run(args: argparse.Namespace) -> int:
    """Profile `--chunks` chunks on CUDA with a full window and print the tables."""
    device = torch.device("cuda")
    driver = Driver(get_preset(args.preset), device, getattr(torch, args.dtype), not args.no_cuda_graph)
    for _ in range(8):
        driver.chunk()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        times = [driver.chunk() for _ in range(args.chunks)]
    print(f"{args.preset} {args.dtype} graph={driver.streamer.sampler.graphed}: "
          f"median {sorted(times)[len(times) // 2]:.2f} ms/chunk")
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=20))
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=12))
    return 0
