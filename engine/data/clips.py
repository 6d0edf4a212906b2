"""The prepared-clip file format: one compressed .npz per clip, plus splits.json for the set.

A clip file holds, at the preset's crop resolution R:
  frames     (T, R, R, 3) uint8 RGB aligned face crops (one crop box per clip)
  landmarks  (T, 478, 2) float32 landmark pixels in the crop
  meta       JSON string: identity, source file, kind ("video" | "still")
Warp priors, motion maps and loss regions are not stored here: `prepare` writes them once into the tensor
cache that training reads (engine/data/cache.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Clip:
    """One prepared clip in memory."""

    frames: np.ndarray  # (T, R, R, 3) uint8
    landmarks: np.ndarray  # (T, 478, 2) float32
    meta: dict

    @property
    def identity(self) -> str:
        return self.meta["identity"]


def save_clip(path: Path, clip: Clip) -> None:
    """Write a clip atomically (temp file, then rename)."""
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, frames=clip.frames, landmarks=clip.landmarks, meta=np.array(json.dumps(clip.meta)))
    tmp.replace(path)


def load_clip(path: Path) -> Clip:
    """Read a clip written by save_clip."""
    with np.load(path) as z:
        return Clip(z["frames"], z["landmarks"], json.loads(str(z["meta"])))


def load_split(data_dir: Path, split: str) -> list[Clip]:
    """All clips of one split ("train", "val" or "test") listed in data_dir/splits.json."""
    splits = json.loads((Path(data_dir) / "splits.json").read_text())
    return [load_clip(Path(data_dir) / name) for name in splits[split]]
