"""FrameCodec: a small convolutional autoencoder, RGB frames <-> latents at 1/8 resolution.

RGB (B, 3, H, W) in [-1, 1] -> latent (B, C, H/8, W/8) -> RGB. Trained first (stage 1), then frozen; its
cost counts in the per-frame budget (warp prior encoded, output decoded), so it stays small: three
stride-2 stages, one residual block at the bottom, no attention.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.config import ModelConfig


class ResBlock(nn.Module):
    """conv-act-conv with a skip."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.c2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.c2(F.silu(self.c1(F.silu(x))))


class FrameCodec(nn.Module):
    """Encoder/decoder pair; `latent_scale` normalises latents to about unit variance for the DiT."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        w1, w2, w3 = cfg.codec_widths
        c = cfg.latent_channels
        self.encoder = nn.Sequential(
            nn.Conv2d(3, w1, 3, padding=1), nn.SiLU(),
            nn.Conv2d(w1, w1, 4, stride=2, padding=1), nn.SiLU(),  # H/2
            nn.Conv2d(w1, w2, 4, stride=2, padding=1), nn.SiLU(),  # H/4
            nn.Conv2d(w2, w3, 4, stride=2, padding=1),  # H/8
            ResBlock(w3), nn.SiLU(),
            nn.Conv2d(w3, c, 1),
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(c, w3, 3, padding=1),
            ResBlock(w3), nn.SiLU(),
            nn.Conv2d(w3, w2 * 4, 3, padding=1), nn.PixelShuffle(2), nn.SiLU(),  # H/4
            nn.Conv2d(w2, w1 * 4, 3, padding=1), nn.PixelShuffle(2), nn.SiLU(),  # H/2
            nn.Conv2d(w1, w1 * 4, 3, padding=1), nn.PixelShuffle(2), nn.SiLU(),  # H
            nn.Conv2d(w1, 3, 3, padding=1),
        )
        self.register_buffer("latent_scale", torch.ones(()))

    def encode(self, rgb: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1] -> (B, C, H/8, W/8), scaled to about unit variance."""
        return self.encoder(rgb) * self.latent_scale

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, C, H/8, W/8) -> (B, 3, H, W), not clamped."""
        return self.decoder(z / self.latent_scale)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(rgb))


def to_tensor(images: list | torch.Tensor, device: str | torch.device | None = None) -> torch.Tensor:
    """uint8 RGB images (..., H, W, 3) as numpy or tensor -> float (..., 3, H, W) in [-1, 1], on `device`
    (None: where they are; numpy on the CPU)."""
    x = torch.as_tensor(images, device=device)
    return x.movedim(-1, -3).float().div(127.5).sub(1.0)


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) in [-1, 1] -> uint8 (..., H, W, 3) on the CPU."""
    return x.clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).movedim(-3, -1).cpu()
