"""Which frame may attend to which, for one full (non-streaming) pass over a whole sequence.

Streaming with the KVCache computes exactly what a full pass with this block-causal mask computes; the
full pass is what training uses (teacher forcing: clean context chunks and noisy chunks in one sequence)
and what the tests compare the streamer against.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SequenceLayout:
    """Frames of a sequence, their chunk groups, and the reference time each group sees.

    A frame of group g attends to: the reference (placed at `reference_times[g]`), every frame of its own
    group, and the clean frames whose time lies in [group_start[g] - window, group_start[g]).
    """

    times: tuple[int, ...]  # (F,) absolute time index of each frame
    groups: tuple[int, ...]  # (F,) group (chunk pass) of each frame, 0..G-1
    clean: tuple[bool, ...]  # (F,) whether the frame is clean context, visible through the window
    group_start: tuple[int, ...]  # (G,) first time index of each group's chunk
    reference_times: tuple[float, ...]  # (G,) reference time index as seen by each group
    window: int  # W frames

    @property
    def num_groups(self) -> int:
        return len(self.group_start)

    def frame_mask(self) -> torch.Tensor:
        """(F, G + F) bool: column g < G is the reference copy of group g, then the F frames."""
        times = torch.tensor(self.times)
        groups = torch.tensor(self.groups)
        clean = torch.tensor(self.clean)
        start = torch.tensor(self.group_start)[groups]  # (F,) chunk start of each query frame
        same_group = groups[:, None] == groups[None, :]
        before = times[None, :] < start[:, None]
        in_window = clean[None, :] & before & (times[None, :] >= start[:, None] - self.window)
        ref = groups[:, None] == torch.arange(self.num_groups)[None, :]
        return torch.cat((ref, same_group | in_window), dim=1)

    def token_mask(self, reference_tokens: int, tokens_per_frame: int) -> torch.Tensor:
        """(F * N, G * R + F * N) bool mask for scaled_dot_product_attention (True = visible)."""
        m = self.frame_mask()
        g = self.num_groups
        ref_part = m[:, :g].repeat_interleave(reference_tokens, dim=1)
        frame_part = m[:, g:].repeat_interleave(tokens_per_frame, dim=1)
        return torch.cat((ref_part, frame_part), dim=1).repeat_interleave(tokens_per_frame, dim=0)


def streaming_layout(num_context_chunks: int, chunk_frames: int, knot_frames: int, window: int,
                     ahead_frames: int | None, noisy_chunks: list[int] | None = None) -> SequenceLayout:
    """Layout of clean chunks 0..M-1 (K frames each) followed by noisy chunks (K + k frames each).

    noisy_chunks: which chunk indices get a noisy (being-denoised) group; default [M], the chunk after the
    context. Chunk n starts at n * K. ahead_frames None places the reference at time 0 for every group
    (running ahead off); otherwise at group start + ahead_frames.
    """
    noisy_chunks = [num_context_chunks] if noisy_chunks is None else noisy_chunks
    times, groups, clean, starts = [], [], [], []
    for n in range(num_context_chunks):
        starts.append(n * chunk_frames)
        for f in range(chunk_frames):
            times.append(n * chunk_frames + f)
            groups.append(len(starts) - 1)
            clean.append(True)
    for n in noisy_chunks:
        starts.append(n * chunk_frames)
        for f in range(chunk_frames + knot_frames):
            times.append(n * chunk_frames + f)
            groups.append(len(starts) - 1)
            clean.append(False)
    ref = tuple(0.0 if ahead_frames is None else float(s + ahead_frames) for s in starts)
    return SequenceLayout(tuple(times), tuple(groups), tuple(clean), tuple(starts), ref, window)
