"""The one CPU thread policy of every entry point: how many intra-op threads torch may use.

On a busy 2-core machine torch's own default (one thread per core) spin-waits against face tracking, the
GUI and whatever else shares the cores: Knot Forcing drops from ~25 fps on one thread to 1-4 fps (issue 20).
So every core but one goes to torch, one thread on 2 cores or fewer, at most MAX_THREADS (the small DiTs
gain nothing past that); an explicit count always wins. OpenCV's worker pool gets the same count: its
workers serve whichever thread calls (the warp, a recording's resize and colour conversion), so on 2 cores
a background recorder's conversions would otherwise run at full priority beside the avatar.
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
    """Set torch's intra-op threads and OpenCV's by `choose_threads` (process-wide); returns the count set."""
    import cv2
    import torch

    threads = choose_threads(explicit=explicit)
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    return threads


BACKGROUND_NICENESS = 10  # how much a background thread (the recorder's encoder) yields to the avatar's threads


def lower_this_thread(niceness: int = BACKGROUND_NICENESS) -> bool:
    """Give the calling thread (and the threads it starts afterwards, e.g. an encoder's) a lower CPU priority.

    Linux schedules threads one by one, so only this thread yields; returns False where the OS cannot do that
    per thread (the priority is then left alone rather than lowering the whole process).
    """
    import sys
    import threading

    if not sys.platform.startswith("linux"):
        return False
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + niceness))
    except OSError:
        return False
    return True
