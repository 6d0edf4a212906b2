"""The one CPU thread policy of every entry point: how many intra-op threads torch may use.

On a busy 2-core machine torch's own default (one thread per core) spin-waits against face tracking, the
GUI and whatever else shares the cores: Knot Forcing drops from ~25 fps on one thread to 1-4 fps (issue 20).
So every core but one goes to torch, one thread on 2 cores or fewer, at most MAX_THREADS (the small DiTs
gain nothing past that); an explicit count always wins.
"""

from __future__ import annotations

import os

MAX_THREADS = 8


def choose_threads(cores: int | None = None, explicit: int | None = None) -> int:
    """Intra-op threads for `cores` CPU cores (default: this machine's), or `explicit` when given."""
    if explicit is not None:
        if explicit < 1:
            raise ValueError(f"a thread count must be at least 1, not {explicit}")
        return explicit
    if cores is None:
        cores = os.cpu_count() or 1
    return 1 if cores <= 2 else min(cores - 1, MAX_THREADS)


def apply_thread_policy(explicit: int | None = None) -> int:
    """Set torch's intra-op threads by `choose_threads` (process-wide); returns the count set."""
    import torch

    threads = choose_threads(explicit=explicit)
    torch.set_num_threads(threads)
    return threads
