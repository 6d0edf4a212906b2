"""AvatarPacer: shows avatar frames about one output period apart, since a Knot Forcing chunk arrives at once."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer


class AvatarPacer(QObject):
    """Holds up to `burst` avatar frames and hands them to `show` one `period()` apart; on time, at once."""

    def __init__(self, show: Callable[[object], None], period: Callable[[], float], burst: int,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._show = show
        self._period = period
        self._backlog: deque = deque(maxlen=burst)  # AvatarFrames waiting for their display slot
        self._last_shown = 0.0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._show_next)

    def push(self, frame) -> None:
        """One AvatarFrame in; shown now when it is on time, else queued behind the others."""
        self._backlog.append(frame)
        if len(self._backlog) == 1 and time.monotonic() - self._last_shown >= 0.8 * self._period():
            self._show_next()  # on time: show at once, no added latency
        elif not self._timer.isActive():
            self._timer.start(max(1, int(self._period() * 1000)))

    def _show_next(self) -> None:
        if not self._backlog:
            self._timer.stop()
            return
        frame = self._backlog.popleft()
        self._last_shown = time.monotonic()
        self._show(frame)
