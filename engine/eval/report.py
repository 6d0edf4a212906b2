"""`python main.py eval [--quick] [--out runs/eval]`: every system on the same inputs, one report.

Writes report.md (first table: one row per system, one column per metric, plus fps), results.json, metric
plots and contact sheets into --out; with the warp system, also the warp prior before / after issue 15
(eval/warp_section.py); with the knot system, where the shipped model looks as the portrait's time distance
grows (eval/reference_attention.py). The full run streams 18,000 frames (10 minutes of the looped driving
clip) through each system for the drift columns; --quick streams 300 and finishes in minutes on a CPU.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import pickle
import shutil
import time
from pathlib import Path

from engine.assets import DEMO_CLIP, EVAL_RESULTS_DIR, PORTRAITS_DIR, TRAINING_DIR, default_weights_path, shown
from engine.cli.stream_options import add_stream_arguments

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the eval subcommand."""
    parser.add_argument("--quick", action="store_true",
                        help="short version for CI: drift at frame 300 vs 60 instead of 18,000 vs 1,800")
    parser.add_argument("--out", type=Path, default=EVAL_RESULTS_DIR, help="report folder (default: %(default)s)")
    parser.add_argument("--portrait", type=Path, default=PORTRAITS_DIR / "biden.jpg",
                        help="held-out portrait for cross-reenactment (default: %(default)s)")
    parser.add_argument("--driving", type=Path, default=DEMO_CLIP,
                        help="driving clip, looped; its first frame is the self-reenactment portrait")
    parser.add_argument("--held-out", default=None,
                        help="self-reenactment clips NAME=VIDEO:START:FRAMES, comma-separated (default: carphone "
                             "and franck's held-out tail, 120 and 600 frames; 120 each with --quick)")
    parser.add_argument("--weights", type=Path, default=default_weights_path("tiny"),
                        help="Knot Forcing weights (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="torch device of the Knot Forcing systems")
    parser.add_argument("--resume", action="store_true",
                        help="reuse the systems an interrupted run of the same plan finished (in OUT/.partial)")
    add_stream_arguments(parser)
    parser.add_argument("--systems", default=None,
                        help="comma-separated subset of the systems, e.g. 'warp,knot' (default: all); a subset "
                             "run keeps its results in OUT/.partial for a later --resume run over all systems; the "
                             "warp before / after section comes with the warp system")


def machine_description(device: str) -> str:
    """The benchmarks' machine description (engine.bench.machine) as one line of the report."""
    from engine.bench.machine import describe_machine

    m = describe_machine(device)
    text = (f"{m['cpu']}, {m['cpu_count']} cores, torch {m['torch']} with {m['torch_threads']} thread(s), "
            f"Python {m['python']}, {m['platform']}")
    if "gpu" in m:
        text += f"; Knot Forcing on {m['gpu']}"
    return text


def held_out_clips(text: str | None, quick: bool) -> list:
    """The --held-out clips (see its help)."""
    from engine.errors import KnotCamError
    from engine.eval.held_out import HeldOutClip

    if text is None:
        return [HeldOutClip("carphone", DEMO_CLIP, 0, 120),
                HeldOutClip("franck tail", TRAINING_DIR / "franck.mp4", 4200, 120 if quick else 600)]
    clips = []
    for item in text.split(","):
        try:
            name, rest = item.split("=")
            path, start, frames = rest.rsplit(":", 2)
            clips.append(HeldOutClip(name.strip(), Path(path), int(start), int(frames)))
        except ValueError:
            raise KnotCamError(f"--held-out item {item!r} is not NAME=VIDEO:START:FRAMES") from None
    return clips


def run(args: argparse.Namespace) -> int:
    """Run every system, score it, write the report; prints the first table."""
    from engine.config import get_preset
    from engine.errors import KnotCamError
    from engine.eval.identity import FaceDescriptor
    from engine.eval.metrics import sharpness
    from engine.eval.scoring import QUICK, EvalPlan, face_region
    from engine.eval.systems import retarget_clip, standard_systems, track_clip
    from engine.face.portrait import load_portrait
    from engine.face.tracker import FaceTracker

    plan = QUICK if args.quick else EvalPlan()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    from engine.cli.stream_options import stream_config

    base = stream_config(args, get_preset("tiny").stream)
    systems = standard_systems(base)
    if args.systems:
        wanted = [s.strip() for s in args.systems.split(",")]
        unknown = set(wanted) - {s.name for s in systems}
        if unknown:
            raise KnotCamError(f"Unknown system(s) {', '.join(sorted(unknown))}; choose from "
                               f"{', '.join(s.name for s in systems)}.")
        systems = [s for s in systems if s.name in wanted]

    with FaceTracker() as tracker:
        portrait = load_portrait(args.portrait, tracker)
        clip = track_clip(args.driving, tracker)
        self_portrait = load_portrait(clip.frames[0], tracker, name=f"{args.driving.stem} frame 0")
    held = {}  # name -> (clip, portrait, motions)
    for spec in held_out_clips(args.held_out, args.quick):
        with FaceTracker() as tracker:
            h_clip = track_clip(spec.path, tracker, spec.start, spec.frames)
            h_portrait = load_portrait(h_clip.frames[0], tracker, name=f"{spec.name} frame 0")
        held[spec.name] = (h_clip, h_portrait, retarget_clip(h_portrait, h_clip, len(h_clip.frames)))
    cross_motions = retarget_clip(portrait, clip, plan.total_frames)
    self_motions = retarget_clip(self_portrait, clip, plan.self_frames)
    descriptor = FaceDescriptor()
    reference = descriptor.describe(portrait.image, portrait.landmarks)
    calibration = _identity_calibration(descriptor, portrait, self_portrait, clip)

    scores, self_tiles, held_scores, reused = {}, {}, {}, []
    partial = args.out / ".partial"  # finished systems, so that --resume can pick up an interrupted full run
    for system in systems:
        cached = partial / f"{system.name.replace(' ', '_')}.pkl"
        if args.resume and cached.is_file():
            cached_plan, scores[system.name], self_tiles[system.name], held_scores[system.name] = pickle.loads(
                cached.read_bytes())
            if cached_plan == plan:
                log.info("%s: results of an earlier run reused", system.name)
                reused.append(system.name)
                continue
        t0 = time.perf_counter()
        scores[system.name], self_tiles[system.name] = _evaluate(
            system, args, plan, portrait, self_portrait, clip, cross_motions, self_motions, descriptor, reference,
            base.chunk_frames)
        held_scores[system.name] = _evaluate_held_out(system, args, held, base.chunk_frames)
        scores[system.name].values["run_seconds"] = time.perf_counter() - t0
        scores[system.name].values["load_average_1min"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
        partial.mkdir(exist_ok=True)
        cached.write_bytes(pickle.dumps((plan, scores[system.name], self_tiles[system.name],
                                         held_scores[system.name])))
        log.info("%s scored in %.0f s: %s", system.name, time.perf_counter() - t0,
                 ", ".join(f"{k} {v:.3g}" for k, v in scores[system.name].values.items()))

    seconds = time.perf_counter() - started
    context = {
        "command": "python main.py eval" + (" --quick" if args.quick else ""),
        "machine": machine_description(args.device),
        "load_average": [load_before, os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan],
        "seconds": seconds, "system_seconds": sum(s.values.get("run_seconds", 0.0) for s in scores.values()),
        "plan": plan.__dict__, "portrait": shown(args.portrait), "driving": shown(args.driving),
        "weights": shown(args.weights), "chunk_frames": base.chunk_frames, "fps_driving": clip.fps,
        "track_ms": clip.track_ms, "portrait_sharpness": sharpness(face_region(portrait.image, portrait.landmarks)),
        "identity_calibration": calibration, "date": time.strftime("%Y-%m-%d %H:%M"),
        "systems": {s.name: s.description for s in systems}, "reused": reused,
        "system_load": [s.values.get("load_average_1min", math.nan) for s in scores.values()],
    }
    from engine.eval.report_writer import write_outputs

    held_table = _held_out_outputs(args.out, held, held_scores, base.chunk_frames, context)
    sections = []
    if held and any(s.name == "warp" for s in systems):  # the warp section comes with the warp system (two warps)
        from engine.eval.warp_section import warp_section

        t0 = time.perf_counter()
        sections.append(warp_section(args.out, held))
        log.info("warp before/after section in %.0f s", time.perf_counter() - t0)
    if held and any(s.name == "knot" for s in systems):  # where the shipped model looks, with the knot system
        from engine.eval.reference_attention import attention_section

        t0 = time.perf_counter()
        sections.append(attention_section(held, args.weights, args.device, base, plan.attention_frames))
        log.info("attention probe in %.0f s", time.perf_counter() - t0)
    table = write_outputs(args.out, scores, self_tiles, clip, portrait, plan, context, held_table, sections)
    if args.systems is None:  # a subset run keeps its results, so a later --resume can assemble the full report
        shutil.rmtree(partial, ignore_errors=True)
    print(held_table)
    print(table)
    print(f"eval: {len(systems)} systems in {seconds:.0f} s; report at {args.out / 'report.md'}")
    return 0


def _evaluate(system, args, plan, portrait, self_portrait, clip, cross_motions, self_motions, descriptor, reference,
              chunk_frames: int):
    """One system: the long cross-reenactment run and the self-reenactment run, scored.

    Returns its Scores and the self-reenactment frames for the contact sheet.
    """
    from engine.eval.scoring import score_cross, score_self
    from engine.eval.systems import build_animator, run_animator

    run_cross = run_animator(build_animator(system, args.weights, args.device), portrait, cross_motions, plan.keeps,
                             lambda i: log.info("%s: frame %d", system.name, i) if i else None)
    scores = score_cross(run_cross, cross_motions, clip, portrait, plan, descriptor, reference, chunk_frames)
    del run_cross
    run_self = run_animator(build_animator(system, args.weights, args.device), self_portrait, self_motions,
                            lambda i: i < plan.self_frames)
    scores.values.update(score_self(run_self, clip.frames, plan))
    return scores, [run_self.frames[i] for i in plan.contact_indices(plan.self_frames)]


def _evaluate_held_out(system, args, held: dict, chunk_frames: int) -> dict:
    """One system's self-reenactment scores on every held-out clip."""
    from engine.eval.held_out import score_clip
    from engine.eval.systems import build_animator, run_animator

    out = {}
    for name, (clip, portrait, motions) in held.items():
        run = run_animator(build_animator(system, args.weights, args.device), portrait, motions, lambda i: True)
        out[name] = score_clip(run.frames, clip, chunk_frames)
        log.info("%s on %s: %s", system.name, name, ", ".join(f"{k} {v:.3f}" for k, v in out[name].values.items()))
    return out


def _held_out_outputs(out: Path, held: dict, held_scores: dict, chunk_frames: int, context: dict) -> str:
    """Compare with the warp, write the contact sheet, record the numbers in `context`; returns the table."""
    from engine.config import FACE_CROP_SCALE
    from engine.eval.held_out import compare_with_warp, contact_sheet, table
    from engine.eval.scoring import TILE
    from engine.face.crop import CropBox

    per_clip = {name: {s: held_scores[s][name] for s in held_scores} for name in held}
    for systems in per_clip.values():
        compare_with_warp(systems)
    shown = [n for n in ("warp", "knot", "generated window") if n in held_scores]

    def tile(image, landmarks):
        return CropBox.from_landmarks(landmarks, FACE_CROP_SCALE).crop(image, TILE)

    contact_sheet(per_clip, {n: c for n, (c, _, _) in held.items()}, shown, out / "contact_held_out.png", tile,
                  chunk_frames)
    context["held_out"] = {clip: {s: v.values for s, v in systems.items()} for clip, systems in per_clip.items()}
    context["held_out_clips"] = {n: f"{len(c.frames)} frames" for n, (c, _, _) in held.items()}
    return table(per_clip)


def _identity_calibration(descriptor, portrait, self_portrait, clip) -> dict[str, float]:
    """Reference points for the identity column: same person vs. another person on our own inputs."""
    from engine.eval.metrics import cosine_similarity

    other = len(clip.frames) // 2
    later = clip.landmarks_at(other)
    same = (cosine_similarity(descriptor.describe(clip.frames[other], later),
                              descriptor.describe(self_portrait.image, self_portrait.landmarks))
            if later is not None else math.nan)
    different = cosine_similarity(descriptor.describe(portrait.image, portrait.landmarks),
                                  descriptor.describe(self_portrait.image, self_portrait.landmarks))
    return {"same_person": same, "different_people": different}

