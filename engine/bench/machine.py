"""The machine a benchmark ran on, written next to every figure."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe_machine(device: str = "cpu") -> dict:
    """CPU model, core count, load average, library versions, and the GPU when `device` is CUDA."""
    import cv2
    import numpy as np
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cpu_count": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__, "numpy": np.__version__,
            "opencv": cv2.__version__, "python": platform.python_version(), "platform": platform.platform()}
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
        info["cuda"] = torch.version.cuda
    return info
