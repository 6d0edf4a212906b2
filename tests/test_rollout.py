"""The training rollout is the streamer's own loop: same frames, with gradients on one step per chunk."""

from __future__ import annotations

import pytest
import torch

from engine.config import StreamConfig, TrainConfig
from engine.knot.codec import FrameCodec
from engine.knot.model.dit import CausalDiT
from engine.knot.streaming import KnotStreamer
from engine.train.rollout import encode_frames, rollout, sequence_frames
from tests.small_models import SMALL, randomise, randomised_model


def random_batch(b: int, length: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Images and maps of random but fixed content, in the layout TrainingTensors.sample returns."""
    g = torch.Generator().manual_seed(seed)
    r, s = SMALL.resolution, SMALL.motion_size

    def img(*shape):
        return torch.randint(0, 256, (*shape, r, r, 3), generator=g, dtype=torch.uint8)

    return {"ref": img(b), "ref_motion": torch.rand(b, 3, s, s, generator=g), "frames": img(b, length),
            "warps": img(b, length), "motion": torch.rand(b, length, 3, s, s, generator=g),
            "regions": torch.rand(b, length, 2, r, r, generator=g)}


@pytest.mark.parametrize("stream", [
    StreamConfig(chunk_frames=2, knot_frames=1, window_frames=4, ahead_frames=3, timesteps=(1.0, 0.5)),
    StreamConfig(chunk_frames=2, knot_frames=1, window_frames=4, ahead_frames=3, timesteps=(1.0, 0.5),
                 window_source="warp_prior", running_ahead=False),
    StreamConfig(chunk_frames=3, knot_frames=0, window_frames=3, timesteps=(1.0, 0.6, 0.3)),
], ids=["knot-generated-window", "warp-prior-window-no-running-ahead", "no-knot"])
def test_training_rollout_generates_exactly_what_the_streamer_emits(stream):
    """Chunk after chunk (past the window, so it also evicts), the rollout's emitted latents equal the
    KnotStreamer's for the same portrait, driving frames and per-stream noise."""
    torch.manual_seed(0)
    dit, codec = randomised_model(), randomise(FrameCodec(SMALL), 0.1).eval()
    chunks = 5
    batch = random_batch(1, sequence_frames(stream, chunks))
    streamer = KnotStreamer(dit, stream)
    with torch.no_grad():
        ref = encode_frames(codec, batch["ref"][:, None])[0, 0]
        streamer.set_reference(ref, batch["ref_motion"][0])
        warps = encode_frames(codec, batch["warps"])[0]
        emitted = []
        for i in range(chunks * stream.chunk_frames + stream.knot_frames):
            emitted += streamer.push(batch["motion"][0, i], warps[i], float(i))
        out = rollout(dit, codec, batch, SMALL, stream, None, torch.Generator(), chunks, noise=streamer.noise)
    expected = torch.stack([f.latent for f in emitted][: chunks * stream.chunk_frames])
    assert out.emitted.shape[1] == chunks * stream.chunk_frames
    assert (out.emitted[0] - expected).abs().max() < 1e-4
    assert expected.abs().mean() > 0.1


def test_rollout_loss_reaches_the_parameters_only_through_the_exit_steps():
    """With targets, the loss has a gradient for the DiT and none for the frozen codec; the exit step picks
    which denoising step is trained (different steps give different losses)."""
    stream = StreamConfig(chunk_frames=2, knot_frames=1, window_frames=4, ahead_frames=3, timesteps=(1.0, 0.5))
    dit, codec = randomised_model(std=0.05).train(), randomise(FrameCodec(SMALL), 0.1).eval().requires_grad_(False)
    batch = random_batch(2, sequence_frames(stream, 3))
    losses = []
    for exit_step in (0, 1):
        dit.zero_grad()
        out = rollout(dit, codec, batch, SMALL, stream, TrainConfig(), torch.Generator().manual_seed(1), 3,
                      exit_steps=[exit_step] * 3)
        out.loss.backward()
        losses.append(float(out.loss))
        grads = [p.grad for p in dit.parameters()]
        assert all(g is not None for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0
    assert losses[0] != pytest.approx(losses[1])
    assert all(p.grad is None for p in codec.parameters())


def test_a_warp_residual_dit_with_a_zero_output_layer_emits_the_warp_prior():
    """prediction="warp_residual": before training, every emitted frame is its own warp-prior latent, so a
    trained model starts from the warp baseline and can only learn corrections to it."""
    from dataclasses import replace

    cfg = replace(SMALL, prediction="warp_residual")
    torch.manual_seed(0)
    dit = randomise(CausalDiT(cfg), 0.2).eval()
    torch.nn.init.zeros_(dit.final.weight)
    torch.nn.init.zeros_(dit.final.bias)
    codec = randomise(FrameCodec(cfg), 0.1).eval()
    stream = StreamConfig(chunk_frames=2, knot_frames=1, window_frames=4, ahead_frames=3, timesteps=(1.0, 0.6, 0.3))
    batch = random_batch(2, sequence_frames(stream, 3))
    with torch.no_grad():
        out = rollout(dit, codec, batch, cfg, stream, None, torch.Generator().manual_seed(0), 3)
        warps = encode_frames(codec, batch["warps"])[:, :6]
    assert (out.emitted - warps).abs().max() < 1e-4
