"""Training outputs a person looks at: the loss curves and a contact sheet (real | warp prior | generated)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from engine.config import ModelConfig, StreamConfig
from engine.data.cache import TrainingTensors
from engine.knot.codec import FrameCodec, to_tensor, to_uint8
from engine.knot.model.dit import CausalDiT
from engine.train.rollout import compose_crops, encode_frames, rollout, sequence_frames


def plot_losses(log_path: Path, out_png: Path) -> None:
    """Loss and validation curves of both stages from log.jsonl."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax, stage, val in ((axes[0], "codec", "val_psnr"), (axes[1], "dit", "val_gain_db")):
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
def contact_sheet(codec: FrameCodec, dit: CausalDiT, model_cfg: ModelConfig, stream: StreamConfig,
                  data: TrainingTensors, out_png: Path, chunks: int = 4, rows: int = 3) -> np.ndarray:
    """Rollouts of `rows` held-out sequences (fixed samples, no augmentation), each as three rows of tiles:
    real frame | warp prior | generated (composed as the app composes it). Returns the RGB sheet."""
    import cv2

    gen = torch.Generator(data.device).manual_seed(7)
    batch = data.sample(rows, sequence_frames(stream, chunks), gen, augment=False)
    out = rollout(dit.eval(), codec, batch, model_cfg, stream, None, gen, chunks)
    n = out.emitted.shape[1]
    warp = to_tensor(batch["warps"][:, :n])
    latents = encode_frames(codec, batch["warps"][:, :n])
    residual = compose_crops(codec, out.emitted, latents, batch["warps"][:, :n]) - warp
    composed = warp + batch["regions"][:, :n, :1] * residual  # the correction inside the face mask, as the app
    generated = to_uint8(composed).numpy()  # (rows, n, R, R, 3)
    strips = []
    for r in range(rows):
        for images in (batch["frames"][r, :n].cpu().numpy(), batch["warps"][r, :n].cpu().numpy(), generated[r]):
            strips.append(np.concatenate(list(images), axis=1))
    sheet = np.concatenate(strips, axis=0)
    cv2.imwrite(str(out_png), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return sheet
