"""Shipped weights: one safetensors file (codec + DiT) plus a JSON sidecar with the config and version.

The config and format version are also stored in the safetensors header, so a file is self-describing.
Anything that does not fit (missing, corrupt, another format version, another config, wrong shapes) raises
WeightsMismatchError naming what differs.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from engine.config import ModelConfig, config_dict, model_config_from_dict
from engine.errors import WeightsMismatchError
from engine.knot.codec import FrameCodec
from engine.knot.model.dit import CausalDiT

FORMAT_VERSION = 1


def save_weights(path: str | Path, cfg: ModelConfig, codec: FrameCodec, dit: CausalDiT,
                 extra: dict | None = None) -> None:
    """Write `path` (.safetensors) and `path` with .json: weights, config, format version, extra info."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {f"codec.{k}": v.detach().float().cpu().contiguous() for k, v in codec.state_dict().items()}
    tensors.update({f"dit.{k}": v.detach().float().cpu().contiguous() for k, v in dit.state_dict().items()})
    meta = {"format_version": FORMAT_VERSION, "model": config_dict(cfg), **(extra or {})}
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"knotcam": json.dumps(meta)})
    tmp.replace(path)
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")


def read_metadata(path: str | Path) -> dict:
    """The JSON metadata stored in a weights file's header."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise WeightsMismatchError(f"weights file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        return json.loads(meta["knotcam"])
    except (KeyError, ValueError, OSError, Exception) as err:  # safetensors raises its own error types
        raise WeightsMismatchError(f"weights file {path.name} is corrupt or not a KnotCam file ({err})") from None


def load_weights(path: str | Path, expected: ModelConfig | None = None,
                 device: str | torch.device = "cpu") -> tuple[ModelConfig, FrameCodec, CausalDiT, dict]:
    """Load codec and DiT from `path`; checks version, config (against `expected` if given) and shapes."""
    from safetensors.torch import load_file

    path = Path(path)
    meta = read_metadata(path)
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise WeightsMismatchError(f"weights file {path.name} has format version {version}; this KnotCam reads "
                                   f"version {FORMAT_VERSION}")
    try:
        cfg = model_config_from_dict(meta["model"])
    except (KeyError, TypeError, ValueError) as err:
        raise WeightsMismatchError(f"weights file {path.name} has an unreadable model config ({err})") from None
    if expected is not None and cfg != expected:
        diff = [f"{k}: file {v!r} vs expected {getattr(expected, k)!r}"
                for k, v in config_dict(cfg).items() if v != config_dict(expected)[k]]
        raise WeightsMismatchError(f"weights file {path.name} is for another model config ({'; '.join(diff)})")
    try:
        tensors = load_file(str(path))
    except Exception as err:  # noqa: BLE001 - any read failure is a corrupt file for the user
        raise WeightsMismatchError(f"weights file {path.name} is corrupt ({err})") from None
    codec, dit = FrameCodec(cfg), CausalDiT(cfg)
    for prefix, module in (("codec.", codec), ("dit.", dit)):
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        own = module.state_dict()
        missing = sorted(set(own) - set(state))
        shapes = [k for k in own if k in state and own[k].shape != state[k].shape]
        if missing or shapes:
            what = f"missing {missing[:3]}" if missing else f"wrong shapes for {shapes[:3]}"
            raise WeightsMismatchError(f"weights file {path.name} does not match the {prefix[:-1]} ({what})")
        module.load_state_dict(state, strict=False)
    return cfg, codec.to(device).eval(), dit.to(device).eval(), meta
