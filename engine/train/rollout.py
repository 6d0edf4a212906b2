"""The training objective: the streamer's own rollout, supervised by the real frames (Self-Forcing style).

A batch of sequences is generated chunk by chunk exactly as `KnotStreamer` does at inference: the reference's
K/V in the cache (running ahead: kept `ahead_frames` ahead of each chunk), the same per-stream noise for every
chunk, the knot (the previous chunk's held-back frames as image-to-video condition, fused into the emitted
frames), the emitted frames committed to the sliding window (as generated, the paper's design, or as warp
priors) and time re-based by K. So the window the model learns to read is its own output, never the truth.

Per chunk one denoising step, drawn at random (Self-Forcing's random exit), runs with gradients; its clean
prediction x0 = x_t - t v is compared with the real frames: in latent space, and in pixels after the app's
residual composition (warp + decode(x0) - decode(warp latent)) inside the face mask, weighted up on mouth and
eyes, where the warp fails. Everything before that step and the cache writes run without gradients.

Shapes: B batch, L = M K + k frames, R crop side, C latent channels, h = R / 8.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.config import ModelConfig, StreamConfig, TrainConfig
from engine.knot.codec import FrameCodec, to_tensor
from engine.knot.model.dit import CausalDiT, build_condition


def sequence_frames(stream: StreamConfig, chunks: int) -> int:
    """Frames a training sequence of `chunks` chunks needs: K per chunk plus the last chunk's knot."""
    return chunks * stream.chunk_frames + stream.knot_frames


def encode_frames(codec: FrameCodec, images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, F, R, R, 3) -> latents (B, F, C, h, w) with the frozen codec."""
    b, f = images.shape[:2]
    with torch.no_grad():
        z = codec.encode(to_tensor(images.flatten(0, 1)))
    return z.reshape(b, f, *z.shape[1:]).float()


@dataclass
class Rollout:
    """What one rollout produced."""

    emitted: torch.Tensor  # (B, M*K, C, h, w) the frames the streamer would emit, in order
    loss: torch.Tensor | None  # mean over chunks of the exit steps' losses (None without targets)
    latent_loss: float
    pixel_loss: float


def reference_time(stream: StreamConfig, chunk_start: int, jitter: int = 0) -> int:
    """The streamer's reference index for a chunk starting at chunk_start (local time, see KnotStreamer)."""
    return stream.ahead_frames + jitter if stream.running_ahead else -chunk_start


