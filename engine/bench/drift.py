"""What a long Knot Forcing stream does to its own output, measured from the outside (`main.py bench --drift`).

Per emitted frame: the model's correction, RMS of (generated latent - warp-prior latent) over the latent, and
the sharpness of the composed frame (`engine.eval.metrics.sharpness`, as the evaluation measures it).
Minute 1 (frames 1,740-1,799 at 30 fps) against minute 10 (17,940-17,999): a stream that drifts changes
either as it goes on, one that does not keeps both flat. Works where there is no mediapipe or identity model
(the GPU machine); `main.py eval` (full run) has the identity drift on a CPU.
"""

from __future__ import annotations

import numpy as np

FPS = 30
WINDOW = 60  # frames per minute-window


class DriftMeter:
    """Wraps a KnotAnimator's compose; fills per-frame arrays preallocated for `frames` driving frames."""

    def __init__(self, animator, frames: int) -> None:
        from engine.eval.metrics import sharpness  # here: the bench module is imported for its options, cheaply

        self.correction = np.full(frames, np.nan)  # (frames,) RMS of generated - warp-prior latent
        self.sharpness = np.full(frames, np.nan)  # (frames,) variance of the grey Laplacian of the frame
        compose = animator.compose

        def measured(stream_frames: list) -> list:
            out = compose(stream_frames)
            for f, avatar in zip(stream_frames, out, strict=True):
                if f.index < frames:
                    diff = (f.latent.float() - f.payload.warp_latent.float()).pow(2).mean().sqrt()
                    self.correction[f.index] = float(diff)
                    self.sharpness[f.index] = sharpness(avatar.image)
            return out

        animator.compose = measured

    def summary(self) -> dict:
        """Mean correction and sharpness at minute 1 and at the last full minute-window reached."""
        def window(values: np.ndarray, end: int) -> float | None:
            part = values[max(0, end - WINDOW):end]
            part = part[np.isfinite(part)]
            return round(float(part.mean()), 5) if part.size else None

        reached = int(np.isfinite(self.correction).sum())
        early_end = min(60 * FPS, reached)
        late_end = min(600 * FPS, reached)
        out = {"early_frames": [max(0, early_end - WINDOW), early_end - 1],
               "late_frames": [max(0, late_end - WINDOW), late_end - 1]}
        for name, values in (("correction_rms", self.correction), ("sharpness", self.sharpness)):
            early, late = window(values, early_end), window(values, late_end)
            out[name] = {"early": early, "late": late,
                         "late_over_early": round(late / early, 4) if early and late is not None else None}
        return out
