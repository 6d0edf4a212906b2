"""Build the animator the user chose, falling back to the warp animator with a reason. No Qt here."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, replace

from app import texts
from engine.animator import Animator
from engine.errors import KnotCamError

log = logging.getLogger(__name__)


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


_SMALLER_PRESET = {"large": "base", "base": "tiny"}


def smaller_choice(choice: AnimatorChoice) -> AnimatorChoice:
    """What to run when `choice` ran out of memory: a smaller preset on the GPU, then tiny on the CPU, then warp."""
    if choice.kind != "knot":
        return choice
    if choice.device.startswith("cuda"):
        if choice.preset in _SMALLER_PRESET:
            return replace(choice, preset=_SMALLER_PRESET[choice.preset], weights="")
        return replace(choice, device="cpu")
    return AnimatorChoice("warp")


def is_out_of_memory(err: BaseException) -> bool:
    """True for torch's out-of-memory errors (CUDA or CPU allocator) and Python's MemoryError."""
    if isinstance(err, MemoryError):
        return True
    torch = sys.modules.get("torch")  # never import torch just to classify an error
    if torch is not None and isinstance(err, torch.OutOfMemoryError):
        return True
    return isinstance(err, RuntimeError) and "can't allocate memory" in str(err)


def release_memory() -> None:
    """Give cached GPU memory back after an out-of-memory error (nothing to do without CUDA)."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def out_of_memory_notice(failed: AnimatorChoice, built: BuiltAnimator) -> str:
    """The sentence the window shows after stepping down from `failed` to `built`."""
    device = "GPU" if failed.device.startswith("cuda") else "computer"
    return texts.OUT_OF_MEMORY.format(device=device, preset=failed.preset, fallback=built.label)


def _load_knot(choice: AnimatorChoice) -> Animator:
    from engine.threads import apply_thread_policy

    apply_thread_policy()  # process-wide, the CLI's policy; set here, where the app starts to use torch
    if choice.weights:
        from engine.config import get_preset
        from engine.knot.knot_animator import load_knot_animator

        preset = get_preset(choice.preset)
        return load_knot_animator(choice.weights, preset.stream, choice.device, expected=preset.model)
    from engine.knot.knot_animator import load_default_knot_animator

    return load_default_knot_animator(preset=choice.preset, device=choice.device)


def build_animator(choice: AnimatorChoice) -> BuiltAnimator:
    """Construct `choice`; any failure to get Knot Forcing (weights, module, device) gives the warp animator,
    except running out of memory, which steps down to a smaller preset or the CPU first."""
    reason = ""
    if choice.kind == "knot":
        try:
            return BuiltAnimator(_load_knot(choice), choice.describe())
        except KnotCamError as err:
            reason = str(err).rstrip(".")
        except ImportError as err:
            reason = f"its module could not be imported: {err}"
        except (RuntimeError, OSError, ValueError, MemoryError) as err:  # e.g. CUDA asked for without it
            if is_out_of_memory(err):
                release_memory()
                smaller = smaller_choice(choice)
                log.warning("out of memory loading %s; trying %s", choice.describe(), smaller.describe())
                built = build_animator(smaller)
                # the outermost call names what the user asked for, however many steps down it went
                return BuiltAnimator(built.animator, built.label, built.fallback_reason,
                                     out_of_memory_notice(choice, built))
            reason = str(err).splitlines()[0].rstrip(".") if str(err) else type(err).__name__
        log.warning("Knot Forcing unavailable, using warp: %s", reason)
    from engine.warp import WarpAnimator

    return BuiltAnimator(WarpAnimator(), texts.ANIMATOR_WARP, reason)


def cuda_available() -> bool:
    """True when torch can use an NVIDIA GPU here (offered as a device choice)."""
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 (a broken torch install only means: no CUDA choice)
        return False
