"""Few-step flow-matching sampling of one chunk, and the clean pass that writes it into the cache.

Flow matching: x_t = (1 - t) x0 + t eps, the model predicts v = eps - x0. Each step moves x_t to the next
time of the schedule with an Euler step (x_{t'} = x_t + (t' - t) v), ending at t = 0. The cache is only
read while denoising; `commit_chunk` then runs the clean chunk once at t = 0 to write its K/V.

`engine.knot.cuda_graph.ChunkSampler` is what the streamer calls: these two steps, replayed as CUDA graphs.
"""

from __future__ import annotations

import torch

from engine.knot.model.dit import CausalDiT
from engine.knot.model.kv_cache import KVCache


@torch.no_grad()
def denoise(model: CausalDiT, noise: torch.Tensor, cond: torch.Tensor, cache: KVCache,
            timesteps: tuple[float, ...]) -> torch.Tensor:
    """Euler steps from noise (B, F, C, h, w) at t = timesteps[0] to t = 0 -> clean latents (B, F, C, h, w)."""
    x = noise
    schedule = list(timesteps) + [0.0]
    for t, t_next in zip(schedule[:-1], schedule[1:], strict=True):
        v = model.forward_chunk(x, cond, torch.full((x.shape[0],), t, device=x.device, dtype=x.dtype), cache)
        x = x + (t_next - t) * v
    return x


def chunk_noise(model: CausalDiT, cond: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Starting noise for a chunk with condition cond (B, F, Cc, h, w) -> (B, F, C, h, w)."""
    b, f, _, h, w = cond.shape
    shape = (b, f, model.cfg.latent_channels, h, w)
    x = torch.randn(shape, generator=generator, device=generator.device if generator else cond.device)
    return x.to(cond.device, cond.dtype)


@torch.no_grad()
def sample_chunk(model: CausalDiT, cond: torch.Tensor, cache: KVCache, timesteps: tuple[float, ...],
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Denoise one chunk from pure noise. cond (B, F, Cc, h, w) -> clean latents (B, F, C, h, w)."""
    return denoise(model, chunk_noise(model, cond, generator), cond, cache, timesteps)


@torch.no_grad()
def write_clean(model: CausalDiT, clean: torch.Tensor, cond: torch.Tensor, cache: KVCache,
                slots: torch.Tensor) -> None:
    """The clean pass (t = 0) of latents (B, K, C, h, w), its K/V written to window `slots`; no advance."""
    t0 = torch.zeros(clean.shape[0], device=clean.device, dtype=clean.dtype)
    model.forward_chunk(clean, cond, t0, cache, slots)


@torch.no_grad()
def commit_chunk(model: CausalDiT, clean: torch.Tensor, cond: torch.Tensor, cache: KVCache) -> None:
    """Write the K/V of clean latents (B, K, C, h, w) with their condition into the sliding window."""
    write_clean(model, clean, cond, cache, cache.slots(clean.shape[1]))
    cache.advance(clean.shape[1])
