"""KnotAnimator: the Knot Forcing implementation of the Animator interface.

Per driving frame: landmarks -> the portrait warped to them at full resolution (kept for composing) ->
its aligned face crop = the warp prior, encoded by the codec; + motion map in crop coordinates ->
KnotStreamer. Per emitted chunk: decode the latents and compose each into its full-resolution warp: the
DiT's correction (generated minus decoded warp prior, "residual" blend) is added inside a soft face mask,
so a small preset still gives a sharp picture. "replace" blend pastes the generated face instead.

One piecewise-affine warp per frame serves both uses: cropping the full-resolution warp gives the crop's
own warp to within resampling (34-39 dB PSNR at 5-12 degree turns, far under the codec's error).
On a GPU the warp, crop and paste run there too (engine/knot/device_frames.py): no float image crosses to the
host, one uint8 frame per emitted frame comes back. On the CPU the OpenCV warp is the faster one.
"""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.animator import Animator, AvatarFrame, Motion, Portrait
from engine.assets import default_weights_path
from engine.config import ModelConfig, StreamConfig, get_preset
from engine.device_copy import Download, start_download, to_device
from engine.face.crop import CropBox
from engine.knot.codec import FrameCodec, to_tensor
from engine.knot.composition import PasteRegion
from engine.knot.cuda_graph import GraphedStep
from engine.knot.device_frames import DeviceFrames
from engine.knot.frame_prep import CropFrame, FramePrep
from engine.knot.model.dit import CausalDiT
from engine.knot.streaming import KnotStreamer
from engine.knot.weights import load_weights
from engine.warp import WarpMesh, build_mesh
from engine.warp.mesh import WarpPlan, apply_plan, plan_warp
from engine.warp.mouth import MouthStyle
from engine.warp.planner import WarpPlanner

log = logging.getLogger(__name__)

@dataclass
class _FramePayload:
    """What the animator needs of a driving frame to compose its answer; rides through the streamer."""

    motion: Motion
    warp_latent: torch.Tensor  # (C, h, w)
    full_warp: np.ndarray | torch.Tensor  # (H, W, 3) uint8 (a tensor on the device path): composed into in place
    mask: np.ndarray  # (R, R) float32: where the model's face is composed into full_warp


