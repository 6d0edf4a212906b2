"""Training/evaluation data: prepared clips (aligned face crops + landmarks + warp priors) and their loader."""
