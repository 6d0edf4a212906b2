"""3D rotary position embedding over (time, y, x), and time shifts of already-rotated keys.

The head dimension is split into three equal bands (time, y, x); each band rotates pairs of channels
(first half with second half of the band) by angle = position * frequency. Because each band is a
rotation, moving a key in time is one more rotation of its time band: `shift_keys` re-times cached keys
without recomputing them, and attention scores depend only on position differences.
"""

from __future__ import annotations

import torch


class Rope3D:
    """Frequencies for one head dimension; stateless apart from them."""

    def __init__(self, head_dim: int, theta: float = 100.0) -> None:
        if head_dim % 6:
            raise ValueError("head_dim must split into three even bands")
        self.band = head_dim // 3
        half = self.band // 2
        self.freqs = 1.0 / (theta ** (torch.arange(half, dtype=torch.float64) / half))  # (band/2,)

    def _angles(self, pos: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        # pos (..., T) -> cos, sin (..., T, band/2) in float64, so t * freq stays exact; cast at use
        ang = pos.detach().cpu().to(torch.float64)[..., None] * self.freqs
        return ang.cos().to(device), ang.sin().to(device)

    def _rotate_band(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        # x (..., T, band); cos/sin broadcastable to (..., T, band/2)
        a, b = x.chunk(2, dim=-1)
        cos, sin = cos.to(x.dtype), sin.to(x.dtype)
        return torch.cat((a * cos - b * sin, a * sin + b * cos), dim=-1)

    def table(self, positions: torch.Tensor, device: torch.device | str,
              dtype: torch.dtype) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """cos/sin per band for token positions (T, 3): compute once per forward, apply per layer."""
        out = []
        for i in range(3):
            cos, sin = self._angles(positions[:, i], torch.device(device))
            out.append((cos.to(dtype), sin.to(dtype)))
        return out

    def apply(self, x: torch.Tensor, table: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """Rotate x (B, H, T, hd) with a precomputed table for its T tokens."""
        bands = x.split(self.band, dim=-1)
        return torch.cat([self._rotate_band(b, c, s) for b, (c, s) in zip(bands, table, strict=True)], dim=-1)

    def rotate(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Rotate queries or keys. x (B, H, T, hd); positions (T, 3) = (t, y, x) per token -> (B, H, T, hd)."""
        return self.apply(x, self.table(positions, x.device, x.dtype))

    def shift_keys(self, k: torch.Tensor, dt: float) -> torch.Tensor:
        """Move rotated keys by dt in time: shift_keys(rotate(k, t0), dt) == rotate(k, t0 + dt). (..., hd)."""
        if dt == 0:
            return k
        cos, sin = self._angles(torch.tensor(float(dt)), k.device)
        t_band = self._rotate_band(k[..., : self.band], cos, sin)
        return torch.cat((t_band, k[..., self.band:]), dim=-1)


def frame_positions(times: torch.Tensor, grid: int) -> torch.Tensor:
    """Token positions for frames on a grid x grid patch lattice. times (F,) -> (F * grid * grid, 3)."""
    ys, xs = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    yx = torch.stack((ys.flatten(), xs.flatten()), dim=-1).to(torch.float64)  # (N, 2)
    t = times.to(torch.float64)[:, None, None].expand(-1, yx.shape[0], 1)  # (F, N, 1)
    return torch.cat((t, yx.expand(times.shape[0], -1, -1)), dim=-1).reshape(-1, 3)
