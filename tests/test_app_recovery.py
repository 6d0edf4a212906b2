"""The next start after a crash: the window offers the take a SIGKILL cut short, and recovers it off the GUI thread."""

import os
import time

from app.testing import prepare_qt_environment

prepare_qt_environment()  # before pytest-qt creates the QApplication

from app.main_window import MainWindow  # noqa: E402
from app.testing import temporary_settings  # noqa: E402
from engine.recovery import unfinished_recordings  # noqa: E402


def test_the_next_start_offers_the_killed_take_and_recovers_it_without_blocking(qtbot, killed_take):
    folder, _, ext = killed_take
    part = unfinished_recordings(folder, now=time.time() + 60)[0]
    os.utime(part, (time.time() - 120, time.time() - 120))  # the crash was minutes ago
    window = MainWindow(temporary_settings(folder))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.recovery.dialog is not None and window.recovery.dialog.isVisible(), timeout=10000)
    assert f"call{ext}" in window.recovery.dialog.text()
    window.recovery.dialog.buttons()[0].click()  # Recover (the default button)
    qtbot.waitUntil(lambda: bool(window.recovery.outcomes), timeout=30000)
    assert window.recovery.outcomes == [f"Recovered {folder / f'call (recovered){ext}'}."]
    assert (folder / f"call (recovered){ext}").is_file() and not part.exists()
