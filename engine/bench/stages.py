"""Measuring a pipeline from the outside: stage timers wrapped around live objects' methods, and memory.

Stages are timed by wrapping the objects' methods on their instances (tracker.track, retargeter.retarget,
animator.push and, inside Knot Forcing, codec.encode, motion_map, streamer.push, compose); the engine
itself carries no timing code.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class StageTimer:
    """Accumulated seconds per named stage, filled by wrappers put around methods of live objects."""

    def __init__(self, sync: Callable[[], None] | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.enabled = True
        self._sync = sync or (lambda: None)

    def wrap(self, owner: object, method: str, stage: str) -> None:
        """Replace `owner.method` (on the instance only) by a timed call to the original."""
        original = getattr(owner, method)
        self.seconds.setdefault(stage, 0.0)
        self.calls.setdefault(stage, 0)

        def timed(*args, **kwargs):
            if not self.enabled:
                return original(*args, **kwargs)
            self._sync()
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self._sync()
                self.seconds[stage] += time.perf_counter() - start
                self.calls[stage] += 1

        setattr(owner, method, timed)

    def reset(self) -> None:
        """Zero every stage (after the warm-up)."""
        for stage in self.seconds:
            self.seconds[stage], self.calls[stage] = 0.0, 0


def rss_mb() -> float:
    """Resident memory of this process in MiB."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def cuda_mb(device: str) -> dict | None:
    """Allocated and peak CUDA memory in MiB, or None off CUDA."""
    if not device.startswith("cuda"):
        return None
    import torch

    dev = torch.device(device)
    return {"allocated": round(torch.cuda.memory_allocated(dev) / 2**20, 1),
            "peak": round(torch.cuda.max_memory_allocated(dev) / 2**20, 1)}


def latency_ms(values) -> dict:
    """Median and p95 in ms of durations in seconds (None when there are none)."""
    import numpy as np

    values = np.asarray(values, dtype=np.float64) * 1000.0
    if values.size == 0:
        return {"median": None, "p95": None}
    return {"median": round(float(np.median(values)), 1), "p95": round(float(np.percentile(values, 95)), 1)}


def instrument(pipeline, timer: StageTimer) -> None:
    """Wrap the pipeline's stages (after set_portrait, which makes the retargeter) in `timer`."""
    from engine.knot.knot_animator import KnotAnimator

    if pipeline.tracker is not None:  # None: tracked on its own thread (bench --tracking-thread), not timed
        timer.wrap(pipeline.tracker, "track", "tracking")
    timer.wrap(pipeline.retargeter, "retarget", "retarget")
    animator = pipeline.animator
    timer.wrap(animator, "push", "animator")
    if isinstance(animator, KnotAnimator):
        timer.wrap(animator.codec, "encode", "animator/codec encode")
        timer.wrap(animator, "crop_frame", "animator/motion map")  # and the paste mask (planned ahead: neither)
        timer.wrap(animator.streamer, "push", "animator/DiT")
        timer.wrap(animator, "compose", "animator/decode + compose")


def stage_shares(timer: StageTimer, total_s: float) -> dict:
    """ms per driving frame and share of the wall time for each stage; inner animator stages as shares of it."""
    frames = max(timer.calls.get("retarget", 0), 1)
    top = {name: timer.seconds[name] for name in ("tracking", "retarget", "animator") if name in timer.seconds}
    top["driving video read + loop"] = max(total_s - sum(top.values()), 0.0)
    out = {"per_frame_ms": {k: round(v / frames * 1000, 2) for k, v in top.items()},
           "share_of_total": {k: round(v / total_s, 3) for k, v in top.items()}}
    inner = {k.split("/", 1)[1]: v for k, v in timer.seconds.items() if k.startswith("animator/")}
    if inner:
        inner["warp prior"] = max(timer.seconds["animator"] - sum(inner.values()), 0.0)
        animator_s = max(timer.seconds["animator"], 1e-9)
        out["animator_per_frame_ms"] = {k: round(v / frames * 1000, 2) for k, v in inner.items()}
        out["share_of_animator"] = {k: round(v / animator_s, 3) for k, v in inner.items()}
    return out
