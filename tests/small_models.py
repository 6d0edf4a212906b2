"""Small randomised models for mechanism tests.

The DiT zero-initialises its adaLN gates and output layer (adaLN-Zero), so a fresh model ignores attention
and outputs zeros: mechanism tests draw every parameter at random, or they could not fail.
"""

from __future__ import annotations

import torch

from engine.config import ModelConfig
from engine.knot.model.dit import CausalDiT

SMALL = ModelConfig(resolution=32, latent_channels=4, width=48, depth=2, heads=2, motion_scale=1)


def randomise(model: torch.nn.Module, std: float = 0.2) -> torch.nn.Module:
    """Draw every parameter of `model` from N(0, std^2), in place."""
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, std)
    return model


def randomised_model(cfg: ModelConfig = SMALL, seed: int = 0, std: float = 0.2) -> CausalDiT:
    """A DiT of `cfg` in eval mode with every parameter drawn at random (seeded)."""
    torch.manual_seed(seed)
    return randomise(CausalDiT(cfg), std).eval()
