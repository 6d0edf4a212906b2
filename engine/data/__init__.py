"""Training/evaluation data: face tracks, prepared clips (aligned crops + landmarks), the tensor cache."""
