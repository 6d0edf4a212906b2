"""Model benchmark: DiT ms per chunk per preset, codec ms per frame, cached streaming vs full recompute.

    python main.py bench-model [--device cuda] [--presets tiny,base,large] [--long-presets tiny]

Figures (random weights: speed does not depend on their values):
  chunk       KnotStreamer ms per chunk (S denoising passes + the clean commit pass) with a full window:
              median (and min, max) of the timed chunks; on a shared CPU the min is the least disturbed.
              On CUDA with the chunk replayed as CUDA graphs (the default) and, under "eager", without.
  codec       FrameCodec encode / decode ms per frame at 128² (tiny codec) and 256² (base codec).
  long        per-chunk ms when the stream reaches 100 and 1,000 frames, cached (the streamer) vs a full
              recompute without a cache (S forward_sequence passes over the whole history + the chunk).
              A recompute whose dense attention mask would not fit in memory is not run; then a lower bound
              is given, scaled linearly in frames from the largest size measured (its true cost grows faster).
Writes runs/bench/model.json (or --out): one entry per device kind and dtype ("cpu", "cuda", "cuda-bfloat16"), other
entries kept, each with the machine description (and the load average: the CPU figures are wall-clock).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

import torch

from engine.assets import BENCH_RESULTS_DIR
from engine.bench.machine import describe_machine
from engine.config import PRESETS, Preset, get_preset
from engine.knot.codec import FrameCodec
from engine.knot.model.dit import CausalDiT
from engine.knot.model.layout import streaming_layout
from engine.knot.streaming import KnotStreamer

OUT = BENCH_RESULTS_DIR / "model.json"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(device: torch.device, fn, *args) -> tuple[float, object]:
    """(ms, result) of one call fn(*args), synchronised on CUDA."""
    _sync(device)
    start = time.perf_counter()
    result = fn(*args)
    _sync(device)
    return (time.perf_counter() - start) * 1000.0, result


def random_model(preset: Preset, device: torch.device, dtype: torch.dtype) -> CausalDiT:
    """A DiT with small random weights: speed does not depend on them, but a fresh model outputs all zeros."""
    model = CausalDiT(preset.model)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
    return model.to(device, dtype).eval()


class Driver:
    """A streamer on random inputs; `chunk()` pushes frames until one chunk is generated and returns its ms."""

    def __init__(self, preset: Preset, device: torch.device, dtype: torch.dtype, cuda_graph: bool = True) -> None:
        cfg = preset.model
        self.device = device
        stream = replace(preset.stream, cuda_graph=cuda_graph)
        self.streamer = KnotStreamer(random_model(preset, device, dtype), stream, device, dtype)
        gen = torch.Generator().manual_seed(1)
        s, h = cfg.motion_size, cfg.latent_size
        self.inputs = [(torch.rand(cfg.motion_channels, s, s, generator=gen).to(device, dtype),
                        torch.randn(cfg.latent_channels, h, h, generator=gen).to(device, dtype)) for _ in range(8)]
        self.streamer.set_reference(self.inputs[0][1], self.inputs[0][0])
        self.pushed = 0

    def chunk(self) -> float:
        while True:
            motion, warp = self.inputs[self.pushed % len(self.inputs)]
            self.pushed += 1
            ms, out = _timed(self.device, self.streamer.push, motion, warp, float(self.pushed))
            if out:
                return ms

    def frames(self) -> int:
        return self.streamer.frames_out


def bench_chunk(preset: Preset, device: torch.device, dtype: torch.dtype, chunks: int,
                cuda_graph: bool = True) -> dict:
    """Median ms per chunk once the window is full (on CUDA also without graphs, under "eager")."""
    driver = Driver(preset, device, dtype, cuda_graph)
    stream = preset.stream
    warmup = -(-stream.window_frames // stream.chunk_frames) + 1
    for _ in range(warmup):
        driver.chunk()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = [driver.chunk() for _ in range(chunks)]
    ms = statistics.median(times)
    out = {"ms_per_chunk": round(ms, 2), "ms_per_chunk_min": round(min(times), 2),
           "ms_per_chunk_max": round(max(times), 2),
           "ms_per_frame": round(ms / stream.chunk_frames, 2), "dit_fps": round(1000 * stream.chunk_frames / ms, 1),
           "chunk_frames": stream.chunk_frames, "knot_frames": stream.knot_frames,
           "denoising_steps": len(stream.timesteps), "window_frames": stream.window_frames, "chunks_timed": chunks,
           "dit_params": sum(p.numel() for p in driver.streamer.model.parameters())}
    if device.type == "cuda":
        out["cuda_peak_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
        out["cuda_graph"] = driver.streamer.sampler.graphed
        if cuda_graph:
            eager = bench_chunk(preset, device, dtype, chunks, cuda_graph=False)
            out["eager"] = {k: eager[k] for k in ("ms_per_chunk", "ms_per_chunk_min", "dit_fps")}
    return out


@torch.no_grad()
def bench_codec(name: str, device: torch.device, dtype: torch.dtype, reps: int) -> dict:
    """Encode / decode ms per frame for a preset's codec, batch 1 and batch K + k (one chunk)."""
    preset = get_preset(name)
    cfg = preset.model
    codec = FrameCodec(cfg).to(device, dtype).eval()
    out = {"resolution": cfg.resolution, "codec_params": sum(p.numel() for p in codec.parameters())}
    for batch in (1, preset.stream.frames_per_chunk):
        rgb = torch.rand(batch, 3, cfg.resolution, cfg.resolution, device=device, dtype=dtype) * 2 - 1
        z = codec.encode(rgb)
        codec.decode(z)
        enc = statistics.median(_timed(device, codec.encode, rgb)[0] for _ in range(reps))
        dec = statistics.median(_timed(device, codec.decode, z)[0] for _ in range(reps))
        out[f"batch{batch}"] = {"encode_ms_per_frame": round(enc / batch, 3),
                                "decode_ms_per_frame": round(dec / batch, 3)}
    return out


