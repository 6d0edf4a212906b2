"""KVCache: fixed reference slots, a ring buffer of the last W frames, in-place re-timing, fixed storage."""

from __future__ import annotations

import torch

from engine.config import ModelConfig
from engine.knot.model.kv_cache import KVCache
from engine.knot.model.rope import Rope3D, frame_positions
from engine.knot.sampler import commit_chunk
from tests.small_models import randomised_model

LAYERS, HEADS, HD, N = 2, 2, 12, 4  # N tokens per frame on a 2 x 2 grid



def make_cache(window: int = 4, reference: bool = True) -> KVCache:
    return KVCache(LAYERS, HEADS, HD, N, window, N if reference else 0, Rope3D(HD))


def frame_kv(value: float, frames: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """K/V (1, H, frames * N, hd) filled with `value` (keys) and -value (values), to recognise them later."""
    k = torch.full((1, HEADS, frames * N, HD), float(value))
    return k, -k


def write_frame(cache: KVCache, value: float) -> None:
    for layer in range(LAYERS):
        cache.write_frames(layer, *frame_kv(value))
    cache.advance(1)


def window_frame_values(cache: KVCache, layer: int = 0) -> list[float]:
    """The marker value of every frame currently visible through keys_values (after the reference)."""
    k, _ = cache.keys_values(layer)
    window = k[0, 0, cache.reference_tokens_written:]
    return sorted(float(window[i * N, 0]) for i in range(window.shape[0] // N))


def test_window_holds_exactly_the_last_w_frames():
    cache = make_cache(window=4)
    for value in range(1, 11):
        write_frame(cache, value)
    assert window_frame_values(cache) == [7.0, 8.0, 9.0, 10.0]
    assert cache.filled_frames == 4 and cache.frames_written == 10


def test_window_is_visible_as_it_fills_before_wrapping():
    cache = make_cache(window=4)
    assert window_frame_values(cache) == []
    write_frame(cache, 1)
    write_frame(cache, 2)
    assert window_frame_values(cache) == [1.0, 2.0]


def test_reference_slots_survive_any_number_of_window_writes():
    cache = make_cache(window=2)
    ref_k, ref_v = frame_kv(99.0)
    for layer in range(LAYERS):
        cache.write_reference(layer, ref_k, ref_v, reference_time=0)
    for value in range(50):
        write_frame(cache, value)
    k, v = cache.keys_values(1)
    assert torch.equal(k[:, :, :N], ref_k) and torch.equal(v[:, :, :N], ref_v)
    assert k.shape[2] == N + 2 * N


def test_reference_off_leaves_no_reference_tokens():
    cache = make_cache(window=3, reference=False)
    write_frame(cache, 5)
    k, _ = cache.keys_values(0)
    assert k.shape[2] == N and cache.reference_tokens_written == 0


def test_shift_window_retimes_window_keys_and_leaves_values_and_reference():
    rope = Rope3D(HD)
    cache = KVCache(1, 1, HD, N, 3, N, rope)
    gen = torch.Generator().manual_seed(0)
    raw = torch.randn(1, 1, 2 * N, HD, generator=gen)
    pos = frame_positions(torch.tensor([-2.0, -1.0]), grid=2)
    ref_k = torch.randn(1, 1, N, HD, generator=gen)
    cache.write_reference(0, ref_k, ref_k, reference_time=4)
    cache.write_frames(0, rope.rotate(raw, pos), raw)
    cache.advance(2)
    cache.shift_window(-3)
    k, v = cache.keys_values(0)
    expected = rope.rotate(raw, frame_positions(torch.tensor([-5.0, -4.0]), grid=2))
    assert torch.allclose(k[:, :, N:], expected, atol=1e-5)
    assert torch.equal(v[:, :, N:], raw)
    assert torch.equal(k[:, :, :N], ref_k)


def test_move_reference_rotates_reference_keys_to_the_new_time():
    rope = Rope3D(HD)
    cache = KVCache(1, 1, HD, N, 3, N, rope)
    raw = torch.randn(1, 1, N, HD, generator=torch.Generator().manual_seed(1))
    cache.write_reference(0, rope.rotate(raw, frame_positions(torch.tensor([6.0]), 2)), raw, reference_time=6)
    cache.move_reference(-20)
    assert cache.reference_time == -20
    expected = rope.rotate(raw, frame_positions(torch.tensor([-20.0]), 2))
    assert torch.allclose(cache.keys_values(0)[0][:, :, :N], expected, atol=1e-5)


def test_reset_forgets_contents_but_keeps_storage():
    cache = make_cache()
    for layer in range(LAYERS):
        cache.write_reference(layer, *frame_kv(3.0), reference_time=2)
    write_frame(cache, 1)
    ptrs = [t.data_ptr() for t in (cache.ref_k, cache.ref_v, cache.win_k, cache.win_v)]
    cache.reset()
    assert [t.data_ptr() for t in (cache.ref_k, cache.ref_v, cache.win_k, cache.win_v)] == ptrs
    assert cache.keys_values(0)[0].shape[2] == 0
    assert cache.reference_time == 0 and not cache.win_k.any() and not cache.ref_k.any()


def test_cache_tensors_keep_shapes_and_storage_over_1000_chunks():
    cfg = ModelConfig(resolution=16, latent_channels=2, codec_widths=(4, 4, 4), width=12, depth=2, heads=1,
                      motion_scale=1)
    model = randomised_model(cfg)
    K, W = 2, 5
    cache = model.new_cache(W)
    h, cc = cfg.latent_size, cfg.cond_channels
    tensors = (cache.ref_k, cache.ref_v, cache.win_k, cache.win_v)
    shapes = [t.shape for t in tensors]
    ptrs = [t.data_ptr() for t in tensors]
    nbytes = cache.nbytes()
    with torch.no_grad():
        model.encode_reference(torch.randn(1, 2, h, h), torch.randn(1, cc, h, h), cache, reference_time=4)
        for _ in range(1000):
            commit_chunk(model, torch.randn(1, K, 2, h, h), torch.randn(1, K, cc, h, h), cache)
            cache.shift_window(-K)
            cache.move_reference(4)
    assert cache.frames_written == 2000
    assert [t.shape for t in tensors] == shapes
    assert [t.data_ptr() for t in tensors] == ptrs
    assert cache.nbytes() == nbytes
    assert all(torch.isfinite(t).all() for t in tensors)
