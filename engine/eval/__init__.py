"""Evaluation and benchmarks: metrics, side-by-side reports, and speed/memory harnesses that write JSON."""
