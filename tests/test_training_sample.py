"""TrainingTensors.sample: which clips a batch draws from (the balance between one long clip and short ones)."""

from __future__ import annotations

import torch

from engine.data.cache import TrainingTensors


def _tensors(lengths: list[int]) -> TrainingTensors:
    n, r, m = sum(lengths), 8, 4
    starts = torch.tensor([0, *lengths]).cumsum(0)[:-1]
    frames = torch.zeros(n, r, r, 3, dtype=torch.uint8)
    for i, (a, length) in enumerate(zip(starts.tolist(), lengths, strict=True)):
        frames[a:a + length] = i  # every pixel of a frame names its clip
    refs = torch.stack([a + torch.tensor([0, length - 1]) for a, length in zip(starts.tolist(), lengths, strict=True)])
    return TrainingTensors(frames=frames, motion=torch.zeros(n, 3, m, m, dtype=torch.uint8),
                           regions=torch.zeros(n, 2, r, r, dtype=torch.uint8),
                           warps=frames[None].repeat(2, 1, 1, 1, 1), refs=refs,
                           clips=torch.stack([starts, torch.tensor(lengths)], dim=1), stills=frames[:1])


def _clip_shares(data: TrainingTensors, balance: float) -> torch.Tensor:
    batch = data.sample(4000, 3, torch.Generator().manual_seed(0), augment=False, clip_balance=balance)
    clip = batch["frames"][:, 0, 0, 0, 0].long()
    return torch.bincount(clip, minlength=data.num_clips).float() / len(clip)


def test_clip_balance_moves_the_draw_from_frames_alike_to_clips_alike():
    data = _tensors([900, 100])
    by_frames, sqrt, alike = (_clip_shares(data, b) for b in (1.0, 0.5, 0.0))
    assert abs(by_frames[1] - 0.1) < 0.03  # a clip in proportion to its frames
    assert abs(sqrt[1] - 0.25) < 0.03  # sqrt(100) / (sqrt(900) + sqrt(100))
    assert abs(alike[1] - 0.5) < 0.03


def _textured(n: int = 40, r: int = 32) -> TrainingTensors:
    gen = torch.Generator().manual_seed(3)
    frames = (torch.rand(n, r, r, 3, generator=gen) * 255).to(torch.uint8)  # detail at every pixel
    return TrainingTensors(frames=frames, motion=torch.zeros(n, 3, 4, 4, dtype=torch.uint8),
                           regions=torch.zeros(n, 2, r, r, dtype=torch.uint8), warps=frames[None].clone(),
                           refs=torch.tensor([[0]]), clips=torch.tensor([[0, n]]), stills=frames[:1])


def _detail(images: torch.Tensor) -> float:
    x = images.float()
    return float((x[..., 1:, :, :] - x[..., :-1, :, :]).abs().mean())


def test_a_degraded_sequence_loses_detail_alike_in_reference_frames_and_priors():
    data = _textured()
    gen = torch.Generator().manual_seed(0)
    sharp = data.sample(16, 4, gen, exact_prior_share=1.0)
    soft = data.sample(16, 4, gen, exact_prior_share=1.0, degrade_share=1.0)
    assert _detail(soft["frames"]) < 0.6 * _detail(sharp["frames"])
    assert _detail(soft["ref"]) < 0.6 * _detail(sharp["ref"])
    assert torch.equal(soft["warps"], soft["frames"])  # an exact prior stays exact: one degradation for all
    assert soft["frames"].shape == sharp["frames"].shape and soft["frames"].dtype == torch.uint8


def test_without_augmentation_no_sequence_is_degraded():
    data = _textured()
    batch = data.sample(8, 4, torch.Generator().manual_seed(1), augment=False, degrade_share=1.0)
    frames = batch["frames"].flatten(0, 1).flatten(1).float()
    distance = torch.cdist(frames, data.frames.flatten(1).float(),
                           compute_mode="donot_use_mm_for_euclid_dist").min(dim=1).values
    assert float(distance.max()) == 0.0  # every frame is one of the clip's frames, untouched


def test_a_hue_rotation_changes_colours_alike_and_keeps_greys():
    from engine.data.cache import _rotate_hue

    red = torch.tensor([[[200, 40, 40]], [[200, 40, 40]]], dtype=torch.uint8)  # (2, 1, 3)
    grey = torch.full((2, 1, 3), 120, dtype=torch.uint8)
    angle = torch.tensor([0.0, 2 * torch.pi / 3])
    assert torch.equal(_rotate_hue(red, angle)[0], red[0])  # angle 0: unchanged
    assert abs(_rotate_hue(red, angle)[1].int() - torch.tensor([[40, 200, 40]])).max() <= 1  # a third: R -> G
    assert torch.equal(_rotate_hue(grey, angle), grey)
    data = _textured()
    batch = data.sample(16, 4, torch.Generator().manual_seed(2), exact_prior_share=1.0, hue_share=1.0)
    assert torch.equal(batch["warps"], batch["frames"])  # the same rotation for the whole sequence
