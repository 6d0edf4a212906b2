"""RecordingIndicator: a red dot and the elapsed time while the avatar is being recorded."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QWidget

from app import texts


def elapsed_text(seconds: float) -> str:
    """'0:07', '12:34', '1:02:03' for a recording `seconds` long."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class RecordingIndicator(QLabel):
    """Hidden until a recording starts; then '● REC m:ss', ticking every second, until it ends."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet("color: #e02020; font-weight: bold;")
        self._started: float | None = None
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self.hide()

    def start(self) -> None:
        """A recording began now."""
        self._started = time.monotonic()
        self._tick()
        self._timer.start(250)
        self.show()

    def stop(self) -> None:
        """The recording ended (saved or failed)."""
        self._started = None
        self._timer.stop()
        self.hide()

    def elapsed_s(self) -> float:
        """Seconds since the recording started, 0 when none runs."""
        return 0.0 if self._started is None else time.monotonic() - self._started

    def _tick(self) -> None:
        self.setText(texts.RECORDING_INDICATOR.format(elapsed=elapsed_text(self.elapsed_s())))
