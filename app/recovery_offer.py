"""RecoveryOffer: at start, offer to save the takes a crash cut short (engine/recovery.py), off the GUI thread.

The question is a window-modal dialog that returns at once (the previews keep running); the remux runs on a
plain thread and its outcome comes back by signal into the status bar.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from app import texts
from engine.recovery import discard, intended_name, recover, unfinished_recordings


class RecoveryOffer(QObject):
    """Asks once about the part files in `folder`; `finished` carries one status sentence per part."""

    finished = Signal(str)

    def __init__(self, window: QWidget, folder: str | Path, status: Callable[[str, int], None],
                 message_ms: int) -> None:
        super().__init__(window)
        self.window, self.parts = window, unfinished_recordings(folder)
        self.dialog: QMessageBox | None = None
        self._thread: threading.Thread | None = None
        self._status, self._message_ms = status, message_ms
        self.outcomes: list[str] = []  # the sentences shown, in order
        self.finished.connect(self._show)  # a method of this QObject: delivered on the GUI thread

    def ask(self) -> None:
        """Show the question when there is something to recover (non-blocking)."""
        if not self.parts:
            return
        names = ", ".join(intended_name(p) for p in self.parts)
        dialog = QMessageBox(QMessageBox.Icon.Question, texts.RECOVER_TITLE, texts.RECOVER_QUESTION.format(names=names),
                             QMessageBox.StandardButton.NoButton, self.window)
        recover_button = dialog.addButton(texts.RECOVER_BUTTON, QMessageBox.ButtonRole.AcceptRole)
        dialog.addButton(QMessageBox.StandardButton.Discard)
        dialog.setDefaultButton(recover_button)
        dialog.finished.connect(lambda _: self.answer(dialog.clickedButton() is recover_button))
        self.dialog = dialog
        dialog.open()

    def answer(self, keep: bool) -> None:
        """Recover (keep=True) or delete the parts, on a worker thread."""
        parts, self.parts = self.parts, []
        self._thread = threading.Thread(target=self._work, args=(parts, keep), name="recovery", daemon=True)
        self._thread.start()

    def _show(self, sentence: str) -> None:
        self.outcomes.append(sentence)
        self._status(sentence, 2 * self._message_ms)

    def _work(self, parts: list[Path], keep: bool) -> None:
        for part in parts:
            if not keep:
                discard(part)
                continue
            saved, _ = recover(part)
            self.finished.emit(texts.RECOVERED.format(saved=saved) if saved
                               else texts.RECOVER_NOTHING.format(name=intended_name(part)))

