"""Training: a few CPU steps lower the validation loss, and a run resumes exactly where it stopped."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
import torch

from engine.config import ModelConfig, StreamConfig, TrainConfig
from engine.data.cache import build_cache
from engine.data.prepare import prepare
from engine.train.trainer import Trainer
from tests.conftest import DEMO_CLIP

MODEL = ModelConfig(name="test", resolution=64, latent_channels=4, codec_widths=(8, 8, 16), width=48, depth=2,
                    heads=2)
STREAM = StreamConfig(chunk_frames=2, knot_frames=1, window_frames=4, ahead_frames=4, timesteps=(1.0, 0.5))
TRAIN = TrainConfig(codec_steps=30, dit_steps=60, batch_size=4, lr=2e-3, warmup_steps=5, rollout_chunks=2,
                    log_every=1000, checkpoint_every=1000)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("prep")
    shutil.copy(DEMO_CLIP, root / "carphone.mp4")
    out = root / "data"
    prepare([(root / "carphone.mp4", root)], [], out, MODEL.resolution, set(), 120)
    build_cache(out, "train", MODEL.motion_size, refs_per_clip=2, workers=1)
    return out



def test_a_few_cpu_steps_lower_the_validation_loss(data_dir, tmp_path):
    trainer = Trainer(MODEL, STREAM, TRAIN, data_dir, tmp_path / "run")
    trainer.train_codec(deadline=float("inf"))
    before = trainer.dit_val_loss()
    trainer.train_dit(deadline=float("inf"))
    after = trainer.dit_val_loss()
    assert after < 0.7 * before


def test_a_resumed_run_continues_from_the_same_step_and_optimiser_state(data_dir, tmp_path):
    short = replace(TRAIN, codec_steps=6, dit_steps=4)
    first = Trainer(MODEL, STREAM, short, data_dir, tmp_path / "run")
    first.run()
    resumed = Trainer(MODEL, STREAM, replace(short, dit_steps=8), data_dir, tmp_path / "run", resume=True)
    assert (resumed.state.codec_step, resumed.state.dit_step) == (6, 4)
    for a, b in zip(first.dit.state_dict().values(), resumed.dit.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    moments = [s["exp_avg"] for s in first.opt_dit.state_dict()["state"].values()]
    resumed_moments = [s["exp_avg"] for s in resumed.opt_dit.state_dict()["state"].values()]
    assert moments and all(torch.equal(a, b) for a, b in zip(moments, resumed_moments, strict=True))
    resumed.run()
    assert resumed.state.dit_step == 8


def test_a_small_model_overfits_a_real_clip_with_the_rollout_objective_and_then_beats_its_warp_prior(data_dir,
                                                                                                     tmp_path):
    """The objective works: a warp-residual DiT starts exactly at the warp prior (gain 0 dB) and, trained on
    its own rollouts of the real carphone clip, composes that clip's frames closer to the truth than the warp
    (face-masked PSNR of the app's residual composition, fixed samples and noise)."""
    model = replace(MODEL, prediction="warp_residual")
    train = replace(TRAIN, codec_steps=150, dit_steps=200)
    trainer = Trainer(model, STREAM, train, data_dir, tmp_path / "run")
    trainer.train_codec(deadline=float("inf"))
    before = trainer.dit_validation(batches=1)
    assert before["val_gain_db"] == pytest.approx(0.0, abs=1e-6)
    trainer.train_dit(deadline=float("inf"))
    after = trainer.dit_validation(batches=1)
    assert after["val_gain_db"] > 0.2, after