def rollout(dit: CausalDiT, codec: FrameCodec, batch: dict[str, torch.Tensor], model_cfg: ModelConfig,
            stream: StreamConfig, train: TrainConfig | None, gen: torch.Generator, chunks: int,
            noise: torch.Tensor | None = None, exit_steps: list[int] | None = None,
            ahead_jitter: int = 0) -> Rollout:
    """Generate `chunks` chunks of the batch as the streamer would; with `train`, the exit steps' losses.

    batch: ref (B, R, R, 3) uint8, ref_motion (B, M, S, S), frames/warps (B, L, R, R, 3) uint8, motion
    (B, L, M, S, S), regions (B, L, 2, R, R). noise (B, K + k, C, h, w): the per-stream noise (drawn from
    `gen` when None). exit_steps: the denoising step per chunk that carries gradients (random when None).
    """
    K, k, steps = stream.chunk_frames, stream.knot_frames, stream.timesteps
    device = batch["frames"].device
    warp = encode_frames(codec, batch["warps"])  # (B, L, C, h, w)
    ref = encode_frames(codec, batch["ref"][:, None])[:, 0]
    b = ref.shape[0]
    cache = dit.new_cache(stream.window_frames, stream.use_reference_cache, b, device)
    scale = model_cfg.motion_scale
    with torch.no_grad():
        ref_cond = build_condition(batch["ref_motion"][:, None], ref[:, None], None, None, scale)[:, 0]
        if stream.use_reference_cache:
            dit.encode_reference(ref, ref_cond, cache, reference_time(stream, 0, ahead_jitter))
        else:
            dit.encode_reference(ref, ref_cond, cache, -1, into_window=True)
    if noise is None:
        shape = (b, K + k, model_cfg.latent_channels, *ref.shape[-2:])
        noise = torch.randn(shape, generator=gen, device=gen.device).to(device)
    if exit_steps is None:
        exit_steps = torch.randint(len(steps), (chunks,), generator=gen, device=gen.device).tolist()
    schedule = list(steps) + [0.0]
    targets = encode_frames(codec, batch["frames"]) if train is not None else None
    knot: torch.Tensor | None = None
    emitted, losses, lat_losses, pix_losses = [], [], [], []
    for n in range(chunks):
        sl = slice(n * K, n * K + K + k)
        i2v = torch.zeros_like(warp[:, sl])
        i2v_mask = torch.zeros(b, K + k, device=device)
        if knot is not None:  # the temporal knot
            i2v[:, :k] = knot
            i2v_mask[:, :k] = 1.0
        cond = build_condition(batch["motion"][:, sl], warp[:, sl], i2v, i2v_mask, scale)
        cache.move_reference(reference_time(stream, n * K, ahead_jitter))  # running ahead
        x = noise if stream.fixed_noise or n == 0 else torch.randn(noise.shape, generator=gen,
                                                                    device=gen.device).to(device)
        for s, (t, t_next) in enumerate(zip(schedule[:-1], schedule[1:], strict=True)):
            tt = torch.full((b,), t, device=device)
            if train is not None and s == exit_steps[n]:
                v = dit.forward_chunk(x, cond, tt, cache)
                x0 = x - t * v.float()
                lat, pix = _losses(codec, x0, targets[:, sl], warp[:, sl], batch, sl, train)
                losses.append(train.latent_weight * lat + train.pixel_weight * pix)
                lat_losses.append(float(lat.detach()))
                pix_losses.append(float(pix.detach()))
                v = v.detach()
            else:
                with torch.no_grad():
                    v = dit.forward_chunk(x, cond, tt, cache)
            x = (x + (t_next - t) * v.float()).detach()
        latents = x
        if knot is not None:  # the knot's emitted frames fuse both chunks' predictions
            w = stream.knot_fusion
            latents = torch.cat(((1 - w) * knot + w * latents[:, :k], latents[:, k:]), 1)
        emitted.append(latents[:, :K])
        knot = latents[:, K:K + k] if k else None
        window = latents[:, :K] if stream.window_source == "generated" else warp[:, sl][:, :K]
        with torch.no_grad():  # commit to the sliding window, then re-base time by K
            t0 = torch.zeros(b, device=device)
            dit.forward_chunk(window, cond[:, :K], t0, cache, cache.slots(K))
            cache.advance(K)
            cache.shift_window(-K)
    loss = torch.stack(losses).mean() if losses else None
    mean = (lambda xs: sum(xs) / len(xs)) if lat_losses else (lambda xs: float("nan"))
    return Rollout(torch.cat(emitted, 1), loss, mean(lat_losses), mean(pix_losses))


def _losses(codec: FrameCodec, x0: torch.Tensor, target: torch.Tensor, warp: torch.Tensor,
            batch: dict[str, torch.Tensor], sl: slice, train: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Latent MSE, and the region-weighted L1 of the composed crop against the real frame."""
    lat = F.mse_loss(x0, target)
    composed = compose_crops(codec, x0, warp, batch["warps"][:, sl])  # (B, F, 3, R, R), with gradients
    real = to_tensor(batch["frames"][:, sl])
    regions = batch["regions"][:, sl]  # (B, F, 2, R, R)
    weight = (regions[:, :, :1] * (1 + train.detail_weight * regions[:, :, 1:2]))
    pix = ((composed - real).abs() * weight).sum() / (weight.sum() * 3 + 1e-6)
    return lat, pix


def compose_crops(codec: FrameCodec, latents: torch.Tensor, warp_latents: torch.Tensor,
                  warp_images: torch.Tensor) -> torch.Tensor:
    """The app's residual blend in crop space: warp + decode(latents) - decode(warp latents).

    latents/warp_latents (B, F, C, h, w), warp_images uint8 (B, F, R, R, 3) -> (B, F, 3, R, R) in [-1, 1]
    (unclipped; the face mask is applied by the caller's weights).
    """
    b, f = latents.shape[:2]
    dec = codec.decode(latents.flatten(0, 1).to(next(codec.parameters()).dtype)).float()
    with torch.no_grad():
        dec_warp = codec.decode(warp_latents.flatten(0, 1)).float()
    out = to_tensor(warp_images.flatten(0, 1)) + dec - dec_warp
    return out.reshape(b, f, *out.shape[1:])


def codec_loss(codec: FrameCodec, images: torch.Tensor) -> torch.Tensor:
    """L1 reconstruction + L1 on image gradients (edges), images uint8 (B, R, R, 3)."""
    x = to_tensor(images)
    y = codec(x)

    def grads(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return z[..., 1:, :] - z[..., :-1, :], z[..., :, 1:] - z[..., :, :-1]

    (gy, gx), (ty, tx) = grads(y), grads(x)
    return F.l1_loss(y, x) + 0.5 * (F.l1_loss(gy, ty) + F.l1_loss(gx, tx))
