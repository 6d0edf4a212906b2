"""`main.py train`: train codec + DiT on a prepared set, resumable; exports weights, loss curve, contact sheet.

Several GPUs: `torchrun --nproc_per_node=N main.py train ... --device cuda`.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default="tiny", help="model preset: tiny, base or large")
    p.add_argument("--data", type=Path, required=True, help="folder written by `main.py prepare`")
    p.add_argument("--out", type=Path, required=True, help="run folder (checkpoint, logs, weights)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--codec-steps", type=int, help="override the stage-1 step count")
    p.add_argument("--dit-steps", type=int, help="override the stage-2 step count")
    p.add_argument("--batch-size", type=int, help="override the batch size (per process)")
    p.add_argument("--init", type=Path, help="start from these weights (e.g. assets/weights/tiny.safetensors)")
    p.add_argument("--rollout-chunks", type=int, help="override the chunks generated per training sequence")
    p.add_argument("--lr", type=float, help="override the peak learning rate")
    p.add_argument("--log-every", type=int, help="steps between log lines and validations")
    p.add_argument("--warmup-steps", type=int, help="override the learning-rate warm-up")
    p.add_argument("--snapshot-every", type=int, help="DiT steps between weight snapshots in OUT/snapshots/")
    p.add_argument("--clip-balance", type=float, help="clip weight = frames**B (1: by frames, 0: clips alike)")
    p.add_argument("--exact-prior-share", type=float, help="sequences whose warp prior is the real frame")
    p.add_argument("--degrade-share", type=float, help="sequences seen through a lower-resolution camera")
    p.add_argument("--hue-share", type=float, help="sequences with a random hue rotation (colours from the reference)")
    p.add_argument("--time-limit", type=float, help="minutes after which to checkpoint and stop")


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    import torch

    from engine.config import TrainConfig, get_preset
    from engine.errors import KnotCamError
    from engine.train.report import contact_sheet, plot_losses
    from engine.train.trainer import Trainer

    if not (args.data / "splits.json").is_file():
        raise KnotCamError(f"{args.data} is not a prepared data folder (run `main.py prepare` first)")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise KnotCamError("--device cuda was asked for but this machine has no usable CUDA GPU")
    preset = get_preset(args.config)
    overrides = {k: v for k, v in (("codec_steps", args.codec_steps), ("dit_steps", args.dit_steps),
                                   ("batch_size", args.batch_size),
                                   ("rollout_chunks", args.rollout_chunks), ("lr", args.lr),
                                   ("log_every", args.log_every), ("warmup_steps", args.warmup_steps),
                                   ("snapshot_every", args.snapshot_every),
                                   ("clip_balance", args.clip_balance),
                                   ("exact_prior_share", args.exact_prior_share),
                                   ("degrade_share", args.degrade_share),
                                   ("hue_share", args.hue_share)) if v is not None}
    train_cfg = replace(TrainConfig(), **overrides)
    trainer = Trainer(preset.model, preset.stream, train_cfg, args.data, args.out, args.device, args.resume,
                      args.init)
    state = trainer.run(args.time_limit * 60 if args.time_limit else None)
    if trainer.rank == 0:
        weights = trainer.export_weights()
        if (args.out / "log.jsonl").exists():
            plot_losses(args.out / "log.jsonl", args.out / "loss.png")
        if state.dit_step:
            contact_sheet(trainer.codec, trainer.dit, preset.model, preset.stream,
                          trainer.val_set or trainer.train_set, args.out / "contact_sheet.png")
        done = state.codec_step >= train_cfg.codec_steps and state.dit_step >= train_cfg.dit_steps
        print(f"codec step {state.codec_step}/{train_cfg.codec_steps}, dit step {state.dit_step}/{train_cfg.dit_steps}"
              f"; {trainer.steps_per_second():.2f} steps/s; weights {weights}"
              + ("" if done else "; not finished: run again with --resume"))
    return 0
