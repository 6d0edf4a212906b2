"""The Knot Forcing model: 3D RoPE, the reference + sliding-window KV cache, attention, and the causal DiT."""
