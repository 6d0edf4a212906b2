"""Animator faults: weights missing, corrupt or of another version (fall back to warp with a sentence), a
generated chunk with NaN or inf (replaced by the warp prior, logged once), and the GPU running out of memory
(step down to a smaller preset, then the CPU, with a sentence). All on the shipped tiny weights.

This machine has no GPU: out-of-memory is raised at the engine boundary, by a wrapper around the real Knot
Forcing animator's push, exactly as torch raises it; what the app does about it is the real code."""

import itertools
import json
import logging
from dataclasses import replace

import numpy as np
import pytest
import torch

from app.testing import prepare_qt_environment

prepare_qt_environment()  # before pytest-qt creates the QApplication

from app import texts  # noqa: E402
from app.capture import CaptureWorker  # noqa: E402
from app.engine_choice import AnimatorChoice, BuiltAnimator, build_animator, smaller_choice  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from app.queues import DropOldestQueue  # noqa: E402
from app.sources import SourceSpec  # noqa: E402
from app.testing import temporary_settings  # noqa: E402
from app.workers import GenerationWorker  # noqa: E402
from engine.assets import default_weights_path  # noqa: E402
from engine.face.tracker import FaceTracker  # noqa: E402
from engine.knot.knot_animator import KnotAnimator, load_default_knot_animator  # noqa: E402
from engine.pipeline import AvatarPipeline  # noqa: E402
from engine.warp import WarpAnimator  # noqa: E402
from tests.conftest import DEMO_CLIP  # noqa: E402

TINY = default_weights_path("tiny")
pytestmark = pytest.mark.skipif(not TINY.is_file(), reason="the tiny Knot Forcing weights are not installed")


# --- weights -------------------------------------------------------------------------------------------------
def missing(tmp_path):
    return tmp_path / "tiny.safetensors"


