"""Few-step flow-matching sampling over one chunk (cache read-only) and the clean commit pass."""

from __future__ import annotations

import pytest
import torch

from engine.knot.sampler import commit_chunk, sample_chunk
from tests.small_models import SMALL as CFG
from tests.small_models import randomised_model

C, HW, CC = CFG.latent_channels, CFG.latent_size, CFG.cond_channels



@pytest.fixture()
def model_and_cache():
    """A randomised small DiT (its zero-initialised gates would make every output 0) and a cache holding a
    reference and one committed chunk."""
    model = randomised_model(CFG)
    g = torch.Generator().manual_seed(1)
    cache = model.new_cache(4)
    with torch.no_grad():
        model.encode_reference(torch.randn(1, C, HW, HW, generator=g), torch.randn(1, CC, HW, HW, generator=g),
                               cache, reference_time=3)
    commit_chunk(model, torch.randn(1, 2, C, HW, HW, generator=g), torch.randn(1, 2, CC, HW, HW, generator=g), cache)
    cache.shift_window(-2)
    return model, cache, torch.randn(1, 3, CC, HW, HW, generator=g)


def cache_tensors(cache) -> list[torch.Tensor]:
    return [t.clone() for t in (cache.ref_k, cache.ref_v, cache.win_k, cache.win_v)]


def test_sampling_is_euler_integration_from_noise_at_t1_to_t0(model_and_cache):
    model, cache, cond = model_and_cache
    timesteps = (1.0, 0.6, 0.25)
    sample = sample_chunk(model, cond, cache, timesteps, torch.Generator().manual_seed(5))
    x = torch.randn(1, 3, C, HW, HW, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        for t, t_next in ((1.0, 0.6), (0.6, 0.25), (0.25, 0.0)):
            x = x + (t_next - t) * model.forward_chunk(x, cond, torch.full((1,), t), cache)
    assert sample.shape == (1, 3, C, HW, HW)
    assert torch.allclose(sample, x, atol=1e-6)


def test_sampling_reads_the_cache_without_writing_it(model_and_cache):
    model, cache, cond = model_and_cache
    before, frames_written = cache_tensors(cache), cache.frames_written
    sample_chunk(model, cond, cache, (1.0, 0.5), torch.Generator().manual_seed(0))
    assert cache.frames_written == frames_written
    assert all(torch.equal(a, b) for a, b in zip(before, cache_tensors(cache), strict=True))


def test_sampling_depends_on_the_cache_contents(model_and_cache):
    model, cache, cond = model_and_cache
    a = sample_chunk(model, cond, cache, (1.0, 0.5), torch.Generator().manual_seed(0))
    cache.win_v.mul_(-1.0)
    b = sample_chunk(model, cond, cache, (1.0, 0.5), torch.Generator().manual_seed(0))
    assert (a - b).abs().max() > 1e-2


def test_same_generator_seed_gives_the_same_chunk(model_and_cache):
    model, cache, cond = model_and_cache
    a = sample_chunk(model, cond, cache, (1.0, 0.5), torch.Generator().manual_seed(7))
    b = sample_chunk(model, cond, cache, (1.0, 0.5), torch.Generator().manual_seed(7))
    c = sample_chunk(model, cond, cache, (1.0, 0.5), torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_commit_writes_the_clean_chunk_into_the_window_at_t0(model_and_cache):
    model, cache, cond = model_and_cache
    g = torch.Generator().manual_seed(9)
    clean = torch.randn(1, 2, C, HW, HW, generator=g)
    expected = model.new_cache(4)
    with torch.no_grad():
        model.forward_chunk(clean, cond[:, :2], torch.zeros(1), expected, expected.slots(2))
        expected.advance(2)
    frames_written = cache.frames_written
    commit_chunk(model, clean, cond[:, :2], cache)
    assert cache.frames_written == frames_written + 2
    n = model.grid ** 2
    written = cache.win_k[:, :, :, 2 * n:4 * n]  # ring slots 2 and 3: after the first chunk's two frames
    # the K of layer 0 depends only on the chunk's own tokens, so it matches a commit into an empty cache
    assert torch.allclose(written[0], expected.win_k[0, :, :, :2 * n], atol=1e-6)
