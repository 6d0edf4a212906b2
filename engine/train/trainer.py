"""The training loop: stage 1 codec, stage 2 DiT on its own rollouts. Resumable from RUN/checkpoint.pt.

Data come from the tensor cache `prepare` wrote (engine/data/cache.py), loaded onto the device once: a step
draws its batch by indexing, never decodes video or warps. Run one process per GPU with torchrun: each draws
its own samples (seeded by rank) and gradients are averaged over processes after every backward; rank 0
writes checkpoints, logs, plots and weights. A run stops by itself at `time_limit_s` after saving, so it fits
a time-boxed machine; `resume` continues. `init` starts both modules from a weights file (fine-tuning).
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from engine.config import ModelConfig, StreamConfig, TrainConfig, config_dict
from engine.data.cache import TrainingTensors
from engine.knot.codec import FrameCodec, to_tensor
from engine.knot.model.dit import CausalDiT
from engine.knot.weights import load_weights, save_weights
from engine.train.rollout import codec_loss, compose_crops, encode_frames, rollout, sequence_frames

log = logging.getLogger(__name__)


@dataclass
class RunState:
    """Everything a checkpoint holds besides the modules."""

    codec_step: int = 0
    dit_step: int = 0
    gpu_seconds: float = 0.0
    train_seconds: float = 0.0  # wall time spent in the two stages' steps (for steps/s)


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


def masked_psnr(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> float:
    """PSNR (dB) of images in [-1, 1] (..., 3, R, R) inside a soft mask (..., 1, R, R), pooled over all."""
    mse = float((((a.clamp(-1, 1) - b) ** 2) * mask).sum() / (mask.sum() * 3).clamp_min(1e-6))
    return 10 * float(np.log10(4.0 / max(mse, 1e-10)))


class Trainer:
    """Owns modules, optimisers, data and the run folder."""

    def __init__(self, model_cfg: ModelConfig, stream: StreamConfig, train: TrainConfig, data_dir: Path,
                 out_dir: Path, device: str = "cpu", resume: bool = False, init: Path | None = None) -> None:
        self.rank, self.world, self.device = _setup_distributed(device)
        self.model_cfg, self.stream, self.train_cfg = model_cfg, stream, train
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(train.seed + self.rank)
        self.rng = np.random.default_rng(train.seed + 1000 * self.rank)
        self.gen = torch.Generator(self.device).manual_seed(train.seed + 1000 * self.rank)
        self.codec = FrameCodec(model_cfg).to(self.device)
        self.dit = CausalDiT(model_cfg).to(self.device)
        if init is not None and not (resume and self.checkpoint_path.exists()):
            self._initialise(init)
        self.opt_codec = torch.optim.AdamW(self.codec.parameters(), lr=train.lr, weight_decay=train.weight_decay)
        self.opt_dit = torch.optim.AdamW(self.dit.parameters(), lr=train.lr, weight_decay=train.weight_decay)
        self.state = RunState()
        if resume and self.checkpoint_path.exists():
            self._load_checkpoint()
        self.train_set = TrainingTensors.load(data_dir, "train", self.device)
        try:
            self.val_set: TrainingTensors | None = TrainingTensors.load(data_dir, "val", self.device)
        except FileNotFoundError:
            self.val_set = None
        if self.val_set is not None and self.val_set.num_clips == 0:
            self.val_set = None
        self.amp = self.device.type == "cuda"
        self.seq_len = sequence_frames(stream, train.rollout_chunks)

    def _initialise(self, path: Path) -> None:
        """Start both modules from a weights file of the same shapes. Weights of the other `prediction` keep
        everything but the DiT's output layer, which is zeroed: a warp-residual DiT then starts at the warp."""
        from dataclasses import replace

        cfg, codec, dit, _meta = load_weights(path, device=self.device)
        if replace(cfg, prediction=self.model_cfg.prediction) != self.model_cfg:
            raise ValueError(f"{path} has another model shape than {self.model_cfg.name}")
        self.codec.load_state_dict(codec.state_dict())
        self.dit.load_state_dict(dit.state_dict())
        if cfg.prediction != self.model_cfg.prediction:
            torch.nn.init.zeros_(self.dit.final.weight)
            torch.nn.init.zeros_(self.dit.final.bias)
            log.info("initialised from %s (%s prediction): output layer zeroed for %s", path, cfg.prediction,
                     self.model_cfg.prediction)

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
        self.state = RunState(**{**vars(RunState()), **ck["state"]})
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
        if self.world > 1:  # average gradients over processes (the DiT runs chunk by chunk, outside DDP)
            for p in module.parameters():
                if p.grad is not None:
                    dist.all_reduce(p.grad)
                    p.grad.div_(self.world)
        torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
        opt.step()

    def train_codec(self, deadline: float) -> None:
        """Stage 1 until codec_steps (or the deadline): real frames, warp priors and stills."""
        cfg = self.train_cfg
        self.codec.train()
        while self.state.codec_step < cfg.codec_steps and time.time() < deadline:
            started = time.perf_counter()
            images = self.train_set.still_images(cfg.batch_size * 2, self.gen)
            with torch.autocast(self.device.type, torch.bfloat16, enabled=self.amp):
                loss = codec_loss(self.codec, images)
            self._step(self.codec, self.opt_codec, loss, _lr(self.state.codec_step, cfg.codec_steps, cfg))
            self.state.codec_step += 1
            self.state.train_seconds += time.perf_counter() - started
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
        images = self.train_set.still_images(64, torch.Generator(self.device).manual_seed(0))
        z = self.codec.encode(to_tensor(images))
        self.codec.latent_scale.fill_(1.0 / float(z.std()))
        if self.world > 1:
            dist.broadcast(self.codec.latent_scale, 0)

    @torch.no_grad()
    def codec_val_psnr(self) -> float:
        """PSNR (dB) of codec reconstructions on held-out frames (train frames when no val split)."""
        data = self.val_set or self.train_set
        x = to_tensor(data.still_images(16, torch.Generator(self.device).manual_seed(1)))
        self.codec.eval()
        mse = float(((self.codec(x).clamp(-1, 1) - x) ** 2).mean())
        self.codec.train()
        return 10 * np.log10(4.0 / max(mse, 1e-10))

    def train_dit(self, deadline: float) -> None:
        """Stage 2 until dit_steps (or the deadline); the codec is frozen."""
        cfg = self.train_cfg
        self.codec.eval().requires_grad_(False)
        self.dit.train()
        while self.state.dit_step < cfg.dit_steps and time.time() < deadline:
            started = time.perf_counter()
            batch = self.train_set.sample(cfg.batch_size, self.seq_len, self.gen,
                                          exact_prior_share=cfg.exact_prior_share,
                                          clip_balance=cfg.clip_balance, degrade_share=cfg.degrade_share,
                                          hue_share=cfg.hue_share)
            jitter = int(self.rng.integers(-cfg.ahead_jitter, cfg.ahead_jitter + 1))
            with torch.autocast(self.device.type, torch.bfloat16, enabled=self.amp):
                out = rollout(self.dit, self.codec, batch, self.model_cfg, self.stream, cfg, self.gen,
                              cfg.rollout_chunks, ahead_jitter=jitter)
            self._step(self.dit, self.opt_dit, out.loss, _lr(self.state.dit_step, cfg.dit_steps, cfg))
            self.state.dit_step += 1
            self.state.train_seconds += time.perf_counter() - started
            if self.state.dit_step % cfg.log_every == 0:
                self._log({"stage": "dit", "step": self.state.dit_step, "loss": float(out.loss),
                           "latent_loss": out.latent_loss, "pixel_loss": out.pixel_loss, **self.dit_validation()})
            if self.state.dit_step % cfg.checkpoint_every == 0:
                self.save_checkpoint()
            if cfg.snapshot_every and self.state.dit_step % cfg.snapshot_every == 0:
                name = f"{self.model_cfg.name}-dit{self.state.dit_step}.safetensors"
                self.export_weights(self.out / "snapshots" / name)

    @torch.no_grad()
    def dit_validation(self, batches: int = 2) -> dict[str, float]:
        """On held-out frames, fixed samples and noise: the rollout's loss at each exit step, and the face PSNR
        of the composed crops (what the app shows) next to the warp prior's: `val_gain_db` > 0 is better."""
        data = self.val_set or self.train_set
        cfg = self.train_cfg
        self.dit.eval()
        losses, gen_psnr, warp_psnr = [], [], []
        for i in range(batches):
            gen = torch.Generator(self.device).manual_seed(100 + i)
            batch = data.sample(cfg.batch_size, self.seq_len, gen, augment=False)
            with torch.autocast(self.device.type, torch.bfloat16, enabled=self.amp):
                for s in range(len(self.stream.timesteps)):
                    g = torch.Generator(self.device).manual_seed(200 + i)
                    out = rollout(self.dit, self.codec, batch, self.model_cfg, self.stream, cfg, g,
                                  cfg.rollout_chunks, exit_steps=[s] * cfg.rollout_chunks)
                    losses.append(float(out.loss))
            n = out.emitted.shape[1]
            warp_lat = encode_frames(self.codec, batch["warps"][:, :n])
            composed = compose_crops(self.codec, out.emitted, warp_lat, batch["warps"][:, :n])
            real, mask = to_tensor(batch["frames"][:, :n]), batch["regions"][:, :n, :1]
            gen_psnr.append(masked_psnr(composed, real, mask))
            warp_psnr.append(masked_psnr(to_tensor(batch["warps"][:, :n]), real, mask))
        self.dit.train()
        g, w = float(np.mean(gen_psnr)), float(np.mean(warp_psnr))
        return {"val_loss": float(np.mean(losses)), "val_face_psnr": g, "val_warp_psnr": w, "val_gain_db": g - w}

    def dit_val_loss(self) -> float:
        """The validation rollout loss alone (see dit_validation)."""
        return self.dit_validation(batches=1)["val_loss"]

    def steps_per_second(self) -> float:
        """Training steps per second of step time over both stages so far."""
        steps = self.state.codec_step + self.state.dit_step
        return steps / self.state.train_seconds if self.state.train_seconds else float("nan")

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