def truncated(tmp_path):
    path = tmp_path / "tiny_cut.safetensors"
    path.write_bytes(TINY.read_bytes()[: TINY.stat().st_size // 2])
    return path


def other_version(tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(TINY), framework="pt") as f:
        meta = json.loads(f.metadata()["knotcam"])
    path = tmp_path / "tiny_v99.safetensors"
    save_file(load_file(str(TINY)), str(path), metadata={"knotcam": json.dumps({**meta, "format_version": 99})})
    return path


BAD_WEIGHTS = {"missing": (missing, "does not exist"), "corrupt": (truncated, "corrupt"),
               "other version": (other_version, "format version 99")}


@pytest.mark.parametrize("kind", list(BAD_WEIGHTS))
def test_bad_weights_fall_back_to_warp_with_one_sentence_naming_the_file(tmp_path, kind):
    make, words = BAD_WEIGHTS[kind]
    path = make(tmp_path)
    built = build_animator(AnimatorChoice("knot", "tiny", "cpu", weights=str(path)))
    assert isinstance(built.animator, WarpAnimator) and built.label == texts.ANIMATOR_WARP
    assert words in built.notice and path.name in built.notice
    assert built.notice.endswith("using the warp animator.") and "\n" not in built.notice


def test_window_switched_to_bad_weights_keeps_animating_with_warp_and_says_why(qtbot, tmp_path):
    window = MainWindow(temporary_settings(tmp_path))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.avatar_view.frames_shown >= 3, timeout=20000)
    for make, words in BAD_WEIGHTS.values():
        window.generation.set_animator(AnimatorChoice("knot", "tiny", "cpu", weights=str(make(tmp_path))))
        qtbot.waitUntil(lambda words=words: words in window.engine_panel.active.text(), timeout=20000)
        assert "using the warp animator" in window.statusBar().currentMessage()
        shown = window.avatar_view.frames_shown
        qtbot.waitUntil(lambda shown=shown: window.avatar_view.frames_shown > shown + 3, timeout=10000)


# --- NaN / inf in a generated chunk --------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_chunk_is_replaced_by_the_warp_prior_and_logged_once(default_portrait, demo_frames, caplog, bad):
    knot = load_default_knot_animator("tiny", "cpu")
    motions = []
    push = knot.push
    knot.push = lambda motion: motions.append(motion) or push(motion)
    weight = knot.streamer.model.blocks[0].attn.qkv.weight
    healthy = weight[0, 0].item()
    sample = knot.streamer.sampler.sample

    def sample_with_a_bad_weight(*args):  # the chunk's denoising goes wrong, nothing else
        weight.data[0, 0] = bad
        try:
            return sample(*args)
        finally:
            weight.data[0, 0] = healthy

    chunks = []
    cfg = knot.streamer.cfg  # the pushes that complete a chunk: the first after K + k frames, then every K
    completing = list(range(cfg.chunk_frames + cfg.knot_frames - 1, 16, cfg.chunk_frames))
    broken_pushes = {completing[1], completing[3]}  # the second and the fourth chunk
    with FaceTracker() as tracker, caplog.at_level(logging.WARNING, logger="engine.knot.streaming"):
        pipeline = AvatarPipeline(knot, tracker)
        pipeline.set_portrait(default_portrait)
        for i, frame in enumerate(demo_frames[:16]):
            broken = i in broken_pushes
            knot.streamer.sampler.sample = sample_with_a_bad_weight if broken else sample
            out = pipeline.process(frame, i / 30)
            if out:
                chunks.append((broken, out))
    assert [broken for broken, _ in chunks] == [i in broken_pushes for i in completing]
    warp = WarpAnimator()
    warp.set_portrait(default_portrait)
    for broken, frames in chunks:
        for frame in frames:
            assert frame.image.dtype == np.uint8
            expected = warp.push(motions[frame.index])[0].image
            assert np.array_equal(frame.image, expected) == broken  # fallback frames are the warp prior
    assert len([r for r in caplog.records if "not finite" in r.getMessage()]) == 1
    cache = knot.streamer.cache
    assert all(torch.isfinite(t).all() for t in (cache.win_k, cache.win_v, cache.ref_k, cache.ref_v))


# --- out of memory -------------------------------------------------------------------------------------------
def test_out_of_memory_steps_down_preset_then_to_the_cpu_then_to_warp():
    steps = list(itertools.islice(itertools.accumulate(range(5), lambda c, _: smaller_choice(c),
                                                       initial=AnimatorChoice("knot", "large", "cuda")), 6))
    assert [(c.kind, c.preset, c.device) if c.kind == "knot" else "warp" for c in steps] == [
        ("knot", "large", "cuda"), ("knot", "base", "cuda"), ("knot", "tiny", "cuda"), ("knot", "tiny", "cpu"),
        "warp", "warp"]


def test_out_of_memory_while_loading_steps_down_to_a_preset_that_fits(monkeypatch):
    """Loading runs out of memory for every preset above tiny on the GPU (the load is the real one, on the CPU
    here, for the presets that fit): build_animator ends on tiny with a notice naming what did not fit."""
    import engine.knot.knot_animator as knot_animator

    real_load = knot_animator.load_knot_animator
    tried = []

    def load_on_a_small_gpu(weights, stream=None, device: str = "cpu", *args, expected=None, **kwargs):
        tried.append((expected.name, device))
        if device == "cuda" and expected.name != "tiny":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_load(weights, stream, "cpu", *args, expected=expected, **kwargs)

    monkeypatch.setattr(knot_animator, "load_knot_animator", load_on_a_small_gpu)
    built = build_animator(AnimatorChoice("knot", "large", "cuda"))
    assert tried == [("large", "cuda"), ("base", "cuda"), ("tiny", "cuda")]
    assert isinstance(built.animator, knot_animator.KnotAnimator) and built.animator.cfg.name == "tiny"
    assert "large" in built.oom_notice and not built.fallback_reason


def test_knot_forcing_leaves_one_core_to_tracking_and_the_gui(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    try:
        built = build_animator(AnimatorChoice("knot", "tiny", "cpu"))
        assert isinstance(built.animator, KnotAnimator) and torch.get_num_threads() == 3
        monkeypatch.setattr("os.cpu_count", lambda: 2)
        build_animator(AnimatorChoice("knot", "tiny", "cpu"))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def gpu_that_runs_out_after(pushes: int):
    """An animator builder: the real tiny Knot Forcing animator (on the CPU here); on 'cuda' its push raises
    torch's CUDA out-of-memory error once `pushes` frames went through, as a GPU that fills up would."""

    def build(choice: AnimatorChoice) -> BuiltAnimator:
        built = build_animator(replace(choice, device="cpu"))
        if choice.device == "cuda":
            push, calls = built.animator.push, itertools.count()

            def push_until_out_of_memory(motion):
                if next(calls) >= pushes:
                    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
                return push(motion)

            built.animator.push = push_until_out_of_memory
        return BuiltAnimator(built.animator, choice.describe(), built.fallback_reason)

    return build


def test_cuda_out_of_memory_mid_stream_switches_to_the_cpu_with_a_message(qtbot, default_portrait):
    frames_in, frames_out = DropOldestQueue(2), DropOldestQueue(4)
    generation = GenerationWorker(frames_in, frames_out, AnimatorChoice("knot", "tiny", "cuda"),
                                  build=gpu_that_runs_out_after(8))
    capture = CaptureWorker(SourceSpec("file", path=str(DEMO_CLIP)), frames_in)
    ready: list[tuple[str, str]] = []
    errors: list[str] = []
    generation.animator_ready.connect(lambda label, notice: ready.append((label, notice)))
    generation.failed.connect(errors.append)
    generation.set_portrait(default_portrait)
    generation.start()
    capture.start()
    try:
        qtbot.waitUntil(lambda: len(ready) == 2, timeout=30000)
        cpu = AnimatorChoice("knot", "tiny", "cpu").describe()
        assert ready == [(AnimatorChoice("knot", "tiny", "cuda").describe(), ""),
                         (cpu, texts.OUT_OF_MEMORY.format(device="GPU", preset="tiny", fallback=cpu))]
        generated = generation.frames_generated
        qtbot.waitUntil(lambda: generation.frames_generated > generated + 6, timeout=30000)  # goes on, on the CPU
        assert generation.isRunning() and errors == []
        assert isinstance(generation._pipeline.animator, KnotAnimator)
    finally:
        assert capture.stop() and generation.stop(5000)
