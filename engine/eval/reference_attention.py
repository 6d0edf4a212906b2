"""Where the model looks: how each chunk's attention divides between the portrait's reference tokens, the
sliding window of recent frames and the chunk itself, as the reference's time distance grows.

Running ahead keeps the reference `ahead_frames` ahead of every chunk; without it the reference falls behind by
K frames per chunk, to distances the model never saw in training. Measuring the attention the chunk's
queries give the reference at each distance says what the two ablations ("no running ahead", "no reference
cache") can change at all: a model that gives the reference little attention loses little without it.

The probe wraps each DiT block's `Attention.attend` of one animator for the length of one run (restored
after, the frames unchanged) and recomputes the softmax weights of the chunk's queries over its keys
[reference R | window m | chunk]; every denoising and commit pass of every chunk is recorded.
Shapes: q (B, H, T, hd), k (B, H, R + m + T, hd).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from engine.animator import Motion, Portrait
from engine.config import StreamConfig
from engine.eval.markdown import ReportSection, cell
from engine.eval.systems import DrivingClip, System, build_animator, retarget_clip, run_animator

DISTANCE_BINS = ((0, 10), (10, 30), (30, 100), (100, 300), (300, 1000), (1000, 10**9))  # frames, [lo, hi)


@dataclass(frozen=True)
class AttentionShare:
    """One attention call of one chunk: the share of its queries' softmax weight on each part of the keys."""

    layer: int
    reference_distance: int  # frames from the chunk's first frame to the reference's time index (> 0: ahead)
    reference: float
    window: float
    chunk: float
    per_token_ratio: float  # a portrait token's weight over a window token's (NaN when either part is empty)


@contextmanager
def recording_attention(animator, shares: list[AttentionShare]):
    """Record every chunk attention call of a KnotAnimator's DiT into `shares` inside the `with` block."""
    streamer = animator.streamer
    blocks = streamer.model.blocks
    originals = [blk.attn.attend for blk in blocks]

    def recorder(layer: int, attend):
        def record(q, k, v, mask=None):
            if mask is None and k.shape[2] > q.shape[2]:  # a chunk attending to the cache (not the reference pass)
                r = streamer.cache.reference_tokens_written
                weights = torch.softmax((q.float() @ k.float().transpose(-1, -2)) / math.sqrt(q.shape[-1]), dim=-1)
                per_key = weights.mean(dim=(0, 1, 2))  # (S,) the average query's weight on each key
                t = q.shape[2]
                m = k.shape[2] - r - t
                reference, window = float(per_key[:r].sum()), float(per_key[r:-t].sum())
                ratio = (reference / r) / (window / m) if r and m and window > 0 else math.nan
                shares.append(AttentionShare(layer, int(streamer.cache.reference_time), reference, window,
                                             float(per_key[-t:].sum()), ratio))
            return attend(q, k, v, mask)
        return record

    try:
        for i, blk in enumerate(blocks):
            blk.attn.attend = recorder(i, originals[i])
        yield shares
    finally:
        for blk in blocks:
            blk.attn.__dict__.pop("attend", None)  # the instance attribute goes: the class's method is back


def probe(system: System, weights: Path, device: str, portrait: Portrait,
          motions: Sequence[Motion]) -> list[AttentionShare]:
    """Stream `motions` through a fresh animator of `system` and record its chunks' attention shares
    (eagerly: a CUDA graph would replay the chunks without calling the recorder)."""
    eager = replace(system, stream=replace(system.stream, cuda_graph=False))
    animator = build_animator(eager, weights, device)
    shares: list[AttentionShare] = []
    with recording_attention(animator, shares):
        run_animator(animator, portrait, motions, lambda i: False)
    return shares


@dataclass(frozen=True)
class DistanceRow:
    """The shares of the calls whose reference distance falls in one DISTANCE_BINS range."""

    label: str  # the range of |distance| in frames
    calls: int
    reference: float  # mean shares
    window: float
    chunk: float
    per_token_ratio: float  # mean over the calls that have both parts
    top_layer_reference: float  # the mean reference share of the layer that gives the reference the most


def by_distance(shares: Sequence[AttentionShare]) -> list[DistanceRow]:
    """One row per DISTANCE_BINS range that has calls; a distance is binned by its size (behind or ahead)."""
    rows = []
    for lo, hi in DISTANCE_BINS:
        inside = [s for s in shares if lo <= abs(s.reference_distance) < hi]
        if not inside:
            continue
        per_layer: dict[int, list[float]] = {}
        for s in inside:
            per_layer.setdefault(s.layer, []).append(s.reference)
        ratios = [s.per_token_ratio for s in inside if math.isfinite(s.per_token_ratio)]
        rows.append(DistanceRow(f"{lo}-{hi - 1}" if hi < 10**9 else f">= {lo}", len(inside),
                                *(float(np.mean([getattr(s, part) for s in inside]))
                                  for part in ("reference", "window", "chunk")),
                                float(np.mean(ratios)) if ratios else math.nan,
                                max(float(np.mean(v)) for v in per_layer.values())))
    return rows


def attention_markdown(results: dict[str, list[AttentionShare]], clip: str, frames: int) -> str:
    """The report's section: one row per system and distance range."""
    lines = ["| system | reference distance (frames) | attention calls | on the portrait | on the window | "
             "on the chunk itself | portrait / window token | on the portrait, most attentive layer |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, shares in results.items():
        for row in by_distance(shares):
            shares_cells = " | ".join(cell(v, "{:.3f}") for v in (row.reference, row.window, row.chunk,
                                                                   row.per_token_ratio, row.top_layer_reference))
            lines.append(f"| {name} | {row.label} | {row.calls} | {shares_cells} |")
    return f"""## Where the model looks: attention to the portrait

{chr(10).join(lines)}

The chunk's queries' softmax weight (mean over layers, heads, queries, every denoising and commit pass) on
the portrait's reference tokens, on the sliding window of recent frames and on the chunk's own tokens, by the
reference's time distance from the chunk ({clip}, {frames} frames; `engine/eval/reference_attention.py`). With
running ahead the distance stays at `ahead_frames`; without it the reference falls behind by K frames per
chunk. **portrait / window token**: the weight one portrait token gets over the weight one window token gets
(the portrait is one frame of tokens, the window up to W). Read the ablation rows above against this: what the
model does not attend to, it cannot miss.

"""


def attention_section(held: dict[str, tuple[DrivingClip, Portrait, list[Motion]]], weights: Path, device: str,
                      stream: StreamConfig, frames: int) -> ReportSection:
    """Probe the shipped configuration and the same without running ahead on the first held-out clip (name ->
    clip, portrait, motions), looped to `frames` frames."""
    name, (clip, portrait, _) = next(iter(held.items()))
    motions = retarget_clip(portrait, clip, frames)
    systems = (System("knot", "as shipped", stream),
               System("no running ahead", "reference index fixed", replace(stream, running_ahead=False)))
    results = {s.name: probe(s, weights, device, portrait, motions) for s in systems}
    numbers = {"clip": name, "frames": frames, "rows": {n: [row.__dict__ for row in by_distance(shares)]
                                                        for n, shares in results.items()}}
    return ReportSection("reference_attention", attention_markdown(results, name, frames), numbers)
