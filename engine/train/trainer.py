"""The training loop: stage 1 codec, stage 2 DiT. Resumable from RUN/checkpoint.pt, any number of GPUs.

Run one process per GPU with torchrun (DistributedDataParallel); one process on the CPU or one GPU otherwise.
Each process draws its own samples (seeded by rank); rank 0 writes checkpoints, logs, plots and weights.
A run stops by itself at `time_limit_s` after saving, so it fits a time-boxed machine; `resume` continues.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from engine.config import ModelConfig, StreamConfig, TrainConfig, config_dict
from engine.data.clips import load_split
from engine.data.dataset import ClipSet, collate
from engine.knot.codec import FrameCodec
from engine.knot.model.dit import CausalDiT
from engine.knot.weights import save_weights
from engine.train.objective import codec_loss, flow_matching_loss, sequence_frames

log = logging.getLogger(__name__)


@dataclass
class RunState:
    """Everything a checkpoint holds besides the modules."""

    codec_step: int = 0
    dit_step: int = 0
    gpu_seconds: float = 0.0


class _SampleStream(IterableDataset):
    """Collated batches of augmented samples, each loader worker with its own random stream."""

    def __init__(self, data: ClipSet, length: int, batch_size: int, seed: int) -> None:
        self.data, self.length, self.batch_size, self.seed = data, length, batch_size, seed

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = get_worker_info()
        rng = np.random.default_rng(self.seed + (info.id if info else 0))
        while True:
            yield collate([self.data.sample(self.length, rng) for _ in range(self.batch_size)], "cpu")


def _setup_distributed(device: str) -> tuple[int, int, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, torch.device(device)
    local = int(os.environ["LOCAL_RANK"])
    dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    if device.startswith("cuda"):
        torch.cuda.set_device(local)
        return dist.get_rank(), world, torch.device("cuda", local)
    return dist.get_rank(), world, torch.device("cpu")


def _lr(step: int, total: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps))
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * progress)))


class Trainer:
    """Owns modules, optimisers, data and the run folder."""

    def __init__(self, model_cfg: ModelConfig, stream: StreamConfig, train: TrainConfig, data_dir: Path,
                 out_dir: Path, device: str = "cpu", resume: bool = False) -> None:
        self.rank, self.world, self.device = _setup_distributed(device)
        self.model_cfg, self.stream, self.train_cfg = model_cfg, stream, train
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(train.seed + self.rank)
        self.rng = np.random.default_rng(train.seed + 1000 * self.rank)
        self.codec = FrameCodec(model_cfg).to(self.device)
        self.dit = CausalDiT(model_cfg).to(self.device)
        self.opt_codec = torch.optim.AdamW(self.codec.parameters(), lr=train.lr, weight_decay=train.weight_decay)
        self.opt_dit = torch.optim.AdamW(self.dit.parameters(), lr=train.lr, weight_decay=train.weight_decay)
        self.state = RunState()
        if resume and self.checkpoint_path.exists():
            self._load_checkpoint()
        self.train_set = ClipSet(load_split(data_dir, "train"), model_cfg.motion_size)
        val = load_split(data_dir, "val")
        self.val_set = ClipSet(val, model_cfg.motion_size) if val else None
        self.amp = self.device.type == "cuda"
        self.seq_len = sequence_frames(stream, train.context_chunks + 1)

    @property
    def checkpoint_path(self) -> Path:
        return self.out / "checkpoint.pt"

    # --- checkpoints ---------------------------------------------------------------------------------------
    def _optimizer_paths(self) -> dict[str, Path]:
        # Optimiser moments live in files of their own so that no checkpoint file exceeds ~16 MiB.
        return {"opt_codec": self.out / "opt_codec.pt", "opt_dit": self.out / "opt_dit.pt"}

    def _load_checkpoint(self) -> None:
        ck = torch.load(self.checkpoint_path, map_location=self.device, weights_only=False)
        if ck["model_cfg"] != config_dict(self.model_cfg):
            raise ValueError(f"{self.checkpoint_path} was trained with another model config")
        self.codec.load_state_dict(ck["codec"])
        self.dit.load_state_dict(ck["dit"])
        for name, path in self._optimizer_paths().items():
            getattr(self, name).load_state_dict(torch.load(path, map_location=self.device, weights_only=False))
        self.state = RunState(**ck["state"])
        self.rng = np.random.default_rng(ck["rng_seed"] + self.rank)
        log.info("resumed at codec step %d, dit step %d", self.state.codec_step, self.state.dit_step)

    def save_checkpoint(self) -> None:
        """Atomically write modules, optimisers and counters (rank 0 only); the modules file is written last."""
        if self.rank:
            return
        for name, path in self._optimizer_paths().items():
            torch.save(getattr(self, name).state_dict(), path.with_suffix(".tmp"))
            path.with_suffix(".tmp").replace(path)
        tmp = self.checkpoint_path.with_suffix(".tmp")
        torch.save({"codec": self.codec.state_dict(), "dit": self.dit.state_dict(),
                    "state": vars(self.state), "model_cfg": config_dict(self.model_cfg),
                    "rng_seed": int(self.rng.integers(1 << 31))}, tmp)
        tmp.replace(self.checkpoint_path)

    def export_weights(self, path: Path | None = None) -> Path:
        """Write the shippable safetensors (+ json) of the current modules."""
        path = path or self.out / f"{self.model_cfg.name}.safetensors"
        if not self.rank:
            save_weights(path, self.model_cfg, self.codec, self.dit, {"train": {
                "codec_steps": self.state.codec_step, "dit_steps": self.state.dit_step,
                "gpu_minutes": round(self.state.gpu_seconds / 60, 2), "train_config": config_dict(self.train_cfg)}})
        return path

    def _log(self, record: dict) -> None:
        if self.rank:
            return
        with open(self.out / "log.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        log.info(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()))

    # --- stages --------------------------------------------------------------------------------------------
    def _step(self, module: torch.nn.Module, opt: torch.optim.Optimizer, loss: torch.Tensor, lr: float) -> None:
        for group in opt.param_groups:
            group["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
        opt.step()

    def train_codec(self, deadline: float) -> None:
        """Stage 1 until codec_steps (or the deadline)."""
        cfg = self.train_cfg
        model = DDP(self.codec) if self.world > 1 else self.codec
        self.codec.train()
        while self.state.codec_step < cfg.codec_steps and time.time() < deadline:
            images = torch.from_numpy(self.train_set.images(cfg.batch_size * 2, self.rng)).to(self.device)
            with torch.autocast(self.device.type, torch.bfloat16, enabled=self.amp):
                loss = codec_loss(model, images)
            self._step(self.codec, self.opt_codec, loss, _lr(self.state.codec_step, cfg.codec_steps, cfg))
            self.state.codec_step += 1
            if self.state.codec_step % cfg.log_every == 0:
                self._log({"stage": "codec", "step": self.state.codec_step, "loss": float(loss),
                           "val_psnr": self.codec_val_psnr()})
            if self.state.codec_step % cfg.checkpoint_every == 0:
                self.save_checkpoint()
        if self.state.codec_step >= cfg.codec_steps and float(self.codec.latent_scale) == 1.0:
            self._calibrate_latent_scale()

    @torch.no_grad()
    def _calibrate_latent_scale(self) -> None:
        """Scale latents to unit standard deviation so the DiT's noise level means the same for every codec."""
        images = torch.from_numpy(self.train_set.images(64, np.random.default_rng(0))).to(self.device)
        z = self.codec.encode(images.permute(0, 3, 1, 2).float().div(127.5).sub(1))
        self.codec.latent_scale.fill_(1.0 / float(z.std()))
        if self.world > 1:
            dist.broadcast(self.codec.latent_scale, 0)

    @torch.no_grad()
    def codec_val_psnr(self) -> float:
        """PSNR (dB) of codec reconstructions on held-out frames (train frames when no val split)."""
        data = self.val_set or self.train_set
        images = torch.from_numpy(data.images(16, np.random.default_rng(1))).to(self.device)
        x = images.permute(0, 3, 1, 2).float().div(127.5).sub(1)
        self.codec.eval()
        mse = float(((self.codec(x).clamp(-1, 1) - x) ** 2).mean())
        self.codec.train()
        return 10 * np.log10(4.0 / max(mse, 1e-10))

    def _batch(self, data: ClipSet, rng: np.random.Generator, augment: bool = True) -> dict[str, torch.Tensor]:
        samples = [data.sample(self.seq_len, rng, augment) for _ in range(self.train_cfg.batch_size)]
        return collate(samples, self.device)

    def _batches(self) -> Iterator[dict[str, torch.Tensor]]:
        """Endless training batches, drawn by loader worker processes when there are spare cores."""
        workers = min(8, (os.cpu_count() or 1) - 1)
        if workers < 1:
            while True:
                yield self._batch(self.train_set, self.rng)
        stream = _SampleStream(self.train_set, self.seq_len, self.train_cfg.batch_size,
                               int(self.rng.integers(1 << 31)))
        loader = DataLoader(stream, batch_size=None, num_workers=workers, pin_memory=self.device.type == "cuda",
                            persistent_workers=True, prefetch_factor=4)
        for batch in loader:
            yield {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def train_dit(self, deadline: float) -> None:
        """Stage 2 until dit_steps (or the deadline); the codec is frozen."""
        cfg = self.train_cfg
        self.codec.eval().requires_grad_(False)
        model = DDP(self.dit) if self.world > 1 else self.dit
        self.dit.train()
        batches = self._batches()
        while self.state.dit_step < cfg.dit_steps and time.time() < deadline:
            batch = next(batches)
            with torch.autocast(self.device.type, torch.bfloat16, enabled=self.amp):
                loss = flow_matching_loss(model, self.codec, batch, self.model_cfg, self.stream, cfg, self.rng)
            self._step(self.dit, self.opt_dit, loss, _lr(self.state.dit_step, cfg.dit_steps, cfg))
            self.state.dit_step += 1
            if self.state.dit_step % cfg.log_every == 0:
                self._log({"stage": "dit", "step": self.state.dit_step, "loss": float(loss),
                           "val_loss": self.dit_val_loss()})
            if self.state.dit_step % cfg.checkpoint_every == 0:
                self.save_checkpoint()

    @torch.no_grad()
    def dit_val_loss(self) -> float:
        """Flow-matching loss on held-out identities at the inference timesteps, fixed noise and samples."""
        data = self.val_set or self.train_set
        rng = np.random.default_rng(2)
        batch = self._batch(data, rng, augment=False)
        gen = torch.Generator(self.device).manual_seed(3)
        self.dit.eval()
        losses = [float(flow_matching_loss(self.dit, self.codec, batch, self.model_cfg, self.stream, self.train_cfg,
                                           rng, fixed_t=t, generator=gen)) for t in self.stream.timesteps]
        self.dit.train()
        return float(np.mean(losses))

    def run(self, time_limit_s: float | None = None) -> RunState:
        """Both stages, checkpointing at the end or when the time limit comes."""
        started = time.time()
        deadline = started + (time_limit_s if time_limit_s else 1e12)
        try:
            self.train_codec(deadline)
            self.train_dit(deadline)
        finally:
            if self.device.type == "cuda":
                self.state.gpu_seconds += time.time() - started
            self.save_checkpoint()
        return self.state