class KnotAnimator(Animator):
    """Portrait + motion in, Knot Forcing frames out (full portrait resolution)."""

    def __init__(self, codec: FrameCodec, dit: CausalDiT, stream: StreamConfig, device: str = "cpu",
                 blend: str = "residual", dtype: torch.dtype | None = None,
                 frames_on_device: bool | None = None, plan_ahead: int = 0) -> None:
        """dtype of the DiT and its cache: default bfloat16 on CUDA (as trained, under autocast; attention
        then runs on flash kernels, about 2x faster than float32 on an H200), float32 elsewhere.
        frames_on_device: warp, crop and paste as tensors on `device` (DeviceFrames); default on CUDA only.
        plan_ahead: frames whose warp plans are made ahead, in as many worker processes (engine.warp.planner);
        each one is a frame more of latency, so it is for runs that are not live (file renders, benchmarks);
        0: each frame's plan is made when it arrives, on the caller's thread."""
        if blend not in ("residual", "replace"):
            raise ValueError("blend must be 'residual' or 'replace'")
        if plan_ahead < 0:
            raise ValueError("plan_ahead must be 0 or more")
        self.cfg: ModelConfig = dit.cfg
        self.device = torch.device(device)
        dtype = dtype or (torch.bfloat16 if self.device.type == "cuda" else torch.float32)
        self.codec = codec.to(self.device).eval()
        self.streamer = KnotStreamer(dit.to(self.device, dtype), stream, self.device, dtype)
        self.blend = blend
        self.plan_ahead = plan_ahead
        self.frames_on_device = self.device.type == "cuda" if frames_on_device is None else frames_on_device
        self._frames: DeviceFrames | None = None
        self._portrait: Portrait | None = None
        self._planner: WarpPlanner | None = None
        self._planned: deque[tuple[Motion, Future]] = deque()  # frames pushed whose plans are being made
        self._prep: FramePrep | None = None  # the portrait's crop-side frame work (motion map, paste mask)
        self._downloading: tuple[Download, list] | None = None  # the last chunk's frames, on their way to the host

    @property
    def defers_download(self) -> bool:
        """Whether a chunk's frames are handed out one chunk later, their download overlapping the next chunk's
        work instead of waiting for the device (the device path, when planning ahead: a run for throughput)."""
        return self.plan_ahead > 0 and self.frames_on_device

    @property
    def lookahead_frames(self) -> int:
        """Frames an output lags behind its driving frame: the knot, the plans made ahead, a deferred chunk."""
        cfg = self.streamer.cfg
        return cfg.knot_frames + self.plan_ahead + (cfg.chunk_frames if self.defers_download else 0)

    # --- portrait ------------------------------------------------------------------------------------------
    @torch.no_grad()
    def set_portrait(self, portrait: Portrait) -> None:
        """Align the face crop, encode it and fill the reference cache; resets the stream."""
        r = self.cfg.resolution
        self.box = CropBox.from_landmarks(portrait.landmarks, self.cfg.crop_scale)  # as `prepare` crops the clips
        self.crop = self.box.crop(portrait.image, r)
        self._prep = FramePrep(self.box, r, self.cfg.motion_size)
        self.full_mesh: WarpMesh = build_mesh(portrait.landmarks[:, :2], portrait.image.shape[:2])
        latent = self.codec.encode(to_tensor(self.crop[None], self.device))[0]
        self.streamer.set_reference(latent, to_device(self.crop_frame(portrait.landmarks).motion_map, self.device))
        self._portrait = portrait
        self._style = MouthStyle.of(portrait.image, portrait.landmarks[:, :2])  # grey: a grey avatar (see below)
        self.close()  # the last portrait's planner, the plans it was making and a chunk on its way out
        if self.plan_ahead:  # the crop-side work of each frame is done in the planner's workers too
            self._planner = WarpPlanner(self.full_mesh, self._style, self.plan_ahead, also=self._prep)
        self._paste = PasteRegion(self.box, r, portrait.image.shape[:2])
        self._frames = (DeviceFrames(portrait.image, self.box, self._paste, r, self.device)
                        if self.frames_on_device else None)
        # crop + encode of a device warp, one CUDA graph per portrait (it reads this portrait's crop grid)
        frames = self._frames
        self._encode_warp = (GraphedStep(lambda full: self.codec.encode(frames.crop(full)),
                                         self.streamer.cfg.cuda_graph)
                             if frames is not None else None)

    def crop_frame(self, landmarks: np.ndarray) -> CropFrame:
        """(478, 2+) landmarks on the portrait -> their motion map (the DiT's condition) and paste mask, on the
        host (`FramePrep`; a planner's workers do the same when planning ahead)."""
        return self._prep(landmarks)

    # --- stream --------------------------------------------------------------------------------------------
    @torch.no_grad()
    def push(self, motion: Motion) -> list[AvatarFrame]:
        """One motion in; a chunk of frames out every K frames (after the first K + k, + plan_ahead)."""
        if self._portrait is None:
            raise RuntimeError("KnotAnimator.push called before set_portrait")
        if self._planner is None:
            return self._push_planned(motion, plan_warp(self.full_mesh, motion.landmarks, self._style),
                                      self.crop_frame(motion.landmarks))
        self._planned.append((motion, self._planner.submit(motion.landmarks)))
        if len(self._planned) <= self.plan_ahead:
            return []
        motion, planned = self._planned.popleft()
        return self._push_planned(motion, *planned.result())

    def _push_planned(self, motion: Motion, plan: WarpPlan | None, crop: CropFrame) -> list[AvatarFrame]:
        """One motion with its warp's plan and crop-side work into the stream: warp prior, its latent, the
        motion map."""
        r = self.cfg.resolution
        if self._frames is not None:
            full_warp = self._frames.warp(plan)
            warp_latent = self._encode_warp(full_warp)[0]
        else:
            full_warp = apply_plan(self._portrait.image, plan)
            warp_latent = self.codec.encode(to_tensor(self.box.crop(full_warp, r)[None], self.device))[0]
        payload = _FramePayload(motion, warp_latent, full_warp, crop.mask)
        return self.compose(self.streamer.push(to_device(crop.motion_map, self.device), warp_latent,
                                               motion.timestamp, payload))

    @torch.no_grad()
    def flush(self) -> list[AvatarFrame]:
        """Emit every frame still pending (end of a file render)."""
        out: list[AvatarFrame] = []
        while self._planned:
            motion, planned = self._planned.popleft()
            out += self._push_planned(motion, *planned.result())
        out += self.compose(self.streamer.flush())
        return out + self._downloaded(None)

    def close(self) -> None:
        """Stop the warp planner's worker processes (plan_ahead), dropping the plans being made and a chunk
        not yet handed out."""
        if self._planner is not None:
            self._planner.close()
        self._planner = None
        self._planned.clear()
        self._downloading = None

    def _downloaded(self, started: tuple[Download, list] | None) -> list[AvatarFrame]:
        """Hand out the chunk on its way to the host (if any), then keep `started` in its place."""
        ready, self._downloading = self._downloading, started
        if ready is None:
            return []
        download, frames = ready
        return [AvatarFrame(image, f.timestamp, f.index) for image, f in zip(download.result(), frames, strict=True)]

    def compose(self, frames: list) -> list[AvatarFrame]:
        """Decode emitted latents (StreamFrames carrying their driving frame's payload) and compose each into
        the full-resolution warp of its motion."""
        if not frames:
            return []
        queued: list[_FramePayload] = [f.payload for f in frames]
        latents = torch.stack([f.latent for f in frames]).float()  # (n, C, h, w)
        if self.blend == "residual":  # generated minus decoded warp prior: the codec's own error cancels
            warp_latents = torch.stack([q.warp_latent for q in queued]).float()
            decoded = self.codec.decode(torch.cat((latents, warp_latents)))
            faces = (decoded[: len(frames)] - decoded[len(frames):]).clamp(-2, 2) * 127.5  # (n, 3, R, R)
            paste = self._paste.add
        else:
            faces = self.codec.decode(latents).clamp(-1, 1).add(1).mul(127.5)
            paste = self._paste.replace
        if self._style.grey:  # the model's colour (red lips on a grey face) dropped: luminance only, equal channels
            luma = torch.tensor([0.299, 0.587, 0.114], dtype=faces.dtype, device=faces.device).view(1, 3, 1, 1)
            faces = (faces * luma).sum(dim=1, keepdim=True).expand(-1, 3, -1, -1)
        masks = [q.mask for q in queued]
        if self._frames is not None:  # pasted on the device; one uint8 download for the chunk
            paste = self._frames.add if self.blend == "residual" else self._frames.replace
            on_device = to_device(np.stack(masks), self.device)  # (n, R, R)
            images = torch.stack([paste(q.full_warp, face, mask)
                                  for face, mask, q in zip(faces, on_device, queued, strict=True)])
            if self.defers_download:  # this chunk goes out with the next one, its copy queued meanwhile
                return self._downloaded((start_download(images), frames))
            images = images.cpu().numpy()
        else:
            faces_hwc = faces.permute(0, 2, 3, 1).cpu().numpy()  # (n, R, R, 3)
            images = [paste(q.full_warp, face, mask) for face, mask, q in zip(faces_hwc, masks, queued, strict=True)]
        return [AvatarFrame(image, f.timestamp, f.index) for image, f in zip(images, frames, strict=True)]


def load_knot_animator(weights: str | Path, stream: StreamConfig | None = None, device: str = "cpu",
                       blend: str = "residual", expected: ModelConfig | None = None,
                       plan_ahead: int = 0) -> KnotAnimator:
    """A KnotAnimator from a weights file; WeightsMismatchError when it does not fit `expected`."""
    cfg, codec, dit, _meta = load_weights(weights, expected, device=device)
    preset_stream = get_preset(cfg.name).stream if cfg.name in ("tiny", "base", "large") else StreamConfig()
    return KnotAnimator(codec, dit, stream or preset_stream, device, blend, plan_ahead=plan_ahead)


def load_default_knot_animator(preset: str = "tiny", device: str = "cpu") -> KnotAnimator:
    """The shipped weights of a preset; WeightsMismatchError (one sentence) when missing or mismatched."""
    p = get_preset(preset)
    return load_knot_animator(default_weights_path(preset), p.stream, device, expected=p.model)
