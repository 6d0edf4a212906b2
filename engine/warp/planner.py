"""Warp plans made ahead, in worker processes: the host's per-frame warp work spread over the CPU's cores.

On a GPU the warp's per-frame plan (engine.warp.mesh.plan_warp: the head's motion and fold relaxation, the
source map's scan conversion, the mouth layer; ~2.5 ms on one core of the H200 machine) is the largest part
of what the host does per frame, and one Python thread does it frame after frame while the GPU waits.
`WarpPlanner` hands each frame's landmarks to worker processes as the frame arrives and gives the plans back
in order; a caller that asks for a plan only some frames later (KnotAnimator's `plan_ahead`) has several made
at once. Processes, not threads: the plan is numpy on small arrays, bound by Python and the GIL. They are
spawned, never forked (a forked CUDA process is unsafe), and each receives the portrait's mesh and mouth
style once, when it starts. A caller may hand over more per-frame host work on the same landmarks (`also`: a
picklable callable, e.g. the Knot Forcing crop's motion map and face mask), done in the same worker.

Shapes: landmarks in (478, 2+) portrait pixels; plans as engine.warp.mesh.WarpPlan (or None: no motion).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import numpy as np

from engine.warp.mesh import GRID_STEP, WarpMesh, WarpPlan, plan_warp
from engine.warp.mouth import MouthStyle


class _Worker:
    """What one worker process plans for: its portrait's mesh, mouth style and grid step, and the caller's
    other per-frame work (set once, at start)."""

    portrait: tuple[WarpMesh, MouthStyle, int, Callable[[np.ndarray], Any] | None] | None = None


def _start(mesh: WarpMesh, style: MouthStyle, step: int, also: Callable[[np.ndarray], Any] | None) -> None:
    """Worker initialiser: the portrait this process plans for (a pool serves one portrait)."""
    _Worker.portrait = (mesh, style, step, also)


def _plan(dst: np.ndarray) -> tuple[WarpPlan | None, Any]:
    """In a worker: the plan of its portrait's warp to landmarks dst (478, 2), and `also` of them (or None)."""
    assert _Worker.portrait is not None, "a planner worker runs only after _start"
    mesh, style, step, also = _Worker.portrait
    return plan_warp(mesh, dst, style, step), None if also is None else also(dst)


class WarpPlanner:
    """Plans of one portrait's warp (`plan_warp`), made by `workers` processes, each returned as a Future.

    also: more per-frame work on the same landmarks (dst (478, 2) -> anything picklable), done in the worker
    after the plan; the Future's result is then (plan, also(dst)), else (plan, None)."""

    def __init__(self, mesh: WarpMesh, style: MouthStyle, workers: int, step: int = GRID_STEP,
                 also: Callable[[np.ndarray], Any] | None = None) -> None:
        if workers < 1:
            raise ValueError("a WarpPlanner needs at least one worker")
        self.workers = workers
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start, initargs=(mesh, style, step, also))

    def submit(self, dst: np.ndarray) -> Future:
        """Start planning the warp to landmarks dst (478, 2+); the Future's result is (a WarpPlan or None, what
        `also` gave or None)."""
        return self._pool.submit(_plan, np.ascontiguousarray(np.asarray(dst, dtype=np.float64)[:, :2]))

    def close(self) -> None:
        """Stop the workers; plans not yet started are dropped."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> WarpPlanner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
