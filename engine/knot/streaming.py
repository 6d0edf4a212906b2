"""KnotStreamer: Knot Forcing's chunk loop over latents, for as long as the stream lasts.

The three ideas, each a few named lines in `_generate_chunk` (steps 1-5: knot condition, running ahead,
sample, fuse the knot, commit and re-base):
  1. chunk-wise generation with a reference cache: the portrait's K/V sit in the cache's reference slots
     (written once by `set_reference`); each chunk reads them plus a sliding window of the last W clean
     frames, and after denoising its emitted frames are committed to the window (`ChunkSampler.commit`).
  2. the temporal knot: a chunk denoises K + k frames; the last k are held back and given to the next
     chunk as image-to-video condition (clean latent + mask channels); the emitted knot frames fuse both
     chunks' predictions.
  3. running ahead: before each chunk the reference's time index becomes chunk_start + delta, by
     re-rotating its cached keys (`KVCache.move_reference` -> `rope.shift_keys`), never a new forward.
Time is re-based after every chunk (`shift_window(-K)`), so no index grows with the stream's length.
The window keeps either the generated latents (the paper) or, by default, the emitted frames' warp priors
(StreamConfig.window_source; the shipped weights were trained on rollouts with that window). Every chunk of a
stream starts from the same noise (StreamConfig.fixed_noise), so a still driving face gives still frames.

Per frame in: motion map (M, h*s, w*s) and warp-prior latent (C, h, w). Out: clean latents (C, h, w), each
with the timestamp of the driving frame it answers.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import torch

from engine.config import StreamConfig
from engine.knot.cuda_graph import ChunkSampler
from engine.knot.model.dit import CausalDiT, build_condition

log = logging.getLogger(__name__)


@dataclass
class StreamFrame:
    """One emitted latent frame."""

    latent: torch.Tensor  # (C, h, w)
    timestamp: float  # of the driving frame it answers
    index: int  # frame number since set_reference
    finite: torch.Tensor | None = None  # () bool on the device: False when the warp prior replaced the chunk
    payload: object = None  # what the caller pushed with its driving frame, handed back with the answer

    @property
    def fallback(self) -> bool:
        """True when the chunk was not finite and the warp prior was used instead (reading it waits for the
        chunk on a GPU; the streamer itself never does)."""
        return self.finite is not None and not bool(self.finite)


@dataclass
class _Pending:
    """One pushed driving frame until its answer is emitted: the only per-frame queue of a stream."""

    motion_map: torch.Tensor  # (M, h*s, w*s)
    warp_latent: torch.Tensor  # (C, h, w)
    timestamp: float
    payload: object = None


class KnotStreamer:
    """Chunked streaming generation with a reference cache, a temporal knot and running ahead."""

    def __init__(self, model: CausalDiT, config: StreamConfig, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32) -> None:
        self.model = model.eval()
        self.cfg = config
        self.device = torch.device(device)
        self.dtype = dtype
        self.cache = model.new_cache(config.window_frames, config.use_reference_cache, 1, self.device, dtype)
        self.generator = torch.Generator(self.device)
        self.sampler = ChunkSampler(model, self.cache, config.timesteps, self.generator, config.cuda_graph)
        self.chunk_ms: list[float] = []  # compute time of recent chunks (bounded)
        self._warned_nonfinite = False
        self.reset()

    @property
    def lookahead_frames(self) -> int:
        """Frames held back as the knot: the latency the knot costs."""
        return self.cfg.knot_frames

    def reset(self) -> None:
        """Forget the portrait and all stream state (cache storage is kept)."""
        self.cache.reset()
        self.generator.manual_seed(self.cfg.seed)
        c, h = self.model.cfg.latent_channels, self.model.cfg.latent_size
        # The per-stream noise every chunk starts from (StreamConfig.fixed_noise); drawn like chunk_noise.
        self.noise = torch.randn((1, self.cfg.frames_per_chunk, c, h, h), generator=self.generator,
                                 device=self.device).to(self.dtype)
        self.pending: list[_Pending] = []
        self.knot_latents: torch.Tensor | None = None  # (1, k, C, h, w): last chunk's held-back frames
        self._commit: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None  # last chunk's, not yet done
        self.chunk_start = 0  # absolute index of the next chunk's first frame (for reporting only)
        self.chunk_index = 0
        self.frames_out = 0
        self.has_reference = False

    def reference_time(self) -> int:
        """Local time index the reference should have for the chunk about to be generated, which is also its
        distance in frames from that chunk's first frame (local time 0): constant with running ahead."""
        if self.cfg.running_ahead:
            return self.cfg.ahead_frames  # = (chunk_start + delta) - chunk_start
        return -self.chunk_start  # = 0 - chunk_start: falls behind as the stream goes on

    @torch.no_grad()
    def set_reference(self, latent: torch.Tensor, motion_map: torch.Tensor) -> None:
        """Encode the portrait into the cache. latent (C, h, w), motion_map (M, h*s, w*s) of its own face."""
        self.reset()
        latent = latent.to(self.device, self.dtype)[None]
        cond = build_condition(motion_map.to(self.device, self.dtype)[None, None], latent[:, None], None, None,
                               self.model.cfg.motion_scale)[:, 0]
        if self.cfg.use_reference_cache:
            self.model.encode_reference(latent, cond, self.cache, self.reference_time())
        else:  # ablation: the portrait is just the frame before the stream, evicted after W frames
            self.model.encode_reference(latent, cond, self.cache, -1, into_window=True)
        self.has_reference = True

    def push(self, motion_map: torch.Tensor, warp_latent: torch.Tensor, timestamp: float,
             payload: object = None) -> list[StreamFrame]:
        """Add one driving frame; returns the frames of a chunk when one completes, else []. `payload` (any
        per-frame data of the caller) comes back on the StreamFrame that answers this driving frame."""
        if not self.has_reference:
            raise RuntimeError("set_reference must be called before push")
        self.pending.append(_Pending(motion_map.to(self.device, self.dtype), warp_latent.to(self.device, self.dtype),
                                     timestamp, payload))
        if len(self.pending) < self.cfg.frames_per_chunk:
            return []
        return self._generate_chunk()

    def flush(self) -> list[StreamFrame]:
        """End of stream: emit every frame pushed and not yet emitted.

        A partial last chunk is completed by repeating the last driving frame; the padding is generated but
        not emitted. Frames already generated as the knot are emitted as they are. Call set_reference before
        pushing again.
        """
        real = len(self.pending)
        first_index = self.frames_out
        self._finish_last_chunk()
        out: list[StreamFrame] = []
        generated = self.cfg.knot_frames if self.knot_latents is not None else 0
        if real > generated:
            self.pending += [self.pending[-1]] * (self.cfg.frames_per_chunk - real)
            out = self._generate_chunk()[:real]
            real -= len(out)
        if real and self.knot_latents is not None:
            out += [StreamFrame(self.knot_latents[0, i], self.pending[i].timestamp, first_index + len(out) + i,
                                payload=self.pending[i].payload)
                    for i in range(real)]
        self._finish_last_chunk()
        self.pending, self.knot_latents = [], None
        self.frames_out = first_index + len(out)
        return out

    def _finish_last_chunk(self) -> None:
        """Step 5 of the last chunk, deferred to just before the next one samples: its emitted frames go into
        the window if it was finite, then time is re-based by K. By then the caller has read that chunk's frames
        (a GPU has finished it), so the finiteness test costs no wait of its own."""
        if self._commit is None:
            return
        finite, window_frames, cond = self._commit
        self._commit = None
        if bool(finite):
            self.sampler.commit(window_frames, cond)
        elif not self._warned_nonfinite:
            log.warning("generated chunk was not finite; using the warp prior for it (logged once)")
            self._warned_nonfinite = True
        self.cache.shift_window(-self.cfg.chunk_frames)

    @torch.no_grad()
    def _generate_chunk(self) -> list[StreamFrame]:
        """One chunk, as the paper: knot condition, running ahead, sample, fuse the knot, commit and re-base."""
        started = time.perf_counter()
        K, k = self.cfg.chunk_frames, self.cfg.knot_frames
        frames = self.pending[: K + k]
        motion = torch.stack([p.motion_map for p in frames])[None]  # (1, K+k, M, h*s, w*s)
        warp = torch.stack([p.warp_latent for p in frames])[None]  # (1, K+k, C, h, w)

        # 1. Knot condition (idea 2, temporal knot): the previous chunk's k held-back frames are this chunk's
        # image-to-video condition on its first k frames (clean latent + mask channel).
        i2v = torch.zeros_like(warp)
        i2v_mask = torch.zeros(1, K + k, device=self.device, dtype=self.dtype)
        if self.knot_latents is not None:
            i2v[:, :k] = self.knot_latents
            i2v_mask[:, :k] = 1.0
        cond = build_condition(motion, warp, i2v, i2v_mask, self.model.cfg.motion_scale)
        self._finish_last_chunk()  # the last chunk's window commit and re-base (step 5), deferred to here

        # 2. Running ahead (idea 3): the window was re-based to this chunk by last chunk's shift_window(-K),
        # so this chunk starts at local time 0; re-rotating the cached reference keys to ahead_frames keeps
        # the reference ahead_frames ahead of the chunk, at chunk 1 as at chunk 10,000 (no forward pass).
        self.cache.move_reference(self.reference_time())  # running ahead: reference at local time ahead_frames

        # 3. Sample (idea 1, chunk-wise generation with a reference cache): few-step denoising of K + k frames,
        # each attending to [reference slots | window of the last W clean frames | this chunk].
        # A chunk that is not finite is replaced by its warp priors, decided on the device (no wait for the GPU).
        latents = self.sampler.sample(cond, self.noise if self.cfg.fixed_noise else None)
        finite = torch.isfinite(latents).all()  # () bool, on the device
        latents = torch.where(finite, latents, warp)

        # 4. Fuse the knot (idea 2): the first k frames were predicted by the last chunk too; the emitted ones
        # blend both predictions. This chunk's last k frames are held back as the next chunk's knot.
        if self.knot_latents is not None:
            w = self.cfg.knot_fusion
            fused = (1 - w) * self.knot_latents + w * latents[:, :k]
            latents[:, :k] = torch.where(finite, fused, latents[:, :k])
        emitted = latents[:, :K]
        self.knot_latents = latents[:, K:K + k] if k else None

        # 5. Commit and re-base (idea 1): the K emitted frames go into the sliding window as clean K/V (as
        # generated, or as their warp priors: StreamConfig.window_source); then time is re-based by K so the
        # next chunk again starts at local time 0 and no index grows. Done just before the next chunk samples
        # (_finish_last_chunk), when the finiteness is known without waiting: a chunk that was not finite is
        # not committed, its K/V could be non-finite and would poison every later chunk through the window.
        window_frames = emitted if self.cfg.window_source == "generated" else warp[:, :K]
        self._commit = (finite, window_frames, cond[:, :K])

        out = [StreamFrame(emitted[0, i], frames[i].timestamp, self.frames_out + i, finite, frames[i].payload)
               for i in range(K)]
        self.pending = self.pending[K:]
        self.frames_out += K
        self.chunk_start += K
        self.chunk_index += 1
        self.chunk_ms = (self.chunk_ms + [(time.perf_counter() - started) * 1000.0])[-64:]
        return out
