"""Text of the About box: what KnotCam is, the versions it runs on, and the bundled assets' licences."""

from __future__ import annotations

import platform
import re
from importlib import metadata
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from app import texts

# Distribution names as pip knows them; read from metadata so the About box never imports torch.
COMPONENTS = (
    ("PySide6", "PySide6-Essentials"),
    ("NumPy", "numpy"),
    ("OpenCV", "opencv-contrib-python"),
    ("MediaPipe", "mediapipe"),
    ("PyTorch", "torch"),
    ("pyvirtualcam", "pyvirtualcam"),
)


def versions() -> list[tuple[str, str]]:
    """(component, version) for Python, Qt and the main libraries; 'not installed' where missing."""
    from PySide6.QtCore import qVersion

    rows = [("KnotCam", _version("knotcam")), ("Python", platform.python_version()), ("Qt", qVersion())]
    return rows + [(label, _version(dist)) for label, dist in COMPONENTS]


def about_markdown(assets_readme: Path) -> str:
    """Markdown for the About box; the asset section is assets/README.md as shipped."""
    table = "\n".join(f"- {name}: {version}" for name, version in versions())
    notes = assets_readme.read_text(encoding="utf-8") if assets_readme.is_file() else texts.ABOUT_NO_ASSET_NOTES
    # Demote the notes' headings so they sit under ours.
    notes = "\n".join("#" + line if line.startswith("#") else line for line in notes.splitlines())
    return (f"## {texts.APP_NAME}\n\n{texts.ABOUT_INTRO}\n\n### {texts.ABOUT_VERSIONS}\n\n{table}\n\n"
            f"### {texts.ABOUT_ASSETS}\n\n{notes}\n")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        if dist == "knotcam":
            return _checkout_version()
        return "not installed"


def _checkout_version() -> str:
    """Version from pyproject.toml when running from a source checkout (no installed metadata)."""
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        found = re.search(r'^version\s*=\s*"([^"]+)"', pyproject.read_text(encoding="utf-8"), re.MULTILINE)
    except OSError:
        found = None
    return found.group(1) if found else "unknown"


ABOUT_SIZE = (620, 560)  # fits a 1280x720 screen with its taskbar; the text scrolls inside


class AboutBox(QDialog):
    """The About text in a scrolling view, with an OK button that is always on screen."""

    def __init__(self, markdown: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(texts.ABOUT_TITLE)
        self._markdown = markdown
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setMarkdown(markdown)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(*ABOUT_SIZE)

    def text(self) -> str:
        """The About text, as markdown."""
        return self._markdown

    def textFormat(self) -> Qt.TextFormat:  # noqa: N802 (the QMessageBox name it replaced)
        """Always markdown."""
        return Qt.TextFormat.MarkdownText

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(*ABOUT_SIZE)


def open_about_box(parent: QWidget | None, assets_readme: Path) -> AboutBox:
    """Open the About box over `parent` (non-blocking); returns the dialog."""
    box = AboutBox(about_markdown(assets_readme), parent)
    box.open()
    return box
