"""GPU busy share: the part of a stretch of wall time in which the GPU was running kernels or copies.

torch.profiler's CUDA activity gives each kernel's and copy's own interval on the device; their union over the
stretch's wall time (synchronised at both ends) is the share. The profiler costs a little per kernel, so the
bench measures it on frames after its timed run, not during it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch


def union_length(intervals: list[tuple[float, float]]) -> float:
    """Total length covered by (start, end) intervals, overlaps counted once."""
    total, reach = 0.0, -float("inf")
    for start, end in sorted(intervals):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def busy_share(run: Callable[[], int], device: str) -> dict | None:
    """Run `run` (it animates frames, returns how many) under the profiler; its GPU busy share, or None off a
    CUDA device."""
    if not device.startswith("cuda"):
        return None
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    torch.cuda.synchronize(device)
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        started = time.perf_counter()
        frames = run()
        torch.cuda.synchronize(device)
        wall_us = (time.perf_counter() - started) * 1e6
    spans = [(e.time_range.start, e.time_range.end) for e in prof.events() if e.device_type == DeviceType.CUDA]
    busy_us = union_length(spans)
    return {"share": round(busy_us / wall_us, 4), "frames": frames, "device_ops": len(spans),
            "busy_ms_per_frame": round(busy_us / 1e3 / max(frames, 1), 3),
            "wall_ms_per_frame": round(wall_us / 1e3 / max(frames, 1), 3)}
