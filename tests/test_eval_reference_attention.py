"""The attention probe (engine/eval/reference_attention.py) on the shipped tiny model and real driving motion:
it records without changing what the animator makes, its shares are proportions of the real softmax, and the
reference's distance is what running ahead (or its absence) makes it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine.assets import default_weights_path
from engine.config import get_preset
from engine.eval.reference_attention import attention_markdown, by_distance, probe, recording_attention
from engine.eval.systems import System, build_animator, run_animator
from engine.face.retarget import Retargeter

STREAM = get_preset("tiny").stream


@pytest.fixture(scope="module")
def motions(default_portrait, demo_landmarks):
    retargeter = Retargeter(default_portrait.landmarks)
    return [retargeter.retarget(demo_landmarks[i % len(demo_landmarks)], i / 30) for i in range(24)]


def _frames(animator, portrait, motions) -> np.ndarray:
    run = run_animator(animator, portrait, motions, lambda i: True)
    return np.stack([run.frames[i] for i in sorted(run.frames)])


def test_recording_leaves_the_frames_and_the_model_as_they_were(default_portrait, motions):
    system = System("knot", "", STREAM)
    plain = _frames(build_animator(system, default_weights_path("tiny"), "cpu"), default_portrait, motions)
    animator = build_animator(system, default_weights_path("tiny"), "cpu")
    shares = []
    with recording_attention(animator, shares):
        recorded = _frames(animator, default_portrait, motions)
    assert np.array_equal(plain, recorded)
    assert shares and all("attend" not in blk.attn.__dict__ for blk in animator.streamer.model.blocks)


def test_shares_are_proportions_and_the_distance_follows_running_ahead(default_portrait, motions):
    weights = default_weights_path("tiny")
    ahead = probe(System("knot", "", STREAM), weights, "cpu", default_portrait, motions)
    behind = probe(System("no running ahead", "", replace(STREAM, running_ahead=False)), weights, "cpu",
                   default_portrait, motions)
    for s in ahead + behind:
        assert s.reference + s.window + s.chunk == pytest.approx(1.0, abs=1e-4)
        assert min(s.reference, s.window, s.chunk) >= 0
    assert {s.reference_distance for s in ahead} == {STREAM.ahead_frames}
    distances = sorted({s.reference_distance for s in behind}, reverse=True)
    assert distances[0] == 0 and np.all(np.diff(distances) == -STREAM.chunk_frames)  # K frames further per chunk
    layers = get_preset("tiny").model.depth
    assert len(ahead) % layers == 0 and {s.layer for s in ahead} == set(range(layers))
    rows = by_distance(behind)
    assert sum(row.calls for row in rows) == len(behind) and [row.label for row in rows][:2] == ["0-9", "10-29"]
    table = attention_markdown({"knot": ahead, "no running ahead": behind}, "demo", len(motions))
    assert table.count("| knot |") == 1 and table.count("| no running ahead |") == len(rows)
