"""The Qt binding itself must be fit for a window that runs for hours.

PySide6 6.12.0 on Python 3.11 drops a reference to None on every void method call and to True/False on every
signal emit; the window makes hundreds of such calls a second, so the process aborted ("deallocating None")
after about two minutes. The pinned version must not do that.
"""

import sys

from app.testing import prepare_qt_environment

prepare_qt_environment()  # before pytest-qt creates the QApplication

from PySide6.QtCore import QObject, QRectF, Signal  # noqa: E402
from PySide6.QtGui import QColor, QImage, QPainter  # noqa: E402
from PySide6.QtWidgets import QLabel  # noqa: E402

CALLS = 5000


class _Emitter(QObject):
    frame = Signal(object)


def test_qt_calls_do_not_leak_references_to_none_or_bools(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    emitter = _Emitter()
    emitter.frame.connect(lambda _: None)
    image = QImage(32, 32, QImage.Format.Format_RGB888)
    painter = QPainter(image)
    try:
        before = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
        for i in range(CALLS):
            label.setText("frame")
            label.update()
            emitter.frame.emit(i)
            painter.fillRect(QRectF(0, 0, 4, 4), QColor(10, 20, 30))
        after = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
    finally:
        painter.end()
    # A leak loses one reference per call (>= CALLS); allow unrelated interpreter noise.
    assert all(a - b > -CALLS // 10 for a, b in zip(after, before, strict=True)), (before, after)
