"""`BlurredAnimator`: an animator's frames through a Gaussian blur, the evaluation's blur reference.

Face PSNR and SSIM against the real frame reward a softer picture wherever the motion is slightly off: on the
held-out clips the warp blurred with sigma 1 gains more face PSNR (and SSIM) than any trained model so far
(docs/eval/report.md). The "warp, blurred" row shows that size, so a system's gain can be read against it;
it is not a system anyone should ship.
"""

from __future__ import annotations

import cv2

from engine.animator import Animator, AvatarFrame, Motion, Portrait


class BlurredAnimator(Animator):
    """Wraps an animator; every frame it emits is blurred with a Gaussian of `sigma` pixels."""

    def __init__(self, inner: Animator, sigma: float) -> None:
        self.inner, self.sigma = inner, sigma
        self.lookahead_frames = inner.lookahead_frames

    def set_portrait(self, portrait: Portrait) -> None:
        self.inner.set_portrait(portrait)

    def _blurred(self, frames: list[AvatarFrame]) -> list[AvatarFrame]:
        return [AvatarFrame(cv2.GaussianBlur(f.image, (0, 0), self.sigma), f.timestamp, f.index) for f in frames]

    def push(self, motion: Motion) -> list[AvatarFrame]:
        return self._blurred(self.inner.push(motion))

    def flush(self) -> list[AvatarFrame]:
        return self._blurred(self.inner.flush())
