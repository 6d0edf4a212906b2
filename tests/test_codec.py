"""FrameCodec: shapes at every preset's resolution, and the uint8 <-> [-1, 1] conversions at its border."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.config import PRESETS, ModelConfig
from engine.knot.codec import FrameCodec, to_tensor, to_uint8


@pytest.mark.parametrize("cfg", [ModelConfig(resolution=32, latent_channels=4), PRESETS["tiny"].model],
                         ids=["32px", "tiny"])
def test_codec_maps_rgb_to_latents_at_one_eighth_and_back(cfg):
    codec = FrameCodec(cfg).eval()
    rgb = torch.rand(2, 3, cfg.resolution, cfg.resolution) * 2 - 1
    with torch.no_grad():
        z = codec.encode(rgb)
        out = codec.decode(z)
    assert z.shape == (2, cfg.latent_channels, cfg.resolution // 8, cfg.resolution // 8)
    assert out.shape == rgb.shape


def test_latent_scale_multiplies_latents_and_is_undone_by_decode():
    cfg = ModelConfig(resolution=32, latent_channels=4)
    codec = FrameCodec(cfg).eval()
    rgb = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        z1, out1 = codec.encode(rgb), codec(rgb)
        codec.latent_scale.fill_(2.5)
        z2, out2 = codec.encode(rgb), codec(rgb)
    assert torch.allclose(z2, 2.5 * z1, atol=1e-6)
    assert torch.allclose(out1, out2, atol=1e-5)
    assert "latent_scale" in codec.state_dict()  # saved with the weights


def test_codec_encodes_each_frame_independently():
    cfg = ModelConfig(resolution=32, latent_channels=4)
    codec = FrameCodec(cfg).eval()
    rgb = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        batch = codec.encode(rgb)
        single = codec.encode(rgb[1:2])
    assert torch.allclose(batch[1:2], single, atol=1e-5)


def test_uint8_images_round_trip_through_the_tensor_range():
    images = np.random.default_rng(0).integers(0, 256, (2, 16, 24, 3), dtype=np.uint8)
    x = to_tensor(images)
    assert x.shape == (2, 3, 16, 24) and x.dtype == torch.float32
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0
    assert np.array_equal(to_uint8(x).numpy(), images)


def test_to_uint8_clamps_values_outside_the_range():
    x = torch.tensor([-3.0, -1.0, 0.0, 1.0, 4.0]).view(1, 1, 1, 5).expand(1, 3, 1, 5)
    assert to_uint8(x)[0, 0, :, 0].tolist() == [0, 0, 128, 255, 255]
