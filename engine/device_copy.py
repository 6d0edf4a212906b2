"""Host arrays to a torch device and back without waiting for it: the GPU path's one way of moving per-frame data.

A copy from ordinary (pageable) host memory to a GPU can make the host wait until the GPU has finished the
work queued before it; every per-frame upload would then serialise the CPU's next frame with the GPU's
current chunk. Staged through page-locked memory and issued without blocking, the copy is queued like a
kernel (torch's pinned-memory allocator keeps the staging buffer alive until the copy has run). The way back
(`start_download`) is queued the same way into page-locked memory, and read later (`Download.result`), once
the device has had the time to finish it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def to_device(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """A host array -> a tensor of the same dtype and shape on `device`; on CUDA queued without waiting."""
    host = torch.from_numpy(np.ascontiguousarray(array))
    if device.type != "cuda":
        return host.to(device)
    return host.pin_memory().to(device, non_blocking=True)


@dataclass
class Download:
    """A device tensor's copy to the host, queued without waiting; `result` waits for it (if not yet done)."""

    host: torch.Tensor  # the host copy (page-locked on CUDA): valid once `done` has passed
    done: object | None = None  # torch.cuda.Event recorded after the copy; None: the copy was made at once

    def result(self) -> np.ndarray:
        """The host array (a view of `host`), after the copy has run."""
        if self.done is not None:
            self.done.synchronize()
        return self.host.numpy()


def start_download(tensor: torch.Tensor) -> Download:
    """Queue a copy of `tensor` to the host; on CUDA without waiting for the device's queued work."""
    if tensor.device.type != "cuda":
        return Download(tensor.detach().to("cpu", copy=True))
    host = torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True)
    host.copy_(tensor, non_blocking=True)
    done = torch.cuda.Event()
    done.record(torch.cuda.current_stream(tensor.device))
    return Download(host, done)
