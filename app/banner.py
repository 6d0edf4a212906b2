"""ProblemBanner: a bar over the previews naming what is wrong with the source, the portrait or the engine,
with the buttons that fix it. A problem stays until whoever reported it says it is resolved; an announcement
(the demo-clip fallback) stays for several seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

ANNOUNCEMENT_MS = 8000

Action = tuple[str, Callable[[], None]]  # button text, what it does


@dataclass
class _Problem:
    sentence: str
    actions: list[Action]
    announcement: bool


class ProblemBanner(QFrame):
    """Shows the latest unresolved problem of each kind (source, portrait, engine...), newest on top."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._problems: dict[str, _Problem] = {}  # in the order reported; the last one is shown
        self._timers: dict[str, QTimer] = {}
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(10, 6, 10, 6)
        self._layout.addWidget(self.label, 1)
        self.buttons: list[QPushButton] = []
        self.setAutoFillBackground(True)
        self.hide()

    def show_problem(self, kind: str, sentence: str, actions: list[Action] | None = None,
                     announcement: bool = False) -> None:
        """Show `sentence` (replacing an earlier one of the same kind) until `resolve(kind)`; an announcement
        hides itself after ANNOUNCEMENT_MS."""
        self._problems.pop(kind, None)
        self._problems[kind] = _Problem(sentence, list(actions or []), announcement)
        timer = self._timers.pop(kind, None)
        if timer is not None:
            timer.stop()
        if announcement:
            timer = QTimer(self)
            timer.setSingleShot(True)
            timer.timeout.connect(lambda: self.resolve(kind))
            timer.start(ANNOUNCEMENT_MS)
            self._timers[kind] = timer
        self._refresh()

    def resolve(self, kind: str) -> None:
        """The problem of `kind` is gone (the source works again...): hide it."""
        if self._problems.pop(kind, None) is not None:
            timer = self._timers.pop(kind, None)
            if timer is not None:
                timer.stop()
            self._refresh()

    def kinds(self) -> list[str]:
        """Kinds of the problems still open, oldest first."""
        return list(self._problems)

    def text(self) -> str:
        """The sentence shown, '' when the banner is hidden."""
        return self.label.text() if self._problems else ""

    def button_texts(self) -> list[str]:
        """The action buttons shown."""
        return [b.text() for b in self.buttons]

    def _refresh(self) -> None:
        for button in self.buttons:
            self._layout.removeWidget(button)
            button.deleteLater()
        self.buttons = []
        if not self._problems:
            self.label.clear()
            self.hide()
            return
        problem = list(self._problems.values())[-1]
        self.label.setText(problem.sentence)
        colour = "#2c4a6e" if problem.announcement else "#7a2a22"
        self.setStyleSheet(f"ProblemBanner {{ background: {colour}; border-radius: 4px; }}"
                           " QLabel { color: white; }")
        for text, slot in problem.actions:
            button = QPushButton(text)
            button.clicked.connect(slot)
            self._layout.addWidget(button)
            self.buttons.append(button)
        self.show()
        self.raise_()
        if self.parentWidget() is not None:
            self.place(self.parentWidget().width())

    def place(self, width: int) -> None:
        """Lay the banner over the top edge of a parent `width` pixels wide (it never moves the previews)."""
        margin = 8
        inner = max(100, width - 2 * margin)
        self.setGeometry(margin, margin, inner, self._layout.totalHeightForWidth(inner)
                         if self._layout.hasHeightForWidth() else self.sizeHint().height())
