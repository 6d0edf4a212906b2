"""User preferences kept with QSettings: last portrait, recent portraits, source, engine, output, geometry."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QByteArray, QSettings

from app.sources import SourceSpec
from engine.config import PRESETS as ENGINE_PRESETS

OUTPUT_SIZES: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720), (1920, 1080))
OUTPUT_FPS: tuple[int, ...] = (15, 24, 30, 60)
PRESETS: tuple[str, ...] = tuple(ENGINE_PRESETS)
ANIMATORS: tuple[str, ...] = ("knot", "warp")
MAX_RECENT = 8
MAX_ZOOM = 2.5  # output framing: at most this much closer than head and shoulders


@dataclass
class Preferences:
    """Everything restored at start. Paths are strings so they survive the ini format unchanged."""

    portrait: str = ""  # empty: the bundled default
    recent_portraits: list[str] = field(default_factory=list)
    source: SourceSpec = field(default_factory=SourceSpec)
    mirror: bool = True
    animator: str = "knot"
    preset: str = "tiny"
    device: str = "cpu"  # until the user picks one: the GPU where torch can use one (see AppSettings.load)
    output_size: tuple[int, int] = (1280, 720)
    output_fps: int = 30
    overlay: bool = False
    avatar_only: bool = False
    framing_zoom: float = 1.0  # head and shoulders at 1; closer above
    full_photo: bool = False  # send the whole photo instead of the head-and-shoulders framing
    recording_folder: str = ""  # where the last recording went (empty: the home folder); searched for takes a
    # crash cut short at the next start (engine/recovery.py)
    geometry: QByteArray = field(default_factory=QByteArray)

    def remember_portrait(self, path: str) -> None:
        """Make `path` the last portrait and the first of the recent list."""
        self.portrait = path
        self.recent_portraits = [path] + [p for p in self.recent_portraits if p != path][: MAX_RECENT - 1]


class AppSettings:
    """Reads and writes Preferences through a QSettings (the platform store, or an ini file in tests)."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.qsettings = qsettings or QSettings("KnotCam", "KnotCam")

    def load(self) -> Preferences:
        """Preferences as stored, with defaults for anything missing or malformed."""
        s, d = self.qsettings, Preferences()
        width, height = _int(s.value("output/width"), d.output_size[0]), _int(s.value("output/height"), 0)
        size = (width, height) if (width, height) in OUTPUT_SIZES else d.output_size
        fps = _int(s.value("output/fps"), d.output_fps)
        kind = _str(s.value("source/kind"), d.source.kind)
        geometry = s.value("window/geometry")
        return Preferences(
            portrait=_str(s.value("portrait/last"), d.portrait),
            recent_portraits=_str_list(s.value("portrait/recent"))[:MAX_RECENT],
            source=SourceSpec(
                kind=kind if kind in ("auto", "webcam", "file") else "auto",
                webcam_index=_int(s.value("source/webcam_index"), 0),
                path=_str(s.value("source/path"), ""),
            ),
            mirror=_bool(s.value("source/mirror"), d.mirror),
            animator=_choice(s.value("engine/animator"), ANIMATORS, d.animator),
            preset=_choice(s.value("engine/preset"), PRESETS, d.preset),
            device=_choice(s.value("engine/device"), ("cpu", "cuda"), "") or _first_device(),
            output_size=size,
            output_fps=fps if fps in OUTPUT_FPS else d.output_fps,
            overlay=_bool(s.value("view/overlay"), d.overlay),
            avatar_only=_bool(s.value("view/avatar_only"), d.avatar_only),
            framing_zoom=min(MAX_ZOOM, max(1.0, _float(s.value("output/zoom"), d.framing_zoom))),
            full_photo=_bool(s.value("output/full_photo"), d.full_photo),
            recording_folder=_str(s.value("output/recording_folder"), d.recording_folder),
            geometry=geometry if isinstance(geometry, QByteArray) else QByteArray(),
        )

    def save(self, prefs: Preferences) -> None:
        """Write all preferences and flush them to the store."""
        s = self.qsettings
        s.setValue("portrait/last", prefs.portrait)
        s.setValue("portrait/recent", list(prefs.recent_portraits))
        s.setValue("source/kind", prefs.source.kind)
        s.setValue("source/webcam_index", prefs.source.webcam_index)
        s.setValue("source/path", prefs.source.path)
        s.setValue("source/mirror", prefs.mirror)
        s.setValue("engine/animator", prefs.animator)
        s.setValue("engine/preset", prefs.preset)
        s.setValue("engine/device", prefs.device)
        s.setValue("output/width", prefs.output_size[0])
        s.setValue("output/height", prefs.output_size[1])
        s.setValue("output/fps", prefs.output_fps)
        s.setValue("view/overlay", prefs.overlay)
        s.setValue("view/avatar_only", prefs.avatar_only)
        s.setValue("output/zoom", prefs.framing_zoom)
        s.setValue("output/full_photo", prefs.full_photo)
        s.setValue("output/recording_folder", prefs.recording_folder)
        s.setValue("window/geometry", prefs.geometry)
        s.sync()


# QSettings hands back strings from ini files and native types elsewhere; these read either.
def _str(value: object, default: str) -> str:
    return value if isinstance(value, str) else default


def _int(value: object, default: int) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default


def _float(value: object, default: float) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default


def _bool(value: object, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return default


def _choice(value: object, choices: tuple[str, ...], default: str) -> str:
    return value if isinstance(value, str) and value in choices else default


def _str_list(value: object) -> list[str]:
    if isinstance(value, str):  # a one-element list comes back from ini files as a plain string
        return [value] if value else []
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str) and v]
    return []


def _first_device() -> str:
    """The device before the user chose one: CUDA when torch can use an NVIDIA GPU here, else the CPU."""
    from app.engine_choice import cuda_available  # imports torch: only when no device is stored

    return "cuda" if cuda_available() else "cpu"
