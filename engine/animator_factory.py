"""Building the animator asked for: Knot Forcing (preset, device, weights) or the warp, as data.

Every entry point (the app's engine choice, `render`, `bench`, `soak`, `eval`) builds its animator here, so
what counts as "Knot Forcing cannot be loaded" and how running out of memory steps down are decided once.
`load_animator` gives exactly the spec or raises EngineUnavailableError; `build_animator` never fails: it
steps down a preset (large -> base -> tiny), then to the CPU, on out-of-memory, and falls back to the warp
with the reason in the returned `BuiltAnimator`.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from engine.animator import Animator
from engine.config import StreamConfig
from engine.errors import EngineUnavailableError, KnotCamError

log = logging.getLogger(__name__)

SMALLER_PRESET = {"large": "base", "base": "tiny"}


@dataclass(frozen=True)
class AnimatorSpec:
    """Which animator: kind 'knot' (Knot Forcing) or 'warp'; for Knot Forcing the preset, torch device,
    weights file (None: the preset's shipped one), stream config (None: the preset's or the weights')."""

    kind: str = "knot"
    preset: str | None = "tiny"  # None with a weights file: the file's own config, unchecked against a preset
    device: str = "cpu"
    weights: Path | None = None
    stream: StreamConfig | None = None
    plan_ahead: int = 0  # Knot Forcing: frames of warp plans made ahead in worker processes (not for live use)

    def describe(self) -> str:
        """Short label for logs: 'knot tiny on cpu' or 'warp'."""
        return f"knot {self.preset or 'weights'} on {self.device}" if self.kind == "knot" else "warp"


@dataclass(frozen=True)
class BuiltAnimator:
    """The animator built, the spec it was built from, and why that is not the spec asked for."""

    animator: Animator
    used: AnimatorSpec
    reason: str = ""  # why Knot Forcing could not be loaded, so the warp was built ('' when it was not)
    out_of_memory: bool = False  # the spec asked for ran out of memory: `used` is a smaller one


def smaller_spec(spec: AnimatorSpec) -> AnimatorSpec:
    """What to run when `spec` ran out of memory: a smaller preset on the GPU, then the CPU, then the warp."""
    if spec.kind != "knot":
        return spec
    if spec.device.startswith("cuda"):
        if spec.preset in SMALLER_PRESET:
            return replace(spec, preset=SMALLER_PRESET[spec.preset], weights=None)
        return replace(spec, device="cpu")
    return AnimatorSpec("warp")


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


def _load_knot(spec: AnimatorSpec) -> Animator:
    from engine.assets import default_weights_path
    from engine.config import get_preset
    from engine.knot.knot_animator import load_knot_animator

    preset = get_preset(spec.preset) if spec.preset else None
    weights = spec.weights or default_weights_path(spec.preset or "tiny")
    return load_knot_animator(weights, spec.stream or (preset.stream if preset else None), spec.device,
                              expected=preset.model if preset else None, plan_ahead=spec.plan_ahead)


def _load_or_reason(spec: AnimatorSpec) -> tuple[Animator | None, str]:
    """(animator, '') or (None, why Knot Forcing cannot be loaded); out-of-memory errors propagate."""
    if spec.kind != "knot":
        from engine.warp import WarpAnimator

        return WarpAnimator(), ""
    try:
        return _load_knot(spec), ""
    except KnotCamError as err:
        return None, str(err).rstrip(".")
    except ImportError as err:
        return None, f"its module could not be imported: {err}"
    except (RuntimeError, OSError, ValueError, MemoryError) as err:  # e.g. CUDA asked for without it
        if is_out_of_memory(err):
            raise
        return None, str(err).splitlines()[0].rstrip(".") if str(err) else type(err).__name__


def load_animator(spec: AnimatorSpec) -> Animator:
    """Exactly `spec`; EngineUnavailableError (one sentence with the reason) when Knot Forcing cannot be
    loaded. Running out of memory propagates: a caller that wants a smaller model uses build_animator."""
    animator, reason = _load_or_reason(spec)
    if animator is None:
        raise EngineUnavailableError(f"The Knot Forcing animator cannot be loaded ({reason}).")
    return animator


def build_animator(spec: AnimatorSpec) -> BuiltAnimator:
    """`spec`, or what can run instead: smaller steps on out-of-memory, the warp (with the reason) when Knot
    Forcing cannot be loaded (weights, module, device)."""
    from engine.warp import WarpAnimator

    ran_out = False
    while True:
        try:
            animator, reason = _load_or_reason(spec)
        except (RuntimeError, MemoryError) as err:  # only out-of-memory errors leave _load_or_reason
            release_memory()
            smaller = smaller_spec(spec)
            log.warning("out of memory loading %s (%s); trying %s", spec.describe(), err, smaller.describe())
            spec, ran_out = smaller, True
            continue
        if animator is not None:
            return BuiltAnimator(animator, spec, "", ran_out)
        log.warning("Knot Forcing unavailable, using warp: %s", reason)
        return BuiltAnimator(WarpAnimator(), AnimatorSpec("warp"), reason, ran_out)
