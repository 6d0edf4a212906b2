"""Few-step flow-matching sampling of one chunk, and the clean pass that writes it into the cache.

Flow matching: x_t = (1 - t) x0 + t eps, the model predicts v = eps - x0. Each step moves x_t to the next
time of the schedule with an Euler step (x_{t'} = x_t + (t' - t) v), ending at t = 0. The cache is only
read while denoising; `commit_chunk` then runs the clean chunk once at t = 0 to write its K/V.
"""

from __future__ import annotations

import torch

from engine.model.dit import CausalDiT
from engine.model.kv_cache import KVCache


@torch.no_grad()
def sample_chunk(model: CausalDiT, cond: torch.Tensor, cache: KVCache, timesteps: tuple[float, ...],
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Denoise one chunk from pure noise. cond (B, F, Cc, h, w) -> clean latents (B, F, C, h, w)."""
    b, f, _, h, w = cond.shape
    shape = (b, f, model.cfg.latent_channels, h, w)
    x = torch.randn(shape, generator=generator, device=generator.device if generator else cond.device)
    x = x.to(cond.device, cond.dtype)
    schedule = list(timesteps) + [0.0]
    for t, t_next in zip(schedule[:-1], schedule[1:], strict=True):
        v = model.forward_chunk(x, cond, torch.full((b,), t, device=cond.device, dtype=cond.dtype), cache)
        x = x + (t_next - t) * v
    return x


@torch.no_grad()
def commit_chunk(model: CausalDiT, clean: torch.Tensor, cond: torch.Tensor, cache: KVCache) -> None:
    """Write the K/V of clean latents (B, K, C, h, w) with their condition into the sliding window."""
    t0 = torch.zeros(clean.shape[0], device=clean.device, dtype=clean.dtype)
    model.forward_chunk(clean, cond, t0, cache, write=True)
