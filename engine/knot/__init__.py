"""Knot Forcing: the codec, the causal DiT (model/), the few-step sampler, the chunk streamer and the animator."""
