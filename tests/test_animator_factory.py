"""engine/animator_factory.py: the one place an animator is built from (kind, preset, device, weights)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

import engine.knot.knot_animator as knot_animator
from engine.animator_factory import AnimatorSpec, build_animator, load_animator, smaller_spec
from engine.errors import EngineUnavailableError
from engine.warp import WarpAnimator


def test_warp_spec_builds_the_warp_without_a_reason():
    built = build_animator(AnimatorSpec("warp"))
    assert isinstance(built.animator, WarpAnimator) and built.used == AnimatorSpec("warp") and built.reason == ""


def test_missing_weights_fall_back_to_the_warp_with_the_reason_as_data():
    built = build_animator(AnimatorSpec("knot", "base", "cpu"))  # base ships no weights
    assert isinstance(built.animator, WarpAnimator) and built.used.kind == "warp"
    assert "base.safetensors" in built.reason and not built.out_of_memory


def test_load_animator_is_exact_and_says_why_in_one_sentence(tmp_path):
    with pytest.raises(EngineUnavailableError, match="cannot be loaded") as err:
        load_animator(AnimatorSpec("knot", "tiny", "cpu", Path(tmp_path / "none.safetensors")))
    assert "none.safetensors" in str(err.value) and "\n" not in str(err.value)


def test_out_of_memory_steps_down_large_base_tiny_then_cpu_then_warp():
    steps = list(itertools.islice(itertools.accumulate(range(5), lambda s, _: smaller_spec(s),
                                                       initial=AnimatorSpec("knot", "large", "cuda")), 5))
    assert [(s.kind, s.preset, s.device) for s in steps] == [
        ("knot", "large", "cuda"), ("knot", "base", "cuda"), ("knot", "tiny", "cuda"), ("knot", "tiny", "cpu"),
        ("warp", "tiny", "cpu")]


def test_out_of_memory_while_loading_is_reported_with_the_spec_used(monkeypatch):
    real_load = knot_animator.load_knot_animator

    def load_on_a_small_gpu(weights, stream=None, device: str = "cpu", *args, **kwargs):
        if device == "cuda":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_load(weights, stream, "cpu", *args, **kwargs)

    monkeypatch.setattr(knot_animator, "load_knot_animator", load_on_a_small_gpu)
    built = build_animator(AnimatorSpec("knot", "base", "cuda"))
    assert isinstance(built.animator, knot_animator.KnotAnimator)
    assert built.out_of_memory and built.reason == "" and built.used == AnimatorSpec("knot", "tiny", "cpu")


def test_a_chosen_chunk_size_loads_the_shipped_weights_with_that_stream():
    import argparse

    from engine.animator_factory import AnimatorSpec, load_animator
    from engine.cli.stream_options import stream_config
    from engine.config import get_preset

    args = argparse.Namespace(chunk_frames=1, knot_frames=None, denoising_steps=None)
    stream = stream_config(args, get_preset("tiny").stream)
    assert (stream.chunk_frames, stream.knot_frames) == (1, 1)
    animator = load_animator(AnimatorSpec("knot", "tiny", "cpu", None, stream))
    assert animator.streamer.cfg.chunk_frames == 1
    with pytest.raises(ValueError, match="knot_frames"):
        stream_config(argparse.Namespace(chunk_frames=2, knot_frames=3, denoising_steps=None),
                      get_preset("tiny").stream)


def test_fewer_denoising_steps_keep_the_first_times_of_the_trained_schedule():
    import argparse

    from engine.cli.stream_options import stream_config
    from engine.config import get_preset

    base = get_preset("tiny").stream
    one = stream_config(argparse.Namespace(chunk_frames=None, knot_frames=None, denoising_steps=1), base)
    two = stream_config(argparse.Namespace(chunk_frames=None, knot_frames=None, denoising_steps=2), base)
    assert one.timesteps == base.timesteps[:1] == (1.0,) and two.timesteps == base.timesteps[:2]
    assert (one.chunk_frames, one.knot_frames) == (base.chunk_frames, base.knot_frames)
    for bad in (0, len(base.timesteps) + 1):
        with pytest.raises(ValueError, match="denoising-steps"):
            stream_config(argparse.Namespace(chunk_frames=None, knot_frames=None, denoising_steps=bad), base)
