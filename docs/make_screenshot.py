"""Take docs/screenshot.png of the real window (Knot Forcing, demo clip) once frames flow.

Run from the repo root under a virtual screen: xvfb-run -s "-screen 0 1280x800x24" .venv/bin/python docs/make_screenshot.py
(or, where no X server exists, with QT_QPA_PLATFORM=offscreen, as the current picture was taken).
"""
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, ".")
from app.main import create_application  # noqa: E402

app = create_application([])
from PySide6.QtCore import QTimer  # noqa: E402

from app.main_window import MainWindow  # noqa: E402
from app.testing import temporary_settings  # noqa: E402

settings = temporary_settings(Path(tempfile.mkdtemp()), animator="knot", overlay=True, output_size=(1280, 720))
window = MainWindow(settings)
window.resize(1280, 760)
window.show()


def grab() -> None:
    if window.avatar_view.frames_shown < 75 or not all(
        not window.portrait_panel.bundled.item(i).icon().isNull() for i in range(window.portrait_panel.bundled.count())
    ):
        return
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot.png")
    window.grab().save(str(out))
    print("saved", out, window.grab().size(), window.fps_label.text(), window.latency_label.text())
    window.close()
    app.quit()


timer = QTimer()
timer.timeout.connect(grab)
timer.start(100)
QTimer.singleShot(60000, app.quit)
app.exec()
