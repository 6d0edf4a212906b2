"""Training outputs a person looks at: the loss curve and a contact sheet (driving | warp prior | generated)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from engine.config import StreamConfig
from engine.data.dataset import ClipSet
from engine.knot.codec import FrameCodec, to_tensor, to_uint8
from engine.knot.model.dit import CausalDiT
from engine.knot.streaming import KnotStreamer


def plot_losses(log_path: Path, out_png: Path) -> None:
    """Loss and validation curves of both stages from log.jsonl."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax, stage, val in ((axes[0], "codec", "val_psnr"), (axes[1], "dit", "val_loss")):
        rec = [r for r in records if r["stage"] == stage]
        if not rec:
            continue
        steps = [r["step"] for r in rec]
        ax.plot(steps, [r["loss"] for r in rec], label="train loss")
        ax.set_yscale("log")
        ax.set_title(stage)
        ax.set_xlabel("step")
        twin = ax.twinx() if stage == "codec" else ax
        twin.plot(steps, [r[val] for r in rec], color="C1", label=val)
        ax.legend(loc="upper left")
        if twin is not ax:
            twin.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(out_png, dpi=90)
    plt.close(fig)


@torch.no_grad()
def contact_sheet(codec: FrameCodec, dit: CausalDiT, stream: StreamConfig, data: ClipSet, out_png: Path,
                  frames: int = 12, device: str | torch.device = "cpu") -> np.ndarray:
    """Stream `frames` frames of the first clip with its first reference; rows: driving, warp prior, generated."""
    import cv2

    clip, ref_index = data.clips[0], int(data.refs[0][0])
    streamer = KnotStreamer(dit.eval(), stream, device)
    ref = codec.encode(to_tensor(clip.frames[ref_index][None], device))[0]
    streamer.set_reference(ref, torch.from_numpy(data._motion(clip.landmarks[ref_index][None])[0]))
    warps = data.warps[0][0]
    generated = []
    for t in range(frames):
        warp_latent = codec.encode(to_tensor(warps[t][None], device))[0]
        motion = torch.from_numpy(data._motion(clip.landmarks[t][None])[0])
        generated += streamer.push(motion, warp_latent, float(t))
    generated += streamer.flush()
    images = to_uint8(codec.decode(torch.stack([g.latent for g in generated]))).numpy()
    n = len(images)
    sheet = np.concatenate([np.concatenate(list(row[:n]), axis=1) for row in (clip.frames, warps, images)], axis=0)
    cv2.imwrite(str(out_png), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return sheet
