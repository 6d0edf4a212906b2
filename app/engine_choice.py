"""Build the animator the user chose, falling back to the warp animator with a reason. No Qt here."""

from __future__ import annotations

import logging
from dataclasses import dataclass

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


@dataclass(frozen=True)
class BuiltAnimator:
    """An animator ready to use, its label for the window, and why it is not the one asked for (or '')."""

    animator: Animator
    label: str
    fallback_reason: str = ""

    @property
    def notice(self) -> str:
        """The sentence the window shows, empty when the choice was honoured."""
        return texts.ANIMATOR_FALLBACK.format(reason=self.fallback_reason) if self.fallback_reason else ""


def build_animator(choice: AnimatorChoice) -> BuiltAnimator:
    """Construct `choice`; any failure to get Knot Forcing (weights, module, device) gives the warp animator."""
    reason = ""
    if choice.kind == "knot":
        try:
            from engine.knot_animator import load_default_knot_animator

            animator = load_default_knot_animator(preset=choice.preset, device=choice.device)
            return BuiltAnimator(animator, f"{texts.ANIMATOR_KNOT} ({choice.preset}, {choice.device})")
        except KnotCamError as err:
            reason = str(err).rstrip(".")
        except ImportError as err:
            reason = f"its module could not be imported: {err}"
        except (RuntimeError, OSError, ValueError) as err:  # e.g. CUDA asked for on a machine without it
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
