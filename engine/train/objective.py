"""The Knot Forcing training objective on one batch: flow matching on chunks, exactly as at inference.

A sequence holds M-1 clean context chunks (K frames each, lightly noised so the model tolerates its own
imperfect history) and M noisy chunks (K + k frames each). Noisy chunk n attends to the reference, the
clean frames of the last W frames before its start, and itself (block-causal mask, `streaming_layout`); its
first k frames carry the image-to-video knot condition (the clean latent, lightly noised) when n > 0. The
reference sits `ahead_frames` ahead of each chunk's start (running ahead), with a little jitter.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from engine.config import ModelConfig, StreamConfig, TrainConfig
from engine.knot.codec import FrameCodec
from engine.knot.model.dit import CausalDiT, build_condition
from engine.knot.model.layout import streaming_layout


def sequence_frames(stream: StreamConfig, chunks: int) -> int:
    """Frames a training sequence needs for `chunks` noisy chunks: (M-1) K context + the last chunk's K + k."""
    return chunks * stream.chunk_frames + stream.knot_frames


def images_to_latents(codec: FrameCodec, images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, F, R, R, 3) -> latents (B, F, C, h, w) with the frozen codec."""
    b, f = images.shape[:2]
    x = images.flatten(0, 1).permute(0, 3, 1, 2).float().div(127.5).sub(1)
    with torch.no_grad():
        z = codec.encode(x)
    return z.reshape(b, f, *z.shape[1:])


def flow_matching_loss(dit: CausalDiT, codec: FrameCodec, batch: dict[str, torch.Tensor], model_cfg: ModelConfig,
                       stream: StreamConfig, train: TrainConfig, rng: np.random.Generator,
                       fixed_t: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mean squared velocity error over the noisy chunks of a batch (see module docstring)."""
    K, k, M = stream.chunk_frames, stream.knot_frames, train.context_chunks + 1
    device = batch["frames"].device
    x0 = images_to_latents(codec, batch["frames"])  # (B, L, C, h, w), L = M*K + k
    warp = images_to_latents(codec, batch["warps"])
    ref = images_to_latents(codec, batch["ref"][:, None])[:, 0]  # (B, C, h, w)
    b = x0.shape[0]

    def noise_like(t: torch.Tensor) -> torch.Tensor:
        return torch.randn(t.shape, generator=generator, device=device) if generator else torch.randn_like(t)

    def knot_condition(frames: slice, first_chunk: bool) -> tuple[torch.Tensor, torch.Tensor]:
        lat = x0[:, frames]
        mask = torch.zeros(b, lat.shape[1], device=device)
        i2v = torch.zeros_like(lat)
        if not first_chunk and k:
            tau = torch.rand(b, 1, 1, 1, 1, device=device) * train.context_noise
            i2v[:, :k] = (1 - tau) * lat[:, :k] + tau * noise_like(lat[:, :k])
            mask[:, :k] = 1.0
        return i2v, mask

    xs, conds, ts = [], [], []
    for n in range(M - 1):  # clean context chunks
        sl = slice(n * K, (n + 1) * K)
        tau = torch.rand(b, 1, device=device) * train.context_noise
        clean = (1 - tau[..., None, None, None]) * x0[:, sl] + tau[..., None, None, None] * noise_like(x0[:, sl])
        i2v, mask = knot_condition(sl, n == 0)
        xs.append(clean)
        conds.append(build_condition(batch["motion"][:, sl], warp[:, sl], i2v, mask, model_cfg.motion_scale))
        ts.append(tau.expand(-1, K))
    noisy_targets = []
    for n in range(M):  # noisy chunks
        sl = slice(n * K, n * K + K + k)
        if fixed_t is not None:
            t = torch.full((b, 1), fixed_t, device=device)
        elif rng.random() < train.schedule_prob:
            t = torch.full((b, 1), float(rng.choice(stream.timesteps)), device=device)
        else:
            t = torch.rand(b, 1, device=device)
        eps = noise_like(x0[:, sl])
        xt = (1 - t[..., None, None, None]) * x0[:, sl] + t[..., None, None, None] * eps
        i2v, mask = knot_condition(sl, n == 0)
        xs.append(xt)
        conds.append(build_condition(batch["motion"][:, sl], warp[:, sl], i2v, mask, model_cfg.motion_scale))
        ts.append(t.expand(-1, K + k))
        noisy_targets.append(eps - x0[:, sl])
    jitter = int(rng.integers(-train.ahead_jitter, train.ahead_jitter + 1)) if fixed_t is None else 0
    layout = streaming_layout(M - 1, K, k, stream.window_frames, stream.ahead_frames + jitter,
                              noisy_chunks=list(range(M)))
    ref_cond = build_condition(batch["ref_motion"][:, None], ref[:, None], None, None, model_cfg.motion_scale)[:, 0]
    v = dit(ref, ref_cond, torch.cat(xs, 1), torch.cat(conds, 1), torch.cat(ts, 1), layout)
    clean_frames = (M - 1) * K
    return F.mse_loss(v[:, clean_frames:].float(), torch.cat(noisy_targets, 1).float())


def codec_loss(codec: FrameCodec, images: torch.Tensor) -> torch.Tensor:
    """L1 reconstruction + L1 on image gradients (edges), images uint8 (B, R, R, 3)."""
    x = images.permute(0, 3, 1, 2).float().div(127.5).sub(1)
    y = codec(x)
    def grads(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return z[..., 1:, :] - z[..., :-1, :], z[..., :, 1:] - z[..., :, :-1]
    (gy, gx), (ty, tx) = grads(y), grads(x)
    return F.l1_loss(y, x) + 0.5 * (F.l1_loss(gy, ty) + F.l1_loss(gx, tx))
