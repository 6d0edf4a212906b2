"""CausalDiT: cached streaming equals the full block-causal pass, the mask's shape, and the model can learn.

The DiT zero-initialises its adaLN gates and output layer (adaLN-Zero), so a fresh model ignores attention
and outputs zeros; every mechanism test below first randomises all parameters, or it could not fail.
"""

from __future__ import annotations

import pytest
import torch

from engine.knot.model.dit import CausalDiT, build_condition
from engine.knot.model.layout import streaming_layout
from engine.knot.sampler import commit_chunk
from tests.small_models import SMALL as CFG
from tests.small_models import randomised_model

C, HW, CC = CFG.latent_channels, CFG.latent_size, CFG.cond_channels



def sequence_data(chunks: int, K: int, k: int, seed: int = 1) -> dict[str, torch.Tensor]:
    """Reference, `chunks` clean chunks of K frames, and chunks + 1 noisy chunks of K + k frames."""
    g = torch.Generator().manual_seed(seed)
    return {
        "ref": torch.randn(1, C, HW, HW, generator=g),
        "ref_cond": torch.randn(1, CC, HW, HW, generator=g),
        "clean": torch.randn(1, chunks * K, C, HW, HW, generator=g),
        "clean_cond": torch.randn(1, chunks * K, CC, HW, HW, generator=g),
        "noisy": torch.randn(chunks + 1, 1, K + k, C, HW, HW, generator=g),
        "noisy_cond": torch.randn(chunks + 1, 1, K + k, CC, HW, HW, generator=g),
        "noisy_t": torch.rand(chunks + 1, 1, K + k, generator=g),
    }


@torch.no_grad()
def stream_chunks(model: CausalDiT, d: dict, chunks: int, K: int, window: int, ahead: int | None) -> torch.Tensor:
    """Each noisy chunk n in turn through forward_chunk, reading the cache; clean chunk n is then committed.

    Time handling as in KnotStreamer: the chunk is at local 0..F-1, the window is re-based by -K after each
    commit, and the reference sits at `ahead` (running ahead) or at -chunk_start (off).
    Returns (chunks + 1, 1, K + k, C, h, w).
    """
    cache = model.new_cache(window)
    model.encode_reference(d["ref"], d["ref_cond"], cache, reference_time=0 if ahead is None else ahead)
    outs = []
    for n in range(chunks + 1):
        cache.move_reference(-n * K if ahead is None else ahead)
        outs.append(model.forward_chunk(d["noisy"][n], d["noisy_cond"][n], d["noisy_t"][n], cache))
        if n < chunks:
            sl = slice(n * K, (n + 1) * K)
            commit_chunk(model, d["clean"][:, sl], d["clean_cond"][:, sl], cache)
            cache.shift_window(-K)
    return torch.stack(outs)


@torch.no_grad()
def full_pass(model: CausalDiT, d: dict, chunks: int, K: int, k: int, window: int,
              ahead: int | None) -> torch.Tensor:
    """All clean chunks and every noisy chunk in one forward_sequence with the block-causal mask.

    Returns the noisy groups' outputs as (chunks + 1, 1, K + k, C, h, w).
    """
    layout = streaming_layout(chunks, K, k, window, ahead, noisy_chunks=list(range(chunks + 1)))
    x = torch.cat((d["clean"], *d["noisy"].unbind(0)), dim=1)
    cond = torch.cat((d["clean_cond"], *d["noisy_cond"].unbind(0)), dim=1)
    t = torch.cat((torch.zeros(1, chunks * K), *d["noisy_t"].unbind(0)), dim=1)
    out = model.forward_sequence(d["ref"], d["ref_cond"], x, cond, t, layout)[:, chunks * K:]
    return out.reshape(1, chunks + 1, K + k, C, HW, HW).transpose(0, 1)


