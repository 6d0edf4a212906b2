"""Training: stage 1 the codec, stage 2 the causal DiT with flow matching; resumable, CPU or CUDA, DDP-ready."""
