"""Where the shipped assets are: the portraits, stills, demo clip, weights and their licences.

Computed from this package's location, never the current directory, so the paths hold from any working
directory and inside the installed bundle (which keeps `assets/` beside `engine/`).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout, or the bundle's root
ASSETS = ROOT / "assets"
PORTRAITS_DIR = ASSETS / "portraits"
STILLS_DIR = ASSETS / "stills"
CLIPS_DIR = ASSETS / "clips"
TRAINING_DIR = ASSETS / "training"  # real face videos the shipped weights were trained on (see assets/README.md)
SCANS_DIR = ASSETS / "scans"  # textured 3D head scans, rendered into training videos (main.py scan-video)
WEIGHTS_DIR = ASSETS / "weights"
MOUTH_PRIOR_FILE = ASSETS / "mouth" / "mouth_prior.npz"  # the mean open mouth of real video (main.py mouth-prior)
DEFAULT_PORTRAIT = PORTRAITS_DIR / "astronaut.png"
DEMO_CLIP = CLIPS_DIR / "carphone.mp4"
ASSETS_README = ASSETS / "README.md"  # the bundled assets' licences, shown in the About box
# Where benchmarks and evaluation write unless --out says otherwise: ignored by git, never over tracked files.
BENCH_RESULTS_DIR = ROOT / "runs" / "bench"
EVAL_RESULTS_DIR = ROOT / "runs" / "eval"


def default_weights_path(preset: str) -> Path:
    """Where the shipped weights of a preset live."""
    return WEIGHTS_DIR / f"{preset}.safetensors"


def shown(path: str | Path) -> str:
    """`path` as results files show it: relative to the checkout when inside it, else as given."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
