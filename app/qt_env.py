"""Keep OpenCV's bundled Qt from shadowing PySide6's: undo what `import cv2` does to the Qt environment."""

from __future__ import annotations

import os
from collections.abc import MutableMapping

# opencv-python sets these on import to its own Qt5 plugins and fonts; PySide6 (Qt6) must not use them.
CV2_QT_VARIABLES = ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR")


def _inside(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([os.path.realpath(path), os.path.realpath(folder)]) == os.path.realpath(folder)
    except ValueError:  # different drives on Windows
        return False


def undo_cv2_qt_environment(environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Remove Qt variables that point inside the cv2 package; returns the names removed.

    Call before creating the QApplication. Variables the user set to other places are kept.
    """
    environ = os.environ if environ is None else environ
    try:
        import cv2
    except ImportError:
        return []
    cv2_dir = os.path.dirname(os.path.abspath(cv2.__file__))
    removed = []
    for name in CV2_QT_VARIABLES:
        value = environ.get(name)
        if value and _inside(value, cv2_dir):
            del environ[name]
            removed.append(name)
    return removed
