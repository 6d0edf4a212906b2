"""The base of the app's worker threads: a QThread with a stop flag and a queue of commands run inside it."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QThread, Signal

from engine.errors import KnotCamError

POLL_S = 0.05  # how long a worker blocks at most before it looks at its stop flag and commands again


class StoppableThread(QThread):
    """A QThread whose loop ends soon after `request_stop`; commands run inside the thread, in order."""

    failed = Signal(str)  # one sentence for the window

    def __init__(self) -> None:
        super().__init__()
        self._stop_event = threading.Event()
        self._commands: deque[Callable[[], None]] = deque()

    def request_stop(self) -> None:
        """Ask the loop to end; returns at once."""
        self._stop_event.set()

    def stopping(self) -> bool:
        """True once a stop was requested."""
        return self._stop_event.is_set()

    def stop(self, timeout_ms: int = 2000) -> bool:
        """Request a stop and wait up to `timeout_ms`; True when the thread has ended."""
        self.request_stop()
        return self.wait(timeout_ms)

    def _post(self, command: Callable[[], None]) -> None:
        self._commands.append(command)

    def _run_commands(self) -> None:
        while self._commands:
            command = self._commands.popleft()
            try:
                command()
            except KnotCamError as err:
                self.failed.emit(str(err))
