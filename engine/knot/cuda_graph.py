"""ChunkSampler: the sampler's two steps (denoise a chunk, commit it), replayed as CUDA graphs on a GPU;
GraphedStep: any one-tensor step (the animator's per-frame crop and encode) replayed the same way.

At batch 1 a chunk is a few hundred small kernels, so on a GPU the time goes to launching them from Python;
a graph launches them all at once. It is used once the cache's shapes stop changing (the window is full).
"""

from __future__ import annotations

import torch

from engine.knot.model.dit import CausalDiT
from engine.knot.model.kv_cache import KVCache
from engine.knot.sampler import chunk_noise, commit_chunk, denoise, write_clean


class ChunkSampler:
    """Denoising and commit of one streamer's chunks, replayed from CUDA graphs where that is safe.

    The graphs are captured the first time the window is full on a CUDA cache (before that, the attended
    length grows chunk by chunk). They read and write the cache's tensors in place, which KVCache keeps for
    its lifetime, so one capture serves every later chunk and portrait. The ring slots the commit writes are
    an input tensor; the window is restored after the capture's warm-up runs; the noise is drawn outside the
    graph from the same generator as the eager path. So both paths give the same frames. Off CUDA, while the
    window fills, or with `use_graph=False`, everything runs eagerly.
    """

    def __init__(self, model: CausalDiT, cache: KVCache, timesteps: tuple[float, ...],
                 generator: torch.Generator, use_graph: bool = True) -> None:
        self.model, self.cache, self.timesteps, self.generator = model, cache, timesteps, generator
        self.use_graph = use_graph and cache.win_k.is_cuda
        self._sample: _Graphed | None = None
        self._commit: _Graphed | None = None

    @property
    def graphed(self) -> bool:
        """Whether chunks are replayed from captured graphs now."""
        return self._sample is not None

    def _static(self) -> bool:
        return self.use_graph and self.cache.filled_frames == self.cache.window_frames

    @torch.no_grad()
    def sample(self, cond: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """cond (B, F, Cc, h, w) -> clean latents (B, F, C, h, w); reads the cache. noise (B, F, C, h, w):
        the starting noise (drawn from the generator when None)."""
        if noise is None:
            noise = chunk_noise(self.model, cond, self.generator)
        if not self._static():
            return denoise(self.model, noise, cond, self.cache, self.timesteps)
        if self._sample is None or not self._sample.fits(noise, cond):
            self._sample = _Graphed(lambda x, c: denoise(self.model, x, c, self.cache, self.timesteps), noise, cond)
        return self._sample.replay(noise, cond).clone()

    @torch.no_grad()
    def commit(self, clean: torch.Tensor, cond: torch.Tensor) -> None:
        """Write clean latents (B, K, C, h, w) with their condition into the window, then advance it."""
        if not self._static():
            commit_chunk(self.model, clean, cond, self.cache)
            return
        slots = self.cache.slots(clean.shape[1])
        if self._commit is None or not self._commit.fits(clean, cond, slots):
            # The warm-up runs write the window; the pass also reads the slots it overwrites, so they are
            # restored before the real write.
            self._commit = _Graphed(lambda x, c, s: write_clean(self.model, x, c, self.cache, s),
                                    clean, cond, slots, restore=(self.cache.win_k, self.cache.win_v))
        self._commit.replay(clean, cond, slots)
        self.cache.advance(clean.shape[1])


class GraphedStep:
    """fn(x) of one tensor, replayed from a CUDA graph captured at its first CUDA call (recaptured when x's
    shape changes); eager off CUDA or with `use_graph=False`. For the GPU path's per-frame kernels (the face
    crop and its encoding: a few dozen launches per frame otherwise). fn must read nothing that changes
    between calls but x: build a new GraphedStep when it does (a new portrait)."""

    def __init__(self, fn, use_graph: bool = True) -> None:
        self.fn, self.use_graph = fn, use_graph
        self._graph: _Graphed | None = None

    @property
    def graphed(self) -> bool:
        """Whether calls are replayed from a captured graph now."""
        return self._graph is not None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.use_graph and x.is_cuda):
            return self.fn(x)
        if self._graph is None or not self._graph.fits(x):
            self._graph = _Graphed(self.fn, x)
        return self._graph.replay(x).clone()  # the graph's output is overwritten by its next replay


class _Graphed:
    """One CUDA graph of `fn(*inputs)` with static copies of its input tensors."""

    def __init__(self, fn, *inputs: torch.Tensor, restore: tuple[torch.Tensor, ...] = ()) -> None:
        """`restore`: tensors fn writes, put back as they were after the warm-up runs (capture runs nothing)."""
        self.inputs = [x.clone() for x in inputs]
        device = inputs[0].device
        saved = [t.clone() for t in restore]
        side = torch.cuda.Stream(device)  # warm-up on a side stream, as graph capture requires
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            for _ in range(2):  # builds the RoPE table, lets the allocator and the libraries settle
                fn(*self.inputs)
            for t, s in zip(restore, saved, strict=True):
                t.copy_(s)
        torch.cuda.current_stream(device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.output = fn(*self.inputs)

    def fits(self, *inputs: torch.Tensor) -> bool:
        """Whether new inputs have the captured shapes and dtypes."""
        return all(a.shape == b.shape and a.dtype == b.dtype for a, b in zip(self.inputs, inputs, strict=True))

    def replay(self, *inputs: torch.Tensor):
        """Copy the inputs in, run the graph; returns the captured output (overwritten by the next replay)."""
        for static, x in zip(self.inputs, inputs, strict=True):
            static.copy_(x)
        self.graph.replay()
        return self.output
