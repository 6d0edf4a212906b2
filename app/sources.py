"""Where driving frames come from: a webcam (by index) or a video file, and how to list webcams."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

# Our own virtual camera shows up as a webcam too; offering it as a driving source would loop the avatar.
_OWN_CAMERA_LABELS = ("knotcam",)


@dataclass(frozen=True)
class SourceSpec:
    """A driving source choice: 'auto' (webcam 0 if it delivers a frame, else the demo clip), 'webcam', 'file'."""

    kind: str = "auto"
    webcam_index: int = 0
    path: str = ""

    def describe(self) -> str:
        """Short label for logs and the status bar."""
        if self.kind == "webcam":
            return f"webcam {self.webcam_index}"
        if self.kind == "file":
            return Path(self.path).name
        return "automatic"


@dataclass(frozen=True)
class WebcamInfo:
    """A webcam the OS lists: the index cv2.VideoCapture takes and a human name."""

    index: int
    name: str


def list_webcams(sysfs: Path = Path("/sys/class/video4linux")) -> list[WebcamInfo]:
    """Webcams with names where the OS gives them (Linux sysfs); elsewhere indices 0-3 without probing.

    Never opens a device, so it is cheap enough for the GUI thread.
    """
    if platform.system() != "Linux":
        return [WebcamInfo(i, f"Camera {i}") for i in range(4)]
    cams = []
    for node in sorted(sysfs.glob("video*"), key=lambda p: int(p.name[5:]) if p.name[5:].isdigit() else 1 << 30):
        if not node.name[5:].isdigit():
            continue
        name = _read(node / "name") or node.name
        # A capture device exposes several nodes (metadata...); the one with index 0 delivers frames.
        if _read(node / "index") not in ("", "0") or name.lower().startswith(_OWN_CAMERA_LABELS):
            continue
        cams.append(WebcamInfo(int(node.name[5:]), name))
    return cams


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""
