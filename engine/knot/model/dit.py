"""CausalDiT: the few-step video diffusion transformer of Knot Forcing.

Data flow (B batch, F frames, C latent channels, Cc condition channels, h = w latent side, p patch,
N = (h/p)^2 tokens per frame, D width):
  noisy latents (B, F, C, h, w) ++ condition (B, F, Cc, h, w) -> patchify -> (B, F*N, D)
  -> L x [adaLN(t) -> self-attention with 3D RoPE -> adaLN(t) -> MLP] -> adaLN -> unpatchify
  -> velocity (B, F, C, h, w) for flow matching (x_t = (1 - t) x0 + t eps, v = eps - x0); with
  cfg.prediction "warp_residual" the network's output is x0 minus the warp-prior latent of the condition.

Three ways to run it, one set of weights:
  encode_reference  the portrait once, self-attention only; its K/V fill the cache's reference slots.
  forward_chunk     one chunk, attending to cache (reference + window) and to itself; optionally writes
                    its own K/V into the window (the clean t=0 pass after denoising).
  forward_sequence  a whole sequence in one pass with the equivalent block-causal mask (training, tests).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from engine.config import ModelConfig
from engine.knot.model.attention import Attention
from engine.knot.model.kv_cache import KVCache
from engine.knot.model.layout import SequenceLayout
from engine.knot.model.rope import Rope3D, frame_positions


class TimestepEmbedder(nn.Module):
    """Flow time t in [0, 1] -> (.., D) via sinusoids and an MLP."""

    def __init__(self, dim: int, freq_dim: int = 128) -> None:
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.freq_dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
        ang = (t.float() * 1000.0)[..., None] * freqs
        emb = torch.cat((ang.cos(), ang.sin()), dim=-1)
        return self.mlp(emb.to(self.mlp[0].weight.dtype))


class Block(nn.Module):
    """adaLN-Zero transformer block; the attention's context is decided by the caller.

    Modulation is computed once per frame (B, F, 6D) and broadcast over the frame's N tokens.
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim))
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))
        nn.init.zeros_(self.ada[1].weight)
        nn.init.zeros_(self.ada[1].bias)

    def modulation(self, temb: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """temb (B, F, D) -> six (B, F, 1, D) tensors: shift/scale/gate for attention and MLP."""
        return self.ada(temb)[:, :, None].chunk(6, dim=-1)

    def qkv(self, h: torch.Tensor, mod: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """h (B, F*N, D) -> q, k, v (B, H, F*N, hd)."""
        return self.attn.project(_modulate(self.norm1(h), mod[0], mod[1]))

    def finish(self, h: torch.Tensor, attn_out: torch.Tensor, mod: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Gated residual of the attention output, then the gated MLP. (B, F*N, D) -> (B, F*N, D)."""
        h = h + _gate(attn_out, mod[2])
        return h + _gate(self.mlp(_modulate(self.norm2(h), mod[3], mod[4])), mod[5])


def _modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    # x (B, F*N, D), shift/scale (B, F, 1, D)
    b, f = shift.shape[:2]
    return (x.view(b, f, -1, x.shape[-1]) * (1 + scale) + shift).view_as(x)


def _gate(x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    b, f = gate.shape[:2]
    return (x.view(b, f, -1, x.shape[-1]) * gate).view_as(x)


class CausalDiT(nn.Module):
    """The Knot Forcing denoiser. See the module docstring for its three entry points."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        p, c = cfg.patch, cfg.latent_channels
        self.grid = cfg.latent_size // p
        self.embed = nn.Linear((c + cfg.cond_channels) * p * p, cfg.width)
        self.t_embed = TimestepEmbedder(cfg.width)
        self.blocks = nn.ModuleList(Block(cfg.width, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.depth))
        self.final_norm = nn.LayerNorm(cfg.width, elementwise_affine=False, eps=1e-6)
        self.final_ada = nn.Sequential(nn.SiLU(), nn.Linear(cfg.width, 2 * cfg.width))
        self.final = nn.Linear(cfg.width, p * p * c)
        for layer in (self.final_ada[1], self.final):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.rope = Rope3D(cfg.head_dim, cfg.rope_theta)
        self._chunk_tables: dict[tuple, list[tuple[torch.Tensor, torch.Tensor]]] = {}  # see _chunk_table

    # --- tokens ----------------------------------------------------------------------------------------
    def _tokens(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """x (B, F, C, h, w), cond (B, F, Cc, h, w) -> (B, F*N, D)."""
        b, f = x.shape[:2]
        z = torch.cat((x, cond.to(x.dtype)), dim=2).flatten(0, 1)  # (B*F, C+Cc, h, w)
        z = F.pixel_unshuffle(z, self.cfg.patch)  # (B*F, (C+Cc)*p*p, h/p, w/p)
        z = z.flatten(2).transpose(1, 2)  # (B*F, N, (C+Cc)*p*p)
        return self.embed(z).reshape(b, f * z.shape[1], -1)

    def _output(self, h: torch.Tensor, temb: torch.Tensor, frames: int) -> torch.Tensor:
        """(B, F*N, D) -> velocity (B, F, C, h, w)."""
        shift, scale = self.final_ada(temb)[:, :, None].chunk(2, dim=-1)
        out = self.final(_modulate(self.final_norm(h), shift, scale))  # (B, F*N, p*p*C)
        b, n = out.shape[0], self.grid * self.grid
        out = out.reshape(b * frames, n, -1).transpose(1, 2).reshape(b * frames, -1, self.grid, self.grid)
        out = F.pixel_shuffle(out, self.cfg.patch)  # (B*F, C, h, w)
        return out.reshape(b, frames, *out.shape[1:])

    def _velocity(self, out: torch.Tensor, x: torch.Tensor, cond: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Network output (B, F, C, h, w) -> velocity. With "warp_residual", x0 = warp latent + out and
        v = (x_t - x0) / t (t clamped away from 0: at t = 0, the commit pass, the output is not used)."""
        if self.cfg.prediction == "velocity":
            return out
        first = self.cfg.motion_channels * self.cfg.motion_scale ** 2
        warp = cond[:, :, first:first + self.cfg.latent_channels].float()
        tt = (t if t.dim() == 2 else t[:, None].expand(-1, x.shape[1])).float()
        return ((x.float() - warp - out.float()) / tt.clamp_min(1e-3)[..., None, None, None]).to(out.dtype)

    def _frame_temb(self, t: torch.Tensor, frames: int) -> torch.Tensor:
        """t (B,) or (B, F) -> per-frame embedding (B, F, D)."""
        if t.dim() == 1:
            t = t[:, None].expand(-1, frames)
        return self.t_embed(t)

    def _rope_table(self, times: torch.Tensor, like: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """RoPE cos/sin for all tokens of frames at `times` (F,), in like's device and dtype."""
        return self.rope.table(frame_positions(times, self.grid), like.device, like.dtype)

    def _chunk_table(self, frames: int, like: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """RoPE table of a chunk at local times 0..frames-1: the same every chunk, so built once per
        (frames, device, dtype). Keeps host-to-device copies out of the chunk loop (and out of CUDA graphs)."""
        key = (frames, like.device, like.dtype)
        if key not in self._chunk_tables:
            self._chunk_tables[key] = self._rope_table(torch.arange(frames, dtype=torch.float64), like)
        return self._chunk_tables[key]

    # --- streaming -------------------------------------------------------------------------------------
    def encode_reference(self, ref_x: torch.Tensor, ref_cond: torch.Tensor, cache: KVCache,
                         reference_time: int, into_window: bool = False) -> None:
        """Run the portrait once (t = 0, self-attention only) and store its K/V in the cache.

        ref_x (B, C, h, w), ref_cond (B, Cc, h, w). into_window=True writes it as a window frame instead of
        the reference slots (the "no reference cache" ablation).
        """
        h = self._tokens(ref_x[:, None], ref_cond[:, None])
        temb = self._frame_temb(torch.zeros(ref_x.shape[0], device=ref_x.device), 1)
        pos = self._rope_table(torch.tensor([float(reference_time)]), h)
        slots = cache.slots(1) if into_window else None
        for i, blk in enumerate(self.blocks):
            mod = blk.modulation(temb)
            q, k, v = blk.qkv(h, mod)
            q, k = self.rope.apply(q, pos), self.rope.apply(k, pos)
            h = blk.finish(h, blk.attn.attend(q, k, v), mod)
            if into_window:
                cache.write_frames(i, k, v, slots)
            else:
                cache.write_reference(i, k, v, reference_time)
        if into_window:
            cache.advance(1)

    def forward_chunk(self, x: torch.Tensor, cond: torch.Tensor, t: torch.Tensor, cache: KVCache,
                      slots: torch.Tensor | None = None) -> torch.Tensor:
        """One chunk at local times 0..F-1, reading the cache. x (B, F, C, h, w), t (B,) or (B, F).

        `slots` (= cache.slots(F)) stores the chunk's K/V there in the window (use with clean latents and
        t = 0; then call cache.advance(F), as `sampler.commit_chunk` does). Returns velocity (B, F, C, h, w).
        """
        frames = x.shape[1]
        h = self._tokens(x, cond)
        temb = self._frame_temb(t, frames)
        pos = self._chunk_table(frames, h)
        for i, blk in enumerate(self.blocks):
            mod = blk.modulation(temb)
            q, k, v = blk.qkv(h, mod)
            q, k = self.rope.apply(q, pos), self.rope.apply(k, pos)
            ck, cv = cache.keys_values(i)
            h = blk.finish(h, blk.attn.attend(q, torch.cat((ck, k), 2), torch.cat((cv, v), 2)), mod)
            if slots is not None:  # after the read: the ring slots written may be the ones just attended to
                cache.write_frames(i, k, v, slots)
        return self._velocity(self._output(h, temb, frames), x, cond, t)

    # --- full pass -------------------------------------------------------------------------------------
    def forward_sequence(self, ref_x: torch.Tensor, ref_cond: torch.Tensor, x: torch.Tensor, cond: torch.Tensor,
                         t: torch.Tensor, layout: SequenceLayout) -> torch.Tensor:
        """All frames of `layout` in one pass with its block-causal mask. x (B, F, C, h, w), t (B, F).

        Returns velocity (B, F, C, h, w). The reference attends only to itself, so its hidden states do not
        depend on its time index; each group sees a copy of its keys rotated to that group's reference time.
        """
        frames = x.shape[1]
        n = self.grid * self.grid
        ref_h = self._tokens(ref_x[:, None], ref_cond[:, None])
        ref_temb = self._frame_temb(torch.zeros(ref_x.shape[0], device=x.device), 1)
        ref_pos = self._rope_table(torch.zeros(1), ref_h)
        h = self._tokens(x, cond)
        temb = self._frame_temb(t, frames)
        pos = self._rope_table(torch.tensor(layout.times, dtype=torch.float64), h)
        mask = layout.token_mask(n, n).to(x.device)
        for blk in self.blocks:
            ref_mod = blk.modulation(ref_temb)
            rq, rk, rv = blk.qkv(ref_h, ref_mod)
            rq, rk = self.rope.apply(rq, ref_pos), self.rope.apply(rk, ref_pos)
            ref_out = blk.attn.attend(rq, rk, rv)
            mod = blk.modulation(temb)
            q, k, v = blk.qkv(h, mod)
            q, k = self.rope.apply(q, pos), self.rope.apply(k, pos)
            ref_k = torch.cat([self.rope.shift_keys(rk, rt) for rt in layout.reference_times], dim=2)
            ref_v = rv.repeat(1, 1, layout.num_groups, 1)
            out = blk.attn.attend(q, torch.cat((ref_k, k), 2), torch.cat((ref_v, v), 2), mask)
            ref_h = blk.finish(ref_h, ref_out, ref_mod)
            h = blk.finish(h, out, mod)
        return self._velocity(self._output(h, temb, frames), x, cond, t)

    def forward(self, *args, **kwargs) -> torch.Tensor:
        """The full masked pass (what training runs, also through DistributedDataParallel)."""
        return self.forward_sequence(*args, **kwargs)

    def new_cache(self, window_frames: int, use_reference_cache: bool = True, batch: int = 1,
                  device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> KVCache:
        """A cache sized for this model: one reference frame of slots, W frames of window."""
        n = self.grid * self.grid
        return KVCache(self.cfg.depth, self.cfg.heads, self.cfg.head_dim, n, window_frames,
                       n if use_reference_cache else 0, self.rope, batch, device, dtype)


def build_condition(motion_map: torch.Tensor, warp_latent: torch.Tensor, i2v_latent: torch.Tensor | None,
                    i2v_mask: torch.Tensor | None, motion_scale: int) -> torch.Tensor:
    """Assemble the per-frame condition.

    motion_map (B, F, M, h*s, w*s) in [0, 1]; warp_latent (B, F, C, h, w); i2v_latent (B, F, C, h, w) or
    None; i2v_mask (B, F) in {0, 1} or None -> (B, F, M*s*s + 2C + 1, h, w).
    """
    b, f = warp_latent.shape[:2]
    mm = F.pixel_unshuffle(motion_map.flatten(0, 1), motion_scale).reshape(b, f, -1, *warp_latent.shape[-2:])
    if i2v_latent is None:
        i2v_latent = torch.zeros_like(warp_latent)
        i2v_mask = torch.zeros(b, f, device=warp_latent.device)
    mask = i2v_mask[:, :, None, None, None].expand(-1, -1, 1, *warp_latent.shape[-2:]).to(warp_latent.dtype)
    return torch.cat((mm.to(warp_latent.dtype), warp_latent, i2v_latent * mask, mask), dim=2)
