"""The animator the user chose, built by engine/animator_factory.py, with the sentences the window shows. No Qt."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from app import texts
from engine.animator import Animator
from engine.animator_factory import AnimatorSpec, smaller_spec
from engine.animator_factory import build_animator as engine_build_animator
from engine.threads import apply_thread_policy


@dataclass(frozen=True)
class AnimatorChoice:
    """Which animator to run: kind 'knot' (Knot Forcing) or 'warp'; preset and device for Knot Forcing."""

    kind: str = "knot"
    preset: str = "tiny"
    device: str = "cpu"
    weights: str = ""  # a weights file to use instead of the preset's shipped one ('' = shipped)

    def describe(self) -> str:
        """Short label: 'Knot Forcing (tiny, cpu)' or 'Warp (baseline)'."""
        return f"{texts.ANIMATOR_KNOT} ({self.preset}, {self.device})" if self.kind == "knot" else texts.ANIMATOR_WARP


@dataclass(frozen=True)
class BuiltAnimator:
    """An animator ready to use, its label for the window, and why it is not the one asked for (or '')."""

    animator: Animator
    label: str
    fallback_reason: str = ""
    oom_notice: str = ""  # set when a smaller choice was built because the asked one ran out of memory

    @property
    def notice(self) -> str:
        """The sentence the window shows, empty when the choice was honoured."""
        if self.oom_notice:
            return self.oom_notice
        return texts.ANIMATOR_FALLBACK.format(reason=self.fallback_reason) if self.fallback_reason else ""


def _spec(choice: AnimatorChoice) -> AnimatorSpec:
    return AnimatorSpec(choice.kind, choice.preset, choice.device, Path(choice.weights) if choice.weights else None)


def _choice(spec: AnimatorSpec) -> AnimatorChoice:
    if spec.kind != "knot":
        return AnimatorChoice("warp")
    return AnimatorChoice("knot", spec.preset or "tiny", spec.device, str(spec.weights) if spec.weights else "")


def smaller_choice(choice: AnimatorChoice) -> AnimatorChoice:
    """What to run when `choice` ran out of memory: a smaller preset on the GPU, then tiny on the CPU, then warp
    (engine.animator_factory.smaller_spec)."""
    return _choice(smaller_spec(_spec(choice))) if choice.kind == "knot" else choice


def out_of_memory_notice(failed: AnimatorChoice, built: BuiltAnimator) -> str:
    """The sentence the window shows after stepping down from `failed` to `built`."""
    device = "GPU" if failed.device.startswith("cuda") else "computer"
    return texts.OUT_OF_MEMORY.format(device=device, preset=failed.preset, fallback=built.label)


def build_animator(choice: AnimatorChoice) -> BuiltAnimator:
    """Construct `choice` by the engine's factory: any failure to get Knot Forcing (weights, module, device)
    gives the warp animator, except running out of memory, which steps down to a smaller preset or the CPU first."""
    if choice.kind == "knot":
        apply_thread_policy()  # process-wide, the CLI's policy; set here, where the app starts to use torch
    built = engine_build_animator(_spec(choice))
    label = _choice(built.used).describe()
    result = BuiltAnimator(built.animator, label, built.reason)
    if built.out_of_memory:
        # the notice names what the user asked for, however many steps down it went
        return replace(result, oom_notice=out_of_memory_notice(choice, result))
    return result


def cuda_available() -> bool:
    """True when torch can use an NVIDIA GPU here (offered as a device choice)."""
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 (a broken torch install only means: no CUDA choice)
        return False
