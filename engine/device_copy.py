"""Host arrays to a torch device without waiting for it: the GPU path's one way of uploading per-frame data.

A copy from ordinary (pageable) host memory to a GPU can make the host wait until the GPU has finished the
work queued before it; every per-frame upload would then serialise the CPU's next frame with the GPU's
current chunk. Staged through page-locked memory and issued without blocking, the copy is queued like a
kernel (torch's pinned-memory allocator keeps the staging buffer alive until the copy has run).
"""

from __future__ import annotations

import numpy as np
import torch


def to_device(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """A host array -> a tensor of the same dtype and shape on `device`; on CUDA queued without waiting."""
    host = torch.from_numpy(np.ascontiguousarray(array))
    if device.type != "cuda":
        return host.to(device)
    return host.pin_memory().to(device, non_blocking=True)