@pytest.mark.parametrize("ahead", [5, None], ids=["running_ahead", "reference_at_0"])
def test_cached_streaming_equals_full_block_causal_pass_while_sequence_fits_window(ahead):
    model = randomised_model()
    chunks, K, k = 3, 2, 1
    window = chunks * K  # every committed frame stays visible
    d = sequence_data(chunks, K, k)
    streamed = stream_chunks(model, d, chunks, K, window, ahead)
    full = full_pass(model, d, chunks, K, k, window, ahead)
    assert full.abs().mean() > 0.1  # a live model, not the zero-initialised one
    assert (streamed - full).abs().max() < 1e-4


@pytest.mark.parametrize("ahead", [5, None], ids=["running_ahead", "reference_at_0"])
def test_past_the_window_streaming_equals_full_pass_that_hides_frames_older_than_w(ahead):
    model = randomised_model(seed=2)
    chunks, K, k, window = 5, 2, 1, 3
    d = sequence_data(chunks, K, k, seed=3)
    streamed = stream_chunks(model, d, chunks, K, window, ahead)
    assert (streamed - full_pass(model, d, chunks, K, k, window, ahead)).abs().max() < 1e-4
    # the hiding matters: a full pass that still sees old frames gives something else for late chunks
    unwindowed = full_pass(model, d, chunks, K, k, chunks * K, ahead)
    assert (streamed[-1] - unwindowed[-1]).abs().max() > 1e-2


def test_chunk_output_depends_on_the_reference_portrait():
    model = randomised_model(seed=4)
    d = sequence_data(1, 2, 1, seed=5)
    other = dict(d, ref=torch.randn(1, C, HW, HW, generator=torch.Generator().manual_seed(6)))
    a = stream_chunks(model, d, 1, 2, 4, 3)
    b = stream_chunks(model, other, 1, 2, 4, 3)
    assert (a - b).abs().max() > 1e-2


def test_forward_chunk_without_write_leaves_the_cache_untouched():
    model = randomised_model(seed=7)
    d = sequence_data(1, 2, 1, seed=8)
    cache = model.new_cache(4)
    with torch.no_grad():
        model.encode_reference(d["ref"], d["ref_cond"], cache, reference_time=3)
        commit_chunk(model, d["clean"], d["clean_cond"], cache)
        before = [t.clone() for t in (cache.ref_k, cache.ref_v, cache.win_k, cache.win_v)]
        out = model.forward_chunk(d["noisy"][0], d["noisy_cond"][0], torch.ones(1), cache)
    assert out.shape == (1, 3, C, HW, HW)
    assert cache.frames_written == 2
    assert all(torch.equal(a, b) for a, b in zip(before, (cache.ref_k, cache.ref_v, cache.win_k, cache.win_v),
                                                 strict=True))


def test_fresh_model_predicts_zero_velocity_adaln_zero_init():
    model = CausalDiT(CFG)
    d = sequence_data(1, 2, 1)
    cache = model.new_cache(4)
    with torch.no_grad():
        model.encode_reference(d["ref"], d["ref_cond"], cache, reference_time=3)
        assert not model.forward_chunk(d["noisy"][0], d["noisy_cond"][0], torch.ones(1), cache).any()


def test_block_causal_mask_shows_reference_own_chunk_and_window_only():
    # 3 clean chunks of K=2 (times 0..5), one noisy chunk of K + k = 3 frames at 6..8, window W = 3
    layout = streaming_layout(3, 2, 1, 3, ahead_frames=4)
    mask = layout.frame_mask()  # (F, G + F): 4 reference copies, then 9 frames
    noisy = mask[6:, 4:]
    assert noisy[:, :6].tolist() == [[False, False, False, True, True, True]] * 3  # clean frames 3..5 only
    assert noisy[:, 6:].all()  # own chunk, bidirectional
    assert mask[6:, :4].tolist() == [[False, False, False, True]] * 3  # its own reference copy
    assert mask[2:4, 4:].tolist() == [[True] * 4 + [False] * 5] * 2  # clean chunk 1 sees chunk 0 and itself
    assert layout.reference_times == (4.0, 6.0, 8.0, 10.0)
    assert streaming_layout(3, 2, 1, 3, ahead_frames=None).reference_times == (0.0,) * 4


