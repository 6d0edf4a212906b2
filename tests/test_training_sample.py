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
