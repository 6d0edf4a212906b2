"""Ctrl+C at a frame boundary: a long command stops between frames, never inside a C library's call.

A KeyboardInterrupt raised while mediapipe, torch or the video encoder is inside its own code can leave that
library half-way (an encoder mid-packet whose close then waits for ever). Inside `frame_boundary_interrupt()`
the first Ctrl+C only sets a flag; `check()` raises KeyboardInterrupt at the next frame. A second Ctrl+C
interrupts at once, as without it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def frame_boundary_interrupt() -> Iterator[Callable[[], None]]:
    """Yields `check`, to call between frames; outside the main thread, Ctrl+C is left as it is."""
    pressed = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    previous = signal.getsignal(signal.SIGINT)

    def on_sigint(signum, frame) -> None:
        pressed.set()
        signal.signal(signal.SIGINT, previous)  # a second Ctrl+C is not deferred

    def check() -> None:
        if pressed.is_set():
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield check
    finally:
        signal.signal(signal.SIGINT, previous)
