"""CUDA graphs replay the streamer's chunks with the same frames as eager execution (GPU only).

CI has no GPU, so these tests skip there; they are run on a GPU machine (`pytest tests/test_cuda_graph.py`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from engine.config import PRESETS, StreamConfig
from engine.knot.streaming import KnotStreamer
from tests.small_models import SMALL, randomised_model
from tests.test_streaming import driving_frames

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

STREAM = StreamConfig(chunk_frames=3, knot_frames=1, window_frames=6, ahead_frames=6)


def _stream(cfg, stream: StreamConfig, portraits: list[int], frames: int) -> tuple[torch.Tensor, KnotStreamer]:
    """Run `frames` driving frames per portrait seed in `portraits` (switching mid-stream); all emitted latents."""
    model = randomised_model(cfg, std=0.1).cuda()
    streamer = KnotStreamer(model, stream, "cuda")
    out = []
    for seed in portraits:
        g = torch.Generator().manual_seed(seed)
        streamer.set_reference(torch.randn(cfg.latent_channels, cfg.latent_size, cfg.latent_size, generator=g),
                               torch.rand(cfg.motion_channels, cfg.motion_size, cfg.motion_size, generator=g))
        for motion, warp, ts in driving_frames(cfg, frames, seed=seed + 10):
            out += [f.latent.cpu() for f in streamer.push(motion, warp, ts)]
    torch.cuda.synchronize()
    return torch.stack(out), streamer


ABLATIONS = [STREAM, replace(STREAM, knot_frames=0), replace(STREAM, running_ahead=False),
             replace(STREAM, use_reference_cache=False)]


@pytest.mark.parametrize("stream", ABLATIONS, ids=["knot", "k0", "no-ahead", "no-ref"])
def test_graphed_chunks_equal_eager_chunks_across_portrait_switches(stream):
    graphed, streamer = _stream(SMALL, stream, [1, 2], 60)
    eager, eager_streamer = _stream(SMALL, replace(stream, cuda_graph=False), [1, 2], 60)
    assert streamer.sampler.graphed and not eager_streamer.sampler.graphed
    assert graphed.shape == eager.shape and torch.isfinite(graphed).all()
    assert torch.allclose(graphed, eager, atol=1e-4, rtol=1e-4), _diffs(graphed, eager)


def _diffs(a: torch.Tensor, b: torch.Tensor) -> str:
    per_frame = (a - b).abs().flatten(1).max(1).values
    return f"max |graphed - eager| per frame: {[f'{d:.1e}' for d in per_frame.tolist()]}"


def test_graphed_tiny_preset_equals_eager_over_many_chunks():
    tiny = PRESETS["tiny"]
    graphed, _ = _stream(tiny.model, tiny.stream, [3], 300)
    eager, _ = _stream(tiny.model, replace(tiny.stream, cuda_graph=False), [3], 300)
    assert torch.allclose(graphed, eager, atol=1e-4, rtol=1e-4), _diffs(graphed, eager)


def _demo_motions(frames: int):
    """The default portrait and the demo clip's first `frames` motions on it (recorded tracking)."""
    from engine.assets import DEFAULT_PORTRAIT, DEMO_CLIP
    from engine.eval.recorded_tracker import RecordedTracker
    from engine.face.portrait import load_portrait
    from engine.face.retarget import Retargeter
    from engine.video import VideoFileSource

    tracker = RecordedTracker.load("benchmarks/landmarks_astronaut_carphone.npz")
    portrait = load_portrait(DEFAULT_PORTRAIT, tracker)
    retargeter = Retargeter(portrait.landmarks)
    with VideoFileSource(DEMO_CLIP) as source:
        motions = [retargeter.retarget(tracker.track(source.read()), i / 30) for i in range(frames)]
    return portrait, motions


def test_knot_animator_on_the_gpu_path_gives_the_opencv_paths_frames():
    """Warp, crop and paste on the GPU (DeviceFrames) against the same animator composing with OpenCV."""
    from engine.knot.knot_animator import load_default_knot_animator

    portrait, motions = _demo_motions(40)
    runs = []
    for on_device in (False, True):
        animator = load_default_knot_animator("tiny", "cuda")
        animator.frames_on_device = on_device
        animator.set_portrait(portrait)
        frames = [f for m in motions for f in animator.push(m)] + animator.flush()
        runs.append(np.stack([f.image for f in frames]))
    host, device = (r.astype(np.float64) for r in runs)
    assert host.shape == device.shape == (40, *portrait.image.shape)
    psnr = 10 * np.log10(255**2 / max(((host - device) ** 2).mean(), 1e-12))
    assert psnr > 40, psnr


def test_graphed_crop_and_encode_give_the_eager_frames():
    """The GPU path's per-frame crop + encode replayed from a CUDA graph (GraphedStep), against eager."""
    from engine.assets import default_weights_path
    from engine.knot.knot_animator import load_knot_animator

    portrait, motions = _demo_motions(40)
    runs = []
    for graph in (True, False):
        tiny = PRESETS["tiny"]
        animator = load_knot_animator(default_weights_path("tiny"), replace(tiny.stream, cuda_graph=graph), "cuda")
        animator.set_portrait(portrait)
        frames = [f for m in motions for f in animator.push(m)] + animator.flush()
        assert animator._encode_warp.graphed == graph
        animator.set_portrait(portrait)  # a new portrait's step is captured anew
        frames += [f for m in motions[:10] for f in animator.push(m)] + animator.flush()
        runs.append(np.stack([f.image for f in frames]).astype(np.int16))
    assert runs[0].shape == runs[1].shape == (50, *portrait.image.shape)
    assert np.abs(runs[0] - runs[1]).max() <= 1


def test_planning_ahead_on_the_gpu_gives_the_frames_of_the_in_line_path():
    """Warp plans from worker processes and each chunk's download queued into page-locked memory and handed
    out with the next chunk (KnotAnimator plan_ahead on CUDA): the same frames as planning in line."""
    from engine.animator_factory import AnimatorSpec, load_animator

    portrait, motions = _demo_motions(40)
    runs = []
    for ahead in (0, 3):
        animator = load_animator(AnimatorSpec("knot", "tiny", "cuda", plan_ahead=ahead))
        assert animator.defers_download == bool(ahead)
        animator.set_portrait(portrait)
        try:
            frames = [f for m in motions for f in animator.push(m)] + animator.flush()
        finally:
            animator.close()
        assert [f.index for f in frames] == list(range(40))
        runs.append(np.stack([f.image for f in frames]).astype(np.int16))
    assert np.abs(runs[0] - runs[1]).max() <= 1
