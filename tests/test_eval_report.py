"""`main.py eval`: the systems compared, the frames scored, the first table, and the --quick run end to end."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from dataclasses import fields, replace

import numpy as np
import pytest

from engine.config import StreamConfig
from engine.eval.report_writer import TABLE_COLUMNS, first_table
from engine.eval.scoring import QUICK, EvalPlan, Scores, chunk_ids_for_jump
from engine.eval.systems import standard_systems
from tests.conftest import REPO

SYSTEM_NAMES = ["warp", "warp, blurred", "knot", "generated window", "no knot", "no running ahead",
                "no reference cache", "short window", "long window"]


def test_each_ablation_changes_exactly_one_switch_of_the_generated_window_system():
    base = StreamConfig()
    systems = {s.name: s for s in standard_systems(base)}
    assert list(systems) == SYSTEM_NAMES and systems["warp"].stream is None and systems["knot"].stream == base
    gen = systems["generated window"].stream
    assert base.window_source == "warp_prior" and gen == replace(base, window_source="generated")
    changed = {name: [f.name for f in fields(StreamConfig) if getattr(s.stream, f.name) != getattr(gen, f.name)]
               for name, s in systems.items() if name not in ("warp", "warp, blurred", "knot", "generated window")}
    assert changed == {"no knot": ["knot_frames"], "no running ahead": ["running_ahead"],
                       "no reference cache": ["use_reference_cache"], "short window": ["window_frames"],
                       "long window": ["window_frames"]}
    assert (systems["short window"].stream.window_frames, systems["long window"].stream.window_frames) == (3, 12)
    blurred = systems["warp, blurred"]
    assert blurred.stream is None and blurred.blur_sigma > 0 and all(
        s.blur_sigma == 0 for name, s in systems.items() if name != "warp, blurred")


def test_the_blur_reference_gives_the_warps_frames_softer_and_nothing_else(default_portrait, demo_landmarks):
    from engine.eval.blurred import BlurredAnimator
    from engine.eval.metrics import sharpness
    from engine.face.retarget import Retargeter
    from engine.warp import WarpAnimator

    warp, blurred = WarpAnimator(), BlurredAnimator(WarpAnimator(), 1.0)
    retargeter = Retargeter(default_portrait.landmarks)
    motions = [retargeter.retarget(lm, i / 30) for i, lm in enumerate(demo_landmarks[:8])]
    for animator in (warp, blurred):
        animator.set_portrait(default_portrait)
    for m in motions:
        (sharp,), (soft,) = warp.push(m), blurred.push(m)
        assert (soft.timestamp, soft.index, soft.image.shape) == (sharp.timestamp, sharp.index, sharp.image.shape)
        assert sharpness(soft.image) < 0.8 * sharpness(sharp.image)
        assert np.abs(soft.image.astype(int) - sharp.image).mean() < 6  # softer, not another picture


def test_full_plan_compares_minute_10_with_minute_1_at_30_fps():
    plan = EvalPlan()
    assert plan.total_frames == 18_000 and plan.drift_early_end == 1_800
    assert plan.keeps(17_999) and plan.keeps(1_799) and plan.keeps(0) and not plan.keeps(9_000)


def test_quick_plan_runs_300_frames_and_scores_drift_at_frame_300_against_60():
    assert (QUICK.total_frames, QUICK.drift_early_end, QUICK.drift_late_end) == (300, 60, 300)


def test_a_one_frame_per_call_animator_is_cut_into_nominal_chunks():
    assert chunk_ids_for_jump(np.arange(7), 3).tolist() == [0, 0, 0, 1, 1, 1, 2]
    assert chunk_ids_for_jump(np.array([4, 4, 4, 7, 7, 7]), 3).tolist() == [4, 4, 4, 7, 7, 7]


def test_first_table_has_a_row_per_system_and_a_column_per_metric_plus_fps():
    values = {key: 0.5 for key, _, _ in TABLE_COLUMNS}
    table = first_table({"warp": Scores(dict(values)), "knot": Scores(dict(values, fps=math.nan))})
    lines = table.splitlines()
    assert len(lines) == 4 and lines[0].count("|") == len(TABLE_COLUMNS) + 2 and "fps" in lines[0]
    assert lines[3].startswith("| knot |") and lines[3].endswith("| n/a |")


def test_an_unknown_system_is_refused_in_one_sentence(tmp_path):
    result = subprocess.run([sys.executable, "main.py", "eval", "--quick", "--out", str(tmp_path), "--systems",
                             "warp,teleport"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "teleport" in result.stderr and "Traceback" not in result.stderr


def _table_rows(report: str) -> list[list[str]]:
    """Cells of the first table after its header and rule (the first block of lines starting with '|')."""
    lines = report.split("## All systems, same inputs", 1)[1].strip().splitlines()
    end = next((i for i, line in enumerate(lines) if not line.startswith("|")), len(lines))
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:end]]


@pytest.mark.slow
def test_quick_eval_writes_a_report_whose_first_table_has_finite_numbers_for_every_system(tmp_path):
    result = subprocess.run([sys.executable, "main.py", "eval", "--quick", "--out", str(tmp_path)], cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    report = (tmp_path / "report.md").read_text()
    rows = _table_rows(report)
    assert [r[0] for r in rows] == SYSTEM_NAMES
    for row in rows:
        numbers = [float(re.sub(r"%$", "", cell)) for cell in row[1:]]
        assert len(numbers) == len(TABLE_COLUMNS) and all(math.isfinite(x) for x in numbers), row
    for image in re.findall(r"!\[[^]]*\]\(([^)]+)\)", report):
        assert (tmp_path / image).stat().st_size > 1000, image
    # The first table: held-out self-reenactment, every system on carphone and franck's tail.
    held = _held_out_rows(report)
    assert [(r[0], r[1]) for r in held] == [(c, n) for c in ("carphone", "franck tail") for n in SYSTEM_NAMES]
    for row in held:
        numbers = [float(cell) for cell in row[2:] if cell != "—"]
        assert len(numbers) >= 5 and all(math.isfinite(x) for x in numbers), row
    assert report.index("## Held-out self-reenactment") < report.index("## All systems, same inputs")
    # The attention probe: the shipped model at its running-ahead distance, the ablation falling behind.
    attention = json.loads((tmp_path / "results.json").read_text())["reference_attention"]
    assert attention["clip"] == "carphone" and attention["frames"] == QUICK.attention_frames
    assert [row["label"] for row in attention["rows"]["knot"]] == ["0-9"]
    assert len(attention["rows"]["no running ahead"]) >= 4 and "## Where the model looks" in report


def _held_out_rows(report: str) -> list[list[str]]:
    """Cells of the held-out self-reenactment table (the report's first)."""
    lines = report.split("## Held-out self-reenactment", 1)[1].split("\n", 1)[1].strip().splitlines()
    end = next((i for i, line in enumerate(lines) if not line.startswith("|")), len(lines))
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:end]]
