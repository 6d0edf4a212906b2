"""The GPU busy share's arithmetic (the measurement itself needs a GPU: tests/test_cuda_graph.py's machine)."""

from __future__ import annotations

import pytest
import torch

from engine.bench.gpu_busy import busy_share, union_length


def test_overlapping_device_intervals_count_once():
    assert union_length([]) == 0.0
    assert union_length([(0.0, 2.0), (1.0, 3.0), (5.0, 6.0)]) == 4.0  # [0, 3] and [5, 6]
    assert union_length([(4.0, 5.0), (0.0, 10.0), (2.0, 3.0)]) == 10.0  # nested, any order
    assert union_length([(0.0, 1.0), (1.0, 2.0)]) == 2.0  # touching


def test_off_a_gpu_there_is_no_busy_share_and_nothing_runs():
    ran = []
    assert busy_share(lambda: ran.append(1) or 1, "cpu") is None and ran == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_gpu_kept_busy_reports_most_of_the_time_busy():
    x = torch.randn(4096, 4096, device="cuda")
    x @ x  # cuBLAS's first call sets itself up on the CPU: not GPU work
    torch.cuda.synchronize()

    def work() -> int:
        for _ in range(20):
            x @ x
        return 20

    busy = busy_share(work, "cuda")
    assert 0.5 < busy["share"] <= 1.0 and busy["device_ops"] >= 20 and busy["frames"] == 20