def recompute_bytes(preset: Preset, frames: int, device: torch.device) -> int:
    """Rough peak bytes of one full forward_sequence at `frames` history frames: the bool mask, then on CUDA its
    float bias (fused kernels keep no scores), on the CPU float scores and softmax per head (math kernel)."""
    cfg, stream = preset.model, preset.stream
    n = cfg.tokens_per_frame
    groups = frames // stream.chunk_frames + 1
    queries = (frames + stream.frames_per_chunk) * n
    keys = groups * n + queries
    return queries * keys * (1 + (4 if device.type == "cuda" else 12 * cfg.heads))


def free_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    import psutil

    return psutil.virtual_memory().available


@torch.no_grad()
def bench_recompute(preset: Preset, frames: int, model: CausalDiT, device: torch.device, dtype: torch.dtype) -> float:
    """ms for one chunk without a cache: S full passes over `frames` clean history frames plus the chunk."""
    cfg, stream = preset.model, preset.stream
    K, k = stream.chunk_frames, stream.knot_frames
    context = frames // K
    layout = streaming_layout(context, K, k, stream.window_frames,
                              stream.ahead_frames if stream.running_ahead else None)
    total = context * K + K + k
    h = cfg.latent_size
    gen = torch.Generator().manual_seed(2)
    ref = torch.randn(1, cfg.latent_channels, h, h, generator=gen).to(device, dtype)
    ref_cond = torch.randn(1, cfg.cond_channels, h, h, generator=gen).to(device, dtype)
    x = torch.randn(1, total, cfg.latent_channels, h, h, generator=gen).to(device, dtype)
    cond = torch.randn(1, total, cfg.cond_channels, h, h, generator=gen).to(device, dtype)
    t = torch.zeros(1, total, device=device, dtype=dtype)

    def chunk() -> None:
        for step in stream.timesteps:
            t[:, context * K:] = step
            model.forward_sequence(ref, ref_cond, x, cond, t, layout)

    return _timed(device, chunk)[0]