def test_condition_has_the_configured_channels_and_masks_the_i2v_latent():
    b, f, s = 1, 3, CFG.motion_scale
    motion = torch.rand(b, f, CFG.motion_channels, HW * s, HW * s)
    warp = torch.randn(b, f, C, HW, HW)
    i2v = torch.randn(b, f, C, HW, HW)
    mask = torch.tensor([[1.0, 0.0, 0.0]])
    cond = build_condition(motion, warp, i2v, mask, s)
    assert cond.shape == (b, f, CFG.cond_channels, HW, HW)
    i2v_part = cond[:, :, -C - 1:-1]
    assert torch.equal(i2v_part[:, 0], i2v[:, 0]) and not i2v_part[:, 1:].any()
    assert cond[:, :, -1].flatten(2).amax(-1).tolist() == [[1.0, 0.0, 0.0]]


@pytest.fixture(scope="module")
def overfitted() -> dict:
    """A randomly initialised small DiT trained on one clip for 150 steps of teacher-forced flow matching.

    Training pass as in DESIGN.md §6: clean context chunks then a noisy chunk, one forward_sequence with the
    streaming layout (reference running ahead). Returns the model, the clip and the loss before and after.
    """
    torch.manual_seed(0)
    model = CausalDiT(CFG)
    g = torch.Generator().manual_seed(11)
    chunks, K, k, window, ahead = 2, 2, 1, 4, 3
    layout = streaming_layout(chunks, K, k, window, ahead)
    frames = chunks * K + K + k
    clip = torch.randn(1, frames, C, HW, HW, generator=g)  # the clip's latents
    cond = torch.randn(1, frames, CC, HW, HW, generator=g)
    ref, ref_cond = torch.randn(1, C, HW, HW, generator=g), torch.randn(1, CC, HW, HW, generator=g)
    noisy = slice(chunks * K, frames)
    timesteps = (1.0, 0.66, 0.33)
    eval_noise = torch.randn(len(timesteps), 1, K + k, C, HW, HW, generator=g)

    def loss_at(t: float, eps: torch.Tensor) -> torch.Tensor:
        x = clip.clone()
        x[:, noisy] = (1 - t) * clip[:, noisy] + t * eps
        tt = torch.zeros(1, frames)
        tt[:, noisy] = t
        v = model.forward_sequence(ref, ref_cond, x, cond, tt, layout)[:, noisy]
        return (v - (eps - clip[:, noisy])).pow(2).mean()

    def eval_loss() -> float:
        with torch.no_grad():
            return sum(float(loss_at(t, e)) for t, e in zip(timesteps, eval_noise, strict=True)) / len(timesteps)

    before = eval_loss()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    for step in range(150):
        loss = loss_at(timesteps[step % len(timesteps)], torch.randn(1, K + k, C, HW, HW, generator=g))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {"model": model.eval(), "before": before, "after": eval_loss(), "clip": clip, "cond": cond, "ref": ref,
            "ref_cond": ref_cond, "chunks": chunks, "K": K, "window": window, "ahead": ahead,
            "timesteps": timesteps, "noisy": noisy}


def test_random_small_model_overfits_one_clip_with_flow_matching(overfitted):
    assert overfitted["after"] < overfitted["before"] / 10, (overfitted["before"], overfitted["after"])


def test_sampler_with_the_cache_reproduces_the_overfitted_clip(overfitted):
    from engine.knot.sampler import sample_chunk

    o = overfitted
    model, K = o["model"], o["K"]
    cache = model.new_cache(o["window"])
    with torch.no_grad():
        model.encode_reference(o["ref"], o["ref_cond"], cache, reference_time=o["ahead"])
        for n in range(o["chunks"]):
            commit_chunk(model, o["clip"][:, n * K:(n + 1) * K], o["cond"][:, n * K:(n + 1) * K], cache)
            cache.shift_window(-K)
    target = o["clip"][:, o["noisy"]]
    sample = sample_chunk(model, o["cond"][:, o["noisy"]], cache, o["timesteps"],
                          torch.Generator().manual_seed(123))
    assert (sample - target).pow(2).mean() < 0.1 * target.pow(2).mean()
