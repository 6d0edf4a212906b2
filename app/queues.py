"""Thread plumbing without Qt: a bounded drop-oldest queue, a gate for frames in flight to the GUI, a rate meter."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class DropOldestQueue(Generic[T]):
    """Bounded FIFO between two threads: a put into a full queue drops the oldest item, never blocks.

    When generation falls behind capture, old driving frames go, so latency and memory stay bounded.
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._items: deque[T] = deque(maxlen=maxsize)
        self._ready = threading.Condition()
        self.dropped = 0

    def put(self, item: T) -> bool:
        """Append; returns True when the oldest item was dropped to make room."""
        with self._ready:
            full = len(self._items) == self._items.maxlen
            self._items.append(item)
            self.dropped += int(full)
            self._ready.notify()
            return full

    def get(self, timeout: float) -> T | None:
        """Oldest item, or None when nothing arrives within `timeout` seconds."""
        with self._ready:
            if not self._items:
                self._ready.wait(timeout)
            return self._items.popleft() if self._items else None

    def clear(self) -> None:
        """Drop everything queued."""
        with self._ready:
            self._items.clear()

    def __len__(self) -> int:
        with self._ready:
            return len(self._items)


class GuiGate:
    """Limits how many frames a worker has sent to the GUI that the GUI has not shown yet.

    Qt queues cross-thread signals without bound; a worker asks `try_enter` before emitting a frame and
    the GUI calls `leave` once it has shown it, so a busy GUI drops frames instead of piling them up.
    """

    def __init__(self, limit: int = 2) -> None:
        self._limit = limit
        self._in_flight = 0
        self._lock = threading.Lock()

    def try_enter(self) -> bool:
        """True (and counted) when another frame may be sent now."""
        with self._lock:
            if self._in_flight >= self._limit:
                return False
            self._in_flight += 1
            return True

    def leave(self) -> None:
        """The GUI has handled one frame."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)


class RateMeter:
    """Events per second over the last `window` seconds.

    Frames may arrive in bursts (Knot Forcing emits a chunk at once), so the rate is events in the window over
    the time the window covers, never over the gap between the first and last event of a burst.
    """

    def __init__(self, window: float = 2.0, min_span: float = 0.5) -> None:
        self._window = window
        self._min_span = min_span
        self._times: deque[float] = deque()
        self._first: float | None = None

    def tick(self, now: float | None = None) -> None:
        """Count one event."""
        now = time.monotonic() if now is None else now
        if self._first is None:
            self._first = now
        self._times.append(now)
        self._expire(now)

    def _expire(self, now: float) -> None:
        while self._times and now - self._times[0] > self._window:
            self._times.popleft()

    def rate(self, now: float | None = None) -> float:
        """Events per second; 0 with fewer than two events in the window."""
        now = time.monotonic() if now is None else now
        self._expire(now)
        if len(self._times) < 2 or self._first is None:
            return 0.0
        covered = max(self._min_span, min(self._window, now - self._first))
        return (len(self._times) - 1) / covered