def bench_long(preset: Preset, device: torch.device, dtype: torch.dtype, points: tuple[int, ...],
               chunks: int) -> dict:
    """Cached per-chunk ms at each point of the stream vs the full recompute at the same history length."""
    driver = Driver(preset, device, dtype)
    out: dict = {}
    measured: list[tuple[int, float]] = []
    for frames in points:
        while driver.frames() < frames:
            driver.chunk()
        times = [driver.chunk() for _ in range(chunks)]
        cached = statistics.median(times)
        entry = {"cached_ms_per_chunk": round(cached, 2), "cached_ms_per_chunk_min": round(min(times), 2)}
        need = recompute_bytes(preset, frames, device)
        ms = None
        if need < 0.5 * free_bytes(device):
            try:
                ms = bench_recompute(preset, frames, driver.streamer.model, device, dtype)
            except torch.OutOfMemoryError:
                torch.cuda.empty_cache()
        if ms is not None:
            measured.append((frames, ms))
            entry.update(recompute_ms_per_chunk=round(ms, 1), speedup=round(ms / cached, 1))
        elif measured:
            f0, ms0 = measured[-1]
            bound = ms0 * frames / f0
            entry.update(recompute_ms_per_chunk_lower_bound=round(bound, 1),
                         speedup_lower_bound=round(bound / cached, 1),
                         recompute_skipped=f"dense mask and scores need about {need / 2**30:.0f} GiB; lower bound "
                                           f"scaled linearly from {f0} frames")
        else:
            entry["recompute_skipped"] = f"dense mask and scores need about {need / 2**30:.0f} GiB"
        out[str(frames)] = entry
        print(f"  {preset.model.name:<6} at {frames:>5} frames: " + ", ".join(f"{k} {v}" for k, v in entry.items()))
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `main.py bench-model`."""
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--presets", default="tiny,base,large", help="presets for the ms-per-chunk figures")
    parser.add_argument("--long-presets", default=None,
                        help="presets for cached vs recompute at 100 and 1,000 frames (default: tiny on the CPU, "
                             "all --presets on CUDA)")
    parser.add_argument("--chunks", type=int, default=None, help="chunks timed per preset (default 5 CPU, 30 CUDA)")
    parser.add_argument("--out", type=Path, default=OUT, help="results JSON (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, print the figures and merge them into `args.out`."""
    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype)
    presets = [n.strip() for n in args.presets.split(",") if n.strip()]
    long_default = "tiny" if device.type == "cpu" else ",".join(presets)
    long_presets = [n.strip() for n in (args.long_presets or long_default).split(",") if n.strip()]
    for name in {*presets, *long_presets}:
        get_preset(name)
    chunks = args.chunks or (8 if device.type == "cpu" else 30)
    started = time.time()

    result: dict = {"machine": describe_machine(str(device)), "dtype": args.dtype,
                    "date": time.strftime("%Y-%m-%d %H:%M"), "chunk": {}, "codec": {}, "long": {}}
    print(f"device {device} ({result['machine'].get('gpu', result['machine']['cpu'])}), torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads, {args.dtype}")
    for name in presets:
        r = bench_chunk(PRESETS[name], device, dtype, chunks)
        result["chunk"][name] = r
        print(f"  {name:<6} {r['ms_per_chunk']:8.2f} ms/chunk of {r['chunk_frames']} frames "
              f"({r['ms_per_frame']:.2f} ms/frame, DiT alone {r['dit_fps']} fps)"
              + (f"; without CUDA graphs {r['eager']['ms_per_chunk']} ms ({r['eager']['dit_fps']} fps)"
                 if "eager" in r else ""))
    for name in ("tiny", "base"):
        r = bench_codec(name, device, dtype, reps=10 if device.type == "cpu" else 50)
        result["codec"][str(r["resolution"])] = r
        b1 = r["batch1"]
        print(f"  codec {r['resolution']}²: encode {b1['encode_ms_per_frame']:.2f} ms/frame, "
              f"decode {b1['decode_ms_per_frame']:.2f} ms/frame (batch 1)")
    for name in long_presets:
        result["long"][name] = bench_long(PRESETS[name], device, dtype, (100, 1000), chunks)
    result["seconds"] = round(time.time() - started, 1)

    all_runs = json.loads(args.out.read_text()) if args.out.is_file() else {}
    all_runs[device.type if args.dtype == "float32" else f"{device.type}-{args.dtype}"] = result
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(all_runs, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0
