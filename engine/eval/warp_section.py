"""The report's warp section: the warp prior before issue 15 and today's, on the held-out clips.

"before" is the frozen piecewise-affine warp (eval/affine_warp.py), "after" today's `engine.warp.WarpAnimator`;
both are driven by the same code (systems.run_animator) with the same motion: the clip's first frame is the
portrait and the clip's own tracked motion drives it, as in the held-out table. The moments shown are chosen
by the driving face's pose, not by hand: lean back / lean in = smallest / largest head scale, turn left /
right = smallest / largest yaw (as seen in the picture: yaw > 0 turns the nose to the image's right), open
mouth = widest inner-lip gap, blink = least open eyes (frame 0, the portrait itself, is never chosen).
Numbers per warp: the tear score (metrics.tear_score) over all frames, over the most turned ones and at the
two turns, and the landmark errors and jitter the main table computes (scoring.following_scores), over the
first `FRAMES` frames of each clip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.animator import Animator, Motion, Portrait
from engine.config import FACE_CROP_SCALE
from engine.eval import metrics, plots
from engine.eval.markdown import ReportSection, cell
from engine.eval.scoring import TILE, following_scores
from engine.eval.systems import DrivingClip, run_animator
from engine.face.crop import CropBox
from engine.face.head_pose import eye_openness, head_pose, mouth_openness

FRAMES = 120  # frames of each clip scored: the --quick clips' length, so quick and full runs show the same
MOMENTS = ("lean back", "lean in", "turn left", "turn right", "open mouth", "blink")
TURNS = ("turn left", "turn right")
TURNED_SHARE = 0.2  # share of the frames, turned furthest from the portrait, whose tear is averaged


def warp_animators() -> dict[str, Animator]:
    """Fresh animators of the two warps, "before" (pre-issue-15) and "after" (today's)."""
    from engine.eval.affine_warp import AffineWarpAnimator
    from engine.warp import WarpAnimator

    return {"before": AffineWarpAnimator(), "after": WarpAnimator()}


@dataclass(frozen=True)
class FaceMeasures:
    """Per-frame measures of a tracked clip, each (T,) and NaN where no face was found."""

    yaw: np.ndarray  # degrees
    pitch: np.ndarray  # degrees
    scale: np.ndarray  # head size in pixels (engine.face.head_pose.HeadPose.scale)
    mouth: np.ndarray  # inner-lip gap over mouth width
    eyes: np.ndarray  # mean eye aspect ratio of both eyes


def face_measures(landmarks: np.ndarray) -> FaceMeasures:
    """(T, 478, 3) tracked landmarks -> their head pose and mouth / eye openness (engine/face/head_pose.py)."""
    rows = np.full((len(landmarks), 5), np.nan)
    for t, lm in enumerate(landmarks):
        if not np.isfinite(lm).all():
            continue
        pose = head_pose(lm)
        head = pose.to_head(lm)
        rows[t] = (pose.yaw, pose.pitch, pose.scale, mouth_openness(head),
                   (eye_openness(head, 0) + eye_openness(head, 1)) / 2)
    return FaceMeasures(*rows.T)


def pick_moments(measures: FaceMeasures) -> dict[str, int]:
    """The frame of each of `MOMENTS` (see the module docstring); frame 0 is the portrait and never chosen."""

    def extreme(series: np.ndarray, choose) -> int:
        rest = series.copy()
        rest[0] = np.nan
        return int(choose(rest))

    return {"lean back": extreme(measures.scale, np.nanargmin), "lean in": extreme(measures.scale, np.nanargmax),
            "turn left": extreme(measures.yaw, np.nanargmin), "turn right": extreme(measures.yaw, np.nanargmax),
            "open mouth": extreme(measures.mouth, np.nanargmax), "blink": extreme(measures.eyes, np.nanargmin)}


def most_turned(measures: FaceMeasures, share: float = TURNED_SHARE) -> np.ndarray:
    """Indices into frames 1.. (0 = frame 1) of the `share` of frames turned furthest from the portrait (frame
    0): largest |yaw - yaw of frame 0|; untracked frames never count."""
    turn = np.abs(measures.yaw[1:] - measures.yaw[0])
    turn = np.where(np.isfinite(turn), turn, -np.inf)
    count = max(1, int(round(share * len(turn))))
    return np.sort(np.argsort(-turn, kind="stable")[:count])


@dataclass
class WarpComparison:
    """Both warps on one clip: the moments, each warp's numbers, the contact sheet's columns."""

    moments: dict[str, int]
    values: dict[str, dict[str, float]]  # "before" / "after" -> numbers
    columns: list[tuple[str, list[np.ndarray]]] = field(default_factory=list)  # real | before | after tiles


def compare_clip(clip: DrivingClip, portrait: Portrait, motions: list[Motion], frames: int = FRAMES
                 ) -> WarpComparison:
    """Both warps over the clip's first `frames` frames: moments, numbers and tiles (the portrait's face box,
    so that leaning in and back show as a change of size)."""
    n = min(frames, len(clip.frames), len(motions))
    measures = face_measures(clip.landmarks[:n])
    moments = pick_moments(measures)
    turned = most_turned(measures)
    targets = np.stack([m.landmarks for m in motions[:n]])  # (T, 478, 2)
    driving = clip.landmarks[:n, :, :2]
    box = CropBox.from_landmarks(portrait.landmarks, FACE_CROP_SCALE)
    columns = [("real", [box.crop(clip.frames[i], TILE) for i in moments.values()])]
    values = {}
    for name, animator in warp_animators().items():
        run = run_animator(animator, portrait, motions[:n], lambda i: True)
        out = [run.frames[i] for i in range(n)]
        values[name], _ = following_scores(out, targets, driving)
        tears = np.array([metrics.tear_score(out[i], targets[i], portrait.image, portrait.landmarks)
                          for i in range(1, n)])  # (n - 1,) frame 0 is the portrait itself
        for turn in TURNS:
            values[name][f"tear_{turn.replace(' ', '_')}"] = float(tears[moments[turn] - 1])
        values[name]["tear_all"] = float(np.nanmean(tears))
        values[name]["tear_turned"] = float(np.nanmean(tears[turned]))
        columns.append((name, [box.crop(out[i], TILE) for i in moments.values()]))
    return WarpComparison(moments, values, columns)


def write_sheet(comparison: WarpComparison, clip_name: str, path: Path) -> None:
    """Contact sheet: one row per moment, columns real | before | after."""
    labels = [f"{moment} ({i})" for moment, i in comparison.moments.items()]
    plots.contact_sheet(comparison.columns, labels, path,
                        f"{clip_name}: warp before / after issue 15 (portrait = frame 0)")


COLUMNS: list[tuple[str, str, str]] = [
    ("tear_all", "tear, all frames ↓", "{:.3f}"),
    ("tear_turned", "tear, most turned 20 % ↓", "{:.3f}"),
    ("tear_turn_left", "tear, turn left ↓", "{:.3f}"),
    ("tear_turn_right", "tear, turn right ↓", "{:.3f}"),
    ("mouth", "mouth err ↓", "{:.3f}"),
    ("eyes", "eyes err ↓", "{:.3f}"),
    ("pose", "pose err ↓", "{:.3f}"),
    ("jitter", "jitter (1 = driving)", "{:.2f}"),
]


def table(comparison: WarpComparison) -> str:
    """Markdown: one row per warp, one column per number."""

    head = "| warp | " + " | ".join(h for _, h, _ in COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(COLUMNS)
    rows = [f"| {name} | " + " | ".join(cell(v.get(k, math.nan), f) for k, _, f in COLUMNS) + " |"
            for name, v in comparison.values.items()]
    return "\n".join([head, rule, *rows])


def warp_section(out: Path, held: dict[str, tuple[DrivingClip, Portrait, list[Motion]]]) -> ReportSection:
    """Compare both warps on every held-out clip (name -> clip, portrait, motions), write warp_<clip>.png."""
    parts, results = [], {"frames": FRAMES, "clips": {}}
    for name, (clip, portrait, motions) in held.items():
        comparison = compare_clip(clip, portrait, motions)
        png = f"warp_{name.replace(' ', '_')}.png"
        write_sheet(comparison, name, out / png)
        results["clips"][name] = {"moments": comparison.moments, **comparison.values}
        moments = ", ".join(f"{m} {i}" for m, i in comparison.moments.items())
        parts.append(f"### {name}\n\n{table(comparison)}\n\nFrames: {moments}.\n\n![warp {name}]({png})")
    body = "\n\n".join(parts)
    markdown = f"""## Warp prior: before / after

**before**: the piecewise-affine warp the project had before issue 15 (`engine/eval/affine_warp.py`, kept
only for this comparison); **after**: today's warp (`engine/warp/`), the warp baseline and the prior of every
Knot Forcing frame. Self-reenactment on the held-out clips' first {FRAMES} frames (portrait = frame 0). The
moments are chosen by the driving face: lean back / in = smallest / largest head scale, turn left / right =
smallest / largest yaw (as seen in the picture), open mouth = widest inner lips, blink = least open eyes.
**tear**: share of the face outline's pixels whose gradient energy exceeds 3x the portrait's own outline
(saw-tooth edges; lower is better): the mean over all frames, over the 20 % turned furthest from the
portrait, and at the two turn frames (one frame each, so the noisiest). **mouth / eyes / pose err, jitter**: as in the
main table, mediapipe on the warped frames against the motion asked for and the driving face's steadiness.

{body}

"""
    return ReportSection("warp", markdown, results)
