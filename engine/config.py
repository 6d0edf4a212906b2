"""Configuration dataclasses and named presets: model shape, streaming (inference) and training.

One code path serves every preset; only these numbers change. Inference config (StreamConfig) is
separate from training config (TrainConfig), as in LivePortrait.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

#: Face crop side = this times the face oval's extent, for the evaluation's tiles and scores (what a person
#: looks at). The model's own crop is ModelConfig.crop_scale.
FACE_CROP_SCALE = 1.8


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the codec and the causal DiT."""

    name: str = "tiny"
    resolution: int = 128  # face crop side in pixels (codec input/output)
    latent_channels: int = 8  # C: codec latent channels at resolution / 8
    codec_widths: tuple[int, int, int] = (16, 32, 96)  # conv widths of the three stride-2 stages
    patch: int = 2  # p: latent patch side for DiT tokens
    width: int = 144  # D: transformer width
    depth: int = 4  # L: transformer blocks
    heads: int = 3
    mlp_ratio: float = 3.0
    motion_channels: int = 3  # MotionRenderer channels (oval+nose, eyes+brows+irises, lips)
    motion_scale: int = 4  # the motion map is drawn at latent_size * motion_scale, then pixel-unshuffled
    rope_theta: float = 100.0  # base of the rotary frequencies (time, y, x bands)
    # What the network's output means. "velocity": v = eps - x0 directly (flow matching). "warp_residual": a
    # correction r to the warp prior, x0 = warp latent + r, turned into v = (x_t - x0) / t for the sampler.
    # A zero-initialised output layer then starts exactly at the warp prior, and training only has to learn
    # what the warp gets wrong (mouth, eyes, seams) instead of re-learning the whole frame.
    prediction: str = "velocity"
    # The model's face crop: side = crop_scale x the face oval's extent. The animator crops the portrait so, and
    # `prepare` crops each clip with one box of that side around the clip's median face: the model sees faces at
    # the same size in training and in the app. (Until 2026-12 prepare enlarged each clip's box to hold every
    # frame's face, 1.9-2.6x for the bundled clips, while the app cropped at 1.8x: faces 1.4x larger than any
    # trained on, and Knot Forcing lost 1-2 dB against its own warp prior. 2.2 scored best of 2.2, 2.5, 2.8 on
    # franck's held-out tail with the shipped weights.)
    crop_scale: float = 2.2

    @property
    def latent_size(self) -> int:
        """h = w of the latent grid."""
        return self.resolution // 8

    @property
    def motion_size(self) -> int:
        """Side of the motion map in pixels of the crop, before unshuffling."""
        return self.latent_size * self.motion_scale

    @property
    def tokens_per_frame(self) -> int:
        """N = (h / p) * (w / p)."""
        return (self.latent_size // self.patch) ** 2

    @property
    def head_dim(self) -> int:
        return self.width // self.heads

    @property
    def cond_channels(self) -> int:
        """Per-frame condition channels: motion map (unshuffled) + warp-prior latent + I2V latent + I2V mask."""
        return self.motion_channels * self.motion_scale**2 + 2 * self.latent_channels + 1

    def __post_init__(self) -> None:
        if self.resolution % (8 * self.patch):
            raise ValueError(f"resolution {self.resolution} must be a multiple of {8 * self.patch}")
        if self.prediction not in ("velocity", "warp_residual"):
            raise ValueError("prediction must be 'velocity' or 'warp_residual'")
        if self.width % self.heads or self.head_dim % 6:
            raise ValueError("head_dim must be divisible by 6 (three even RoPE bands: t, y, x)")


@dataclass(frozen=True)
class StreamConfig:
    """Knot Forcing inference. Each idea has a switch so evaluation can ablate it."""

    chunk_frames: int = 3  # K: frames emitted per chunk
    knot_frames: int = 1  # k: overlap with the next chunk (temporal knot); 0 switches the knot off
    window_frames: int = 6  # W: clean frames kept in the sliding window
    use_reference_cache: bool = True  # False: the portrait only lives in the window and is evicted
    running_ahead: bool = True  # keep the reference's time index ahead of the chunk being generated
    ahead_frames: int = 6  # delta: reference index = chunk_start + delta while running ahead
    timesteps: tuple[float, ...] = (1.0, 0.66, 0.33)  # flow-matching times, one model call each
    knot_fusion: float = 0.5  # weight of the new chunk's prediction in an emitted knot frame
    seed: int = 0
    # One noise tensor per stream, reused by every chunk: a still driving face then gives a still avatar (fresh
    # noise per chunk made a still face shimmer). False draws new noise per chunk (ablation).
    fixed_noise: bool = True
    cuda_graph: bool = True  # on a GPU, replay each chunk's denoising steps as one CUDA graph (same frames)
    # What the sliding window keeps of each emitted frame: "generated" = its generated latent (the paper's
    # design); "warp_prior" = its warp-prior latent, a clean frame at the same motion. The shipped tiny was
    # trained on rollouts with "warp_prior"; with it, "generated" scores the same on the held-out clips
    # (docs/eval/report.md), so the default stays until a run trained on generated windows beats it.
    window_source: str = "warp_prior"

    def __post_init__(self) -> None:
        if self.chunk_frames < 1 or self.knot_frames < 0 or self.window_frames < 1:
            raise ValueError("chunk_frames >= 1, knot_frames >= 0 and window_frames >= 1 are required")
        if self.knot_frames > self.chunk_frames:
            raise ValueError("knot_frames must not exceed chunk_frames")
        if self.window_source not in ("generated", "warp_prior"):
            raise ValueError("window_source must be 'generated' or 'warp_prior'")

    @property
    def frames_per_chunk(self) -> int:
        """K + k frames denoised together."""
        return self.chunk_frames + self.knot_frames


@dataclass(frozen=True)
class TrainConfig:
    """Training schedule for both stages (codec, then DiT on its own rollouts: engine/train/rollout.py)."""

    codec_steps: int = 2000
    dit_steps: int = 4000
    batch_size: int = 16
    lr: float = 3e-4
    weight_decay: float = 0.01
    warmup_steps: int = 200
    rollout_chunks: int = 4  # M: chunks the streamer generates per training sequence
    ahead_jitter: int = 1  # +- frames of jitter on the reference's time index
    latent_weight: float = 0.1  # weight of the latent MSE to the real frame's latent (an imperfect codec makes it
    # pull against the composed pixels: a clip the model overfits ends 0.67 dB under its warp at 1.0, 0.60 over at 0.1)
    pixel_weight: float = 1.0  # weight of the composed-crop L1 (what the app shows) against the latent MSE
    detail_weight: float = 3.0  # extra weight of mouth and eyes inside the face mask
    exact_prior_share: float = 0.25  # sequences whose warp prior is the real frame: teaches to keep a good warp
    clip_balance: float = 0.5  # a clip is drawn with weight frames**clip_balance: 1 = every frame alike (one long
    # clip, one identity, dominates), 0 = every clip alike; 0.5 keeps the short clips' identities and head turns
    degrade_share: float = 0.0  # sequences seen through a lower-resolution camera (reference, frames, priors alike)
    hue_share: float = 0.0  # sequences with a random hue rotation: colours must come from the reference
    snapshot_every: int = 0  # DiT steps between exported weight snapshots (OUT/snapshots/); 0 = none
    log_every: int = 50
    checkpoint_every: int = 500
    seed: int = 0


@dataclass(frozen=True)
class Preset:
    """A named model + streaming configuration."""

    model: ModelConfig
    stream: StreamConfig = field(default_factory=StreamConfig)


PRESETS: dict[str, Preset] = {
    # K = 2: on the 2-core CPU 21 fps and 141 / 199 ms median / p95 latency at a 30 fps camera, against 20 fps
    # and 153 / 294 ms at K = 3, with the same held-out scores (benchmarks/streamer_k.json, docs/training).
    # Two denoising steps (the first two times of the trained schedule): 34.7 fps on the 2-core CPU against 26.8
    # with three, the same held-out face PSNR, still-face flicker 1.13x the warp's against 1.09x (docs/performance.md)
    # base and large, K = 2 too: a frame waits 33 ms less for its chunk; on the H200 base holds a p95 of 88 ms at
    # a 30 fps camera against 125 ms at K = 3 (benchmarks/streamer.json)
    "tiny": Preset(ModelConfig(prediction="warp_residual"), StreamConfig(chunk_frames=2, timesteps=(1.0, 0.66))),
    "base": Preset(
        ModelConfig(name="base", resolution=256, latent_channels=12, codec_widths=(32, 64, 128), width=288, depth=6,
                    heads=6, prediction="warp_residual"),
        StreamConfig(chunk_frames=2, knot_frames=1, window_frames=9),
    ),
    "large": Preset(
        ModelConfig(name="large", resolution=512, latent_channels=16, codec_widths=(48, 96, 192), patch=4, width=576,
                    depth=8, heads=8, prediction="warp_residual"),
        StreamConfig(chunk_frames=2, knot_frames=1, window_frames=9),
    ),
}


def get_preset(name: str) -> Preset:
    """Look up a preset by name; a clear ValueError names the choices."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None


def config_dict(cfg: object) -> dict:
    """A JSON-ready dict of a config dataclass (tuples become lists)."""
    return asdict(cfg)


def model_config_from_dict(d: dict) -> ModelConfig:
    """Inverse of config_dict for ModelConfig; unknown keys raise TypeError."""
    d = dict(d)
    d["codec_widths"] = tuple(d["codec_widths"])
    return ModelConfig(**d)


__all__ = ["ModelConfig", "StreamConfig", "TrainConfig", "Preset", "PRESETS", "get_preset", "config_dict",
           "model_config_from_dict", "replace"]
