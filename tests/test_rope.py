"""3D rotary embedding: rotations, time shifts of cached keys, and relative-position attention scores."""

from __future__ import annotations

import pytest
import torch

from engine.knot.model.rope import Rope3D, frame_positions

HEAD_DIM = 24  # three bands of 8 channels (t, y, x)


def random_positions(gen: torch.Generator, tokens: int, span: float = 50.0) -> torch.Tensor:
    """(T, 3) integer-valued positions (t, y, x) as float64."""
    return torch.randint(-int(span), int(span), (tokens, 3), generator=gen).to(torch.float64)


def test_shift_keys_of_rotated_keys_equals_rotation_at_the_shifted_time():
    rope = Rope3D(HEAD_DIM)
    gen = torch.Generator().manual_seed(0)
    k = torch.randn(2, 3, 16, HEAD_DIM, generator=gen)
    pos = random_positions(gen, 16)
    for dt in (1, -3, 7, 250, -4096):
        moved = pos.clone()
        moved[:, 0] += dt
        assert torch.allclose(rope.shift_keys(rope.rotate(k, pos), dt), rope.rotate(k, moved), atol=1e-5)


def test_shift_keys_moves_only_the_time_band():
    rope = Rope3D(HEAD_DIM)
    k = torch.randn(1, 1, 5, HEAD_DIM, generator=torch.Generator().manual_seed(1))
    shifted = rope.shift_keys(k, 3)
    assert not torch.allclose(shifted[..., : rope.band], k[..., : rope.band])
    assert torch.equal(shifted[..., rope.band:], k[..., rope.band:])


def test_rotation_preserves_vector_norms():
    rope = Rope3D(HEAD_DIM)
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(1, 2, 30, HEAD_DIM, generator=gen)
    rotated = rope.rotate(x, random_positions(gen, 30, span=1000))
    assert torch.allclose(rotated.norm(dim=-1), x.norm(dim=-1), atol=1e-5)


@pytest.mark.parametrize("axis", [0, 1, 2], ids=["time", "y", "x"])
def test_attention_score_depends_only_on_the_position_difference(axis):
    rope = Rope3D(HEAD_DIM)
    gen = torch.Generator().manual_seed(3 + axis)
    q = torch.randn(1, 1, 1, HEAD_DIM, generator=gen, dtype=torch.float64)
    k = torch.randn(1, 1, 1, HEAD_DIM, generator=gen, dtype=torch.float64)
    p_q = torch.tensor([[4.0, 2.0, 5.0]], dtype=torch.float64)
    p_k = torch.tensor([[1.0, 6.0, 3.0]], dtype=torch.float64)

    def score(offset: float) -> float:
        shift = torch.zeros(1, 3, dtype=torch.float64)
        shift[0, axis] = offset
        return float((rope.rotate(q, p_q + shift) * rope.rotate(k, p_k + shift)).sum())

    base = score(0.0)
    for offset in (1.0, -7.0, 123.0, 10_000.0):
        assert score(offset) == pytest.approx(base, abs=1e-9)
    # and it does depend on the difference: moving only the key changes the score
    moved = p_k.clone()
    moved[0, axis] += 2.0
    assert float((rope.rotate(q, p_q) * rope.rotate(k, moved)).sum()) != pytest.approx(base, abs=1e-3)


def test_frame_positions_enumerate_time_then_grid_rows_then_columns():
    pos = frame_positions(torch.tensor([5.0, 9.0]), grid=3)
    assert pos.shape == (2 * 9, 3)
    assert pos[:9, 0].eq(5).all() and pos[9:, 0].eq(9).all()
    assert pos[:9, 1:].tolist() == [[y, x] for y in range(3) for x in range(3)]


def test_head_dim_not_divisible_into_three_even_bands_is_rejected():
    with pytest.raises(ValueError):
        Rope3D(20)
