"""`python main.py params`: parameter counts of the codec and the DiT for each preset, and the fixed KV-cache size.

Builds the modules on the CPU (no weights are read), so it answers in about a second for all presets.
"""

from __future__ import annotations

import argparse


def preset_list(text: str) -> list[str]:
    """argparse type: comma-separated preset names, each checked against the presets."""
    from engine.config import PRESETS

    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in PRESETS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown preset {', '.join(unknown) or '(none)'}; choose from "
                                         f"{', '.join(PRESETS)}")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the `params` subcommand."""
    parser.add_argument("--presets", type=preset_list, default="tiny,base,large",
                        help="comma-separated preset names (default: all)")


def parameter_counts(preset_name: str) -> dict[str, int | float | str]:
    """Sizes of one preset: codec and DiT parameters, tokens per frame, KV-cache bytes (float32, batch 1)."""
    from engine.config import get_preset
    from engine.knot.codec import FrameCodec
    from engine.knot.model.dit import CausalDiT

    preset = get_preset(preset_name)
    cfg = preset.model
    codec, dit = FrameCodec(cfg), CausalDiT(cfg)
    cache = dit.new_cache(preset.stream.window_frames, preset.stream.use_reference_cache)
    return {
        "preset": cfg.name,
        "resolution": cfg.resolution,
        "codec_params": sum(p.numel() for p in codec.parameters()),
        "dit_params": sum(p.numel() for p in dit.parameters()),
        "tokens_per_frame": cfg.tokens_per_frame,
        "kv_cache_mb": cache.nbytes() / 2**20,
    }


def run(args: argparse.Namespace) -> int:
    """Print one line per preset."""
    print(f"{'preset':<7} {'output':>8} {'codec':>10} {'DiT':>12} {'tokens/frame':>13} {'KV cache':>10}")
    for name in args.presets:
        c = parameter_counts(name)
        print(f"{c['preset']:<7} {c['resolution']:>5}px² {c['codec_params'] / 1e6:>9.3f}M "
              f"{c['dit_params'] / 1e6:>11.3f}M {c['tokens_per_frame']:>13} {c['kv_cache_mb']:>8.2f}MB")
    return 0
