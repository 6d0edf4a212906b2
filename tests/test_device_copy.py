"""to_device: host arrays reach the device unchanged; on CUDA the copy is queued without waiting and stays
right when the host array changes right after (its page-locked staging buffer is the copy's own)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.device_copy import to_device


def test_values_dtype_and_shape_arrive_unchanged_from_a_strided_array():
    a = np.arange(2 * 5 * 7, dtype=np.float32).reshape(2, 5, 7)[:, ::2, 1:]  # not contiguous
    t = to_device(a, torch.device("cpu"))
    assert t.dtype == torch.float32 and tuple(t.shape) == a.shape
    np.testing.assert_array_equal(t.numpy(), a)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_queued_copy_keeps_the_values_it_was_given_when_the_host_array_changes():
    device = torch.device("cuda")
    busy = torch.randn(4096, 4096, device=device)
    for _ in range(20):  # queue ~ms of work, so the copy below is still waiting when the host writes
        busy = busy @ busy / 64
    a = np.random.default_rng(0).random((3, 256, 256)).astype(np.float32)
    expected = a.copy()
    t = to_device(a, device)
    a[...] = -1.0  # the caller reuses its buffer at once
    np.testing.assert_array_equal(t.cpu().numpy(), expected)
