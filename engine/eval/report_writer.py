"""Writes the evaluation's outputs: report.md, results.json, plots and contact sheets."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.animator import Portrait
from engine.config import FACE_CROP_SCALE
from engine.eval import plots
from engine.eval.markdown import ReportSection, cell
from engine.eval.scoring import TILE, EvalPlan, Scores
from engine.eval.systems import DrivingClip
from engine.face.crop import CropBox

TABLE_COLUMNS: list[tuple[str, str, str]] = [
    ("psnr", "PSNR dB ↑ (self)", "{:.2f}"),
    ("ssim", "SSIM ↑ (self)", "{:.3f}"),
    ("mouth", "mouth err ↓", "{:.3f}"),
    ("eyes", "eyes err ↓", "{:.3f}"),
    ("pose", "pose err ↓", "{:.3f}"),
    ("jitter", "jitter (1 = driving)", "{:.2f}"),
    ("chunk_jump", "chunk jump (1 = seamless)", "{:.2f}"),
    ("sharpness", "sharpness", "{:.0f}"),
    ("identity", "identity ↑", "{:.3f}"),
    ("identity_drift", "identity late/early", "{:.3f}"),
    ("sharpness_drift", "sharpness late/early", "{:.2f}"),
    ("faces_found", "faces found", "{:.0%}"),
    ("fps", "fps", "{:.1f}"),
]


def _cell(value: float, fmt: str) -> str:
    return cell(value, fmt, missing="n/a")


def first_table(scores: dict[str, Scores]) -> str:
    """The report's first table in Markdown: one row per system, one column per metric, plus fps."""
    head = "| system | " + " | ".join(h for _, h, _ in TABLE_COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(TABLE_COLUMNS)
    rows = [f"| {name} | " + " | ".join(_cell(s.values.get(k, math.nan), f) for k, _, f in TABLE_COLUMNS) + " |"
            for name, s in scores.items()]
    return "\n".join([head, rule, *rows])


def _drift_table(scores: dict[str, Scores], early: str, late: str) -> str:
    head = (f"| system | identity {early} | identity {late} | late/early | sharpness {early} | sharpness {late} "
            "| late/early |\n|---|---:|---:|---:|---:|---:|---:|")
    rows = []
    for name, s in scores.items():
        v = s.values
        rows.append(f"| {name} | {_cell(v['identity_min1'], '{:.3f}')} | {_cell(v['identity_min10'], '{:.3f}')} | "
                    f"{_cell(v['identity_drift'], '{:.3f}')} | {_cell(v['sharpness_min1'], '{:.0f}')} | "
                    f"{_cell(v['sharpness_min10'], '{:.0f}')} | {_cell(v['sharpness_drift'], '{:.2f}')} |")
    return "\n".join([head, *rows])


def _marks(plan: EvalPlan) -> tuple[str, str]:
    def mark(end: int) -> str:
        if end % 1800 == 0:
            return f"minute {end // 1800}"
        return f"frame {end}"

    return mark(plan.drift_early_end), mark(plan.drift_late_end)


def _figures(out: Path, scores: dict[str, Scores], self_tiles: dict[str, list[np.ndarray]], clip: DrivingClip,
             portrait: Portrait, plan: EvalPlan, marks: tuple[str, str]) -> None:
    names = list(scores)
    keys = [k for k, _, _ in TABLE_COLUMNS if k not in ("faces_found",)]
    labels = {k: h for k, h, _ in TABLE_COLUMNS}
    plots.metric_bars(names, {k: [scores[n].values.get(k, math.nan) for n in names] for k in keys}, labels,
                      out / "metrics.png")
    shown = [n for n in ("warp", "knot", "no knot") if n in scores] or names[:3]
    plots.frame_difference_plot({n: (scores[n].frame_diffs, scores[n].borders) for n in shown},
                                out / "frame_differences.png")
    plots.drift_plot(names, {"identity": [scores[n].values["identity_min1"] for n in names],
                             "sharpness": [scores[n].values["sharpness_min1"] for n in names]},
                     {"identity": [scores[n].values["identity_min10"] for n in names],
                      "sharpness": [scores[n].values["sharpness_min10"] for n in names]}, marks, out / "drift.png")
    cross_idx = plan.contact_indices(plan.eval_frames)
    driving = [clip.frames[i % len(clip.frames)] for i in cross_idx]
    plots.contact_sheet([("driving", driving)] + [(n, scores[n].tiles) for n in names],
                        [f"frame {i}" for i in cross_idx], out / "contact_cross.png",
                        f"Cross-reenactment: {portrait.name} driven by the clip (face crops)")
    self_idx = plan.contact_indices(plan.self_frames)
    plots.contact_sheet([("ground truth", [clip.frames[i % len(clip.frames)] for i in self_idx])]
                        + [(n, self_tiles[n]) for n in names], [f"frame {i}" for i in self_idx],
                        out / "contact_self.png", "Self-reenactment: the clip's first frame driven by the clip")
    box = CropBox.from_landmarks(portrait.landmarks, FACE_CROP_SCALE)
    still = box.crop(portrait.image, TILE)
    plots.contact_sheet([("portrait", [still] * len(names)), (marks[0], [scores[n].drift_tiles[0] for n in names]),
                         (marks[1], [scores[n].drift_tiles[1] for n in names])], names, out / "contact_drift.png",
                        "Long horizon: last frame of each drift window")


def write_outputs(out: Path, scores: dict[str, Scores], self_tiles: dict[str, list[np.ndarray]],
                  clip: DrivingClip, portrait: Portrait, plan: EvalPlan, context: dict, held_table: str = "",
                  sections: Sequence[ReportSection] = ()) -> str:
    """Write report.md, results.json and the figures into `out`; returns the cross-reenactment table.
    `held_table` (held-out self-reenactment, engine/eval/held_out.py) is the report's first table; `sections`
    (the warp before / after, engine/eval/warp_section.py; the attention probe, engine/eval/reference_attention.py)
    follow the systems' list, each with its numbers in results.json[section.key]."""
    marks = _marks(plan)
    _figures(out, scores, self_tiles, clip, portrait, plan, marks)
    results = {"context": context, "systems": {n: s.values for n, s in scores.items()}}
    results.update({section.key: section.results for section in sections})
    (out / "results.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    table = first_table(scores)
    (out / "report.md").write_text(_markdown(table, scores, plan, context, marks, held_table,
                                             "".join(section.markdown for section in sections)))
    return table


def _load_sentence(ctx: dict) -> str:
    """How busy the CPU was while the systems ran: fps are wall-clock figures."""
    every = ctx.get("system_load", [])
    loads = [v for v in every if math.isfinite(v)]
    text = (f"1-minute load average at the end of a system's run: {min(loads):.1f} to {max(loads):.1f}"
            + (f" (recorded for {len(loads)} of the {len(every)} systems)" if len(loads) < len(every) else "")
            if loads else "The load average during the systems' runs was not recorded")
    text += " (fps are wall-clock, so indicative on a shared CPU)."
    if ctx.get("reused"):
        text += (f" Results of {', '.join(ctx['reused'])} were computed by earlier invocations of the same plan "
                 "(subset runs with `--systems`, or an interrupted run) and reused with `--resume`.")
    return text


def _markdown(table: str, scores: dict[str, Scores], plan: EvalPlan, ctx: dict, marks: tuple[str, str],
              held_table: str = "", sections_markdown: str = "") -> str:
    quick = ctx["command"].endswith("--quick")
    cal = ctx["identity_calibration"]
    systems = "\n".join(f"- **{n}**: {d}" for n, d in ctx["systems"].items())
    scope = (f"This is the **--quick** run (CI size): the cross-reenactment run is {plan.total_frames} frames and "
             f"drift compares frames {plan.drift_early_end - plan.drift_window}-{plan.drift_early_end - 1} with "
             f"{plan.drift_late_end - plan.drift_window}-{plan.drift_late_end - 1}, not minute 10 with minute 1. "
             "The full run is `python main.py eval`." if quick else
             f"Full run: each system streams {plan.total_frames:,} frames (10 minutes of the looped driving clip).")
    return f"""# Evaluation report

Generated by `{ctx['command']}` on {ctx['date']}; the systems ran for {ctx['system_seconds'] / 60:.1f} minutes in
all (this invocation took {ctx['seconds'] / 60:.1f}).
Machine: {ctx['machine']}. {_load_sentence(ctx)} {scope}

## Held-out self-reenactment (first table)

{held_table}

Each clip's first frame is the portrait and the clip's own motion drives it, so every output frame has a real
frame to be compared with; neither identity's frames were trained on (`carphone` is held out; `franck tail`
is the last 600 frames of franck, after a gap of 100 from the training part). **face / mouth PSNR, face
SSIM**: in the box of the real frame's face oval, and of its outer lips grown by half (mean over frames).
**still-face flicker**: mean absolute grey-level change of the face box between consecutive frames over the
stillest 20 % of the clip (least driving motion); **/ warp's**: the same over the warp baseline's (1 = as still
as the warp). **vs warp**: face PSNR against the warp baseline's own output (how much a system changes it).
**face sharpness / real's**: variance of the face box's Laplacian over the real frame's (1 = as sharp as the camera).
**warp, blurred** is a reference, not a system: the warp's frames through a Gaussian blur. These metrics reward
a softer picture wherever the motion is slightly off, so a system's gain over the warp means something only
where it exceeds that row's.

![held-out contact sheet](contact_held_out.png)

## All systems, same inputs

{table}

Columns. **PSNR / SSIM**: self-reenactment against the real frames (mean over frames 1-{plan.self_frames - 1}).
**mouth / eyes / pose err**: mean distance between the retargeted driving landmarks (what the animator was
asked to show) and the landmarks mediapipe finds on the output, over the inter-ocular distance (outer eye
corners); "pose" uses the skull-fixed landmarks, so it scores head-pose following. **jitter**: high-frequency
energy (mean squared second temporal difference) of the output's landmark tracks over that of the driving
video's tracks, each normalised by its inter-ocular distance; 1 = as steady as the driving face (the
retargeter's One Euro filter already smooths the motion, so the warp baseline sits below 1: compare with it).
**chunk jump**: mean frame difference across chunk borders over the mean inside chunks; 1 = seamless (the
warp baseline, which has no chunks, is cut into chunks of {ctx['chunk_frames']} frames to show the value
of a seamless stream). **sharpness**: variance of the Laplacian of the face region (the portrait's own face
scores {ctx['portrait_sharpness']:.0f}); artefacts (blotches, grid patterns) raise it too, so a value above the warp's
is not more detail: look at the contact sheets. **identity**: cosine
similarity of dlib face descriptors of output frames to the portrait's. **late/early**: identity and
sharpness at {marks[1]} over {marks[0]} (1 = no drift). **faces found**: output frames where mediapipe finds a
face. **fps**: frames per second of animator time only (motion in, frames out); mediapipe tracking of the
driving video, shared by every system, costs another {ctx['track_ms']:.1f} ms per frame and is not counted.
Cross-reenactment columns are over the first {plan.eval_frames} frames (one pass of the clip).

Systems:
{systems}

{sections_markdown}## Inputs

- Cross-reenactment: portrait `{ctx['portrait']}` (identity "biden", held out of training: the test split of
  `prepare --builtin`), driving `{ctx['driving']}` looped at {ctx['fps_driving']:.2f} fps.
- Self-reenactment (ground truth exists): portrait = the driving clip's first frame, driving = the clip
  (PSNR / SSIM columns of the table above: full frame). Carphone is held out of training.
- Weights `{ctx['weights']}`. Every system gets the same motion sequence: the clip is tracked once and
  retargeted once onto each portrait, then fed to each animator.

## Long-horizon drift

{_drift_table(scores, *marks)}

![drift](drift.png)

![drift contact sheet](contact_drift.png)

## Identity scale

dlib's ResNet descriptor (`dlib-bin` + `face-recognition-models`, offline). For reference on these inputs:
the same person in two frames of the driving clip scores {cal['same_person']:.3f}; two different people
(the portrait and the clip's first frame) score {cal['different_people']:.3f}. dlib descriptors are not
centred, so cosines of different people stay high; read the column against these two numbers.

## Figures

![metrics](metrics.png)

![frame differences](frame_differences.png)

Cross-reenactment (driving | systems, face crops):

![contact sheet, cross-reenactment](contact_cross.png)

Self-reenactment (ground truth | systems):

![contact sheet, self-reenactment](contact_self.png)
"""
