"""KVCache: per-layer keys/values of the reference portrait (fixed slots) and of the last W clean frames
(a ring buffer). All tensors are allocated once; memory is O(reference + W) however long the stream runs.

Keys are stored already rotated by RoPE, in *local* time: the chunk being generated always sits at local
times [0, K + k). After each chunk the streamer re-bases time (`shift_window(-K)`) so stored keys keep
their distance to the next chunk and no time index grows with the length of the stream.
"""

from __future__ import annotations

import torch

from engine.knot.model.rope import Rope3D


class KVCache:
    """Reference slots + sliding-window ring buffer, one pair of K/V tensors per layer.

    Shapes: ref_k/ref_v (L, B, H, R, hd) with R = reference tokens (0 when the reference cache is off);
    win_k/win_v (L, B, H, W * N, hd) with N tokens per frame.
    Indices: `reference_tokens_written` = reference tokens in the reference slots; `frames_written` = frames
    ever written to the window (the ring's write position); `reference_time` = local time of the reference keys.
    """

    def __init__(self, layers: int, heads: int, head_dim: int, tokens_per_frame: int, window_frames: int,
                 reference_tokens: int, rope: Rope3D, batch: int = 1, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32) -> None:
        self.rope = rope
        self.tokens_per_frame = tokens_per_frame
        self.window_frames = window_frames
        shape_ref = (layers, batch, heads, reference_tokens, head_dim)
        shape_win = (layers, batch, heads, window_frames * tokens_per_frame, head_dim)
        self.ref_k = torch.zeros(shape_ref, device=device, dtype=dtype)
        self.ref_v = torch.zeros(shape_ref, device=device, dtype=dtype)
        self.win_k = torch.zeros(shape_win, device=device, dtype=dtype)
        self.win_v = torch.zeros(shape_win, device=device, dtype=dtype)
        self.reference_tokens_written = 0
        self.frames_written = 0
        self.reference_time = 0

    def reset(self) -> None:
        """Forget everything (new portrait). Storage is kept and zeroed."""
        for t in (self.ref_k, self.ref_v, self.win_k, self.win_v):
            t.zero_()
        self.reference_tokens_written = 0
        self.frames_written = 0
        self.reference_time = 0

    @property
    def filled_frames(self) -> int:
        """Frames currently held in the window (at most W)."""
        return min(self.frames_written, self.window_frames)

    def write_reference(self, layer: int, k: torch.Tensor, v: torch.Tensor, reference_time: int) -> None:
        """Store the reference's rotated K/V (B, H, R, hd) for one layer."""
        self.ref_k[layer].copy_(k)
        self.ref_v[layer].copy_(v)
        self.reference_tokens_written = k.shape[2]
        self.reference_time = reference_time

    def slots(self, frames: int) -> torch.Tensor:
        """Window token indices (frames * N,) where the next `frames` frames go, evicting the oldest."""
        n = self.tokens_per_frame
        frame_slots = (self.frames_written + torch.arange(frames)) % self.window_frames
        return (frame_slots[:, None] * n + torch.arange(n)).flatten().to(self.win_k.device)

    def write_frames(self, layer: int, k: torch.Tensor, v: torch.Tensor, slots: torch.Tensor | None = None) -> None:
        """Store clean frames' rotated K/V (B, H, F * N, hd) for one layer into the ring, oldest evicted.

        `slots` = `self.slots(F)`, computed once for all layers (a tensor, so a CUDA graph can replay the
        write with new slots). Call for every layer, then `advance(F)` once.
        """
        if slots is None:
            slots = self.slots(k.shape[2] // self.tokens_per_frame)
        self.win_k[layer].index_copy_(2, slots, k.to(self.win_k.dtype))
        self.win_v[layer].index_copy_(2, slots, v.to(self.win_v.dtype))

    def advance(self, frames: int) -> None:
        """Count `frames` more frames as written (after write_frames on every layer)."""
        self.frames_written += frames

    def keys_values(self, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """K/V a chunk attends to besides itself: reference + filled window. Each (B, H, R + n * N, hd).

        Ring slots fill in order 0..W-1 before wrapping, so the filled part is always a prefix; order inside
        the window does not matter because positions live in the rotated keys.
        """
        m = self.filled_frames * self.tokens_per_frame
        r = self.reference_tokens_written
        k = torch.cat((self.ref_k[layer, :, :, :r], self.win_k[layer, :, :, :m]), dim=2)
        v = torch.cat((self.ref_v[layer, :, :, :r], self.win_v[layer, :, :, :m]), dim=2)
        return k, v

    def shift_window(self, dt: int) -> None:
        """Re-base time: move every window key by dt (in place, no forward pass)."""
        m = self.filled_frames * self.tokens_per_frame
        if dt and m:
            self.win_k[:, :, :, :m].copy_(self.rope.shift_keys(self.win_k[:, :, :, :m], dt))

    def move_reference(self, reference_time: int) -> None:
        """Put the reference keys at a new local time by re-rotating them in place."""
        dt = reference_time - self.reference_time
        if dt and self.reference_tokens_written:
            self.ref_k.copy_(self.rope.shift_keys(self.ref_k, dt))
        self.reference_time = reference_time

    def nbytes(self) -> int:
        """Bytes held by the cache tensors (constant for its lifetime)."""
        return sum(t.numel() * t.element_size() for t in (self.ref_k, self.ref_v, self.win_k, self.win_v))
