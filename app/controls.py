"""Control panels of the window: driving source, preview options, engine choice, output. Each only emits
what the user chose; the window decides what to do with it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app import texts
from app.engine_choice import AnimatorChoice
from app.settings import MAX_ZOOM, OUTPUT_FPS, OUTPUT_SIZES, PRESETS
from app.sources import SourceSpec, WebcamInfo
from engine.assets import DEMO_CLIP, default_weights_path

OPEN_FILE = "open-file"  # combo item data of the "Video file..." entry


def _index_of(combo: QComboBox, value: object) -> int:
    """Index of the item whose data equals `value` (Python equality; findData does not use it), or -1."""
    return next((i for i in range(combo.count()) if combo.itemData(i) == value), -1)


class SourcePanel(QGroupBox):
    """Webcam list / demo clip / video file, mirror toggle, Calibrate neutral face."""

    source_chosen = Signal(object)  # SourceSpec
    open_file_requested = Signal()
    mirror_toggled = Signal(bool)
    calibrate_clicked = Signal()

    def __init__(self, webcams: list[WebcamInfo], parent: QWidget | None = None) -> None:
        super().__init__(texts.SOURCE_GROUP, parent)
        self.combo = QComboBox()
        self.mirror = QCheckBox(texts.MIRROR)
        self.mirror.setToolTip(texts.MIRROR_TIP)
        self.calibrate = QPushButton(texts.CALIBRATE)
        self.calibrate.setToolTip(texts.CALIBRATE_TIP)
        layout = QVBoxLayout(self)
        for widget in (self.combo, self.mirror, self.calibrate):
            layout.addWidget(widget)

        self.combo.addItem(texts.SOURCE_AUTO, SourceSpec("auto"))
        for cam in webcams:
            self.combo.addItem(texts.SOURCE_WEBCAM.format(index=cam.index, name=cam.name),
                               SourceSpec("webcam", webcam_index=cam.index))
        self.combo.addItem(texts.SOURCE_DEMO_CLIP, SourceSpec("file", path=str(DEMO_CLIP)))
        self.combo.addItem(texts.SOURCE_VIDEO_FILE, OPEN_FILE)
        self._current = 0
        self.combo.activated.connect(self._on_activated)
        self.mirror.toggled.connect(self.mirror_toggled)
        self.calibrate.clicked.connect(self.calibrate_clicked)

    def set_source(self, spec: SourceSpec) -> None:
        """Select `spec` in the list (adding a file entry if needed) without emitting."""
        index = _index_of(self.combo, spec)
        if index < 0:
            label = (texts.SOURCE_FILE.format(name=Path(spec.path).name) if spec.kind == "file"
                     else texts.SOURCE_WEBCAM.format(index=spec.webcam_index, name=""))
            index = self.combo.count() - 1  # before "Video file..."
            self.combo.insertItem(index, label, spec)
        with QSignalBlocker(self.combo):
            self.combo.setCurrentIndex(index)
        self._current = index

    def _on_activated(self, index: int) -> None:
        data = self.combo.itemData(index)
        if data == OPEN_FILE:
            with QSignalBlocker(self.combo):
                self.combo.setCurrentIndex(self._current)
            self.open_file_requested.emit()
        elif index != self._current:
            self._current = index
            self.source_chosen.emit(data)


class ViewPanel(QGroupBox):
    """Landmark overlay and avatar-only toggles."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(texts.VIEW_GROUP, parent)
        self.overlay = QCheckBox(texts.OVERLAY)
        self.avatar_only = QCheckBox(texts.AVATAR_ONLY)
        layout = QVBoxLayout(self)
        layout.addWidget(self.overlay)
        layout.addWidget(self.avatar_only)


class EnginePanel(QGroupBox):
    """Animator (Knot Forcing / warp), preset, device (CUDA offered once the engine found it)."""

    animator_chosen = Signal(object)  # AnimatorChoice

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(texts.ENGINE_GROUP, parent)
        self.animator = QComboBox()
        self.animator.addItem(texts.ANIMATOR_KNOT, "knot")
        self.animator.addItem(texts.ANIMATOR_WARP, "warp")
        self.preset = QComboBox()
        for name in PRESETS:
            self.preset.addItem(name, name)
            if not default_weights_path(name).is_file():  # offered for what it is, not selectable
                index = self.preset.count() - 1
                self.preset.setItemText(index, texts.PRESET_NO_WEIGHTS.format(name=name))
                self.preset.setItemData(index, texts.PRESET_NO_WEIGHTS_TIP.format(name=name),
                                        Qt.ItemDataRole.ToolTipRole)
                self.preset.model().item(index).setEnabled(False)
        self.device = QComboBox()
        self.device.addItem("CPU", "cpu")
        self.active = QLabel("")
        self.active.setWordWrap(True)
        layout = QFormLayout(self)
        layout.addRow(self.animator)
        layout.addRow(texts.PRESET, self.preset)
        layout.addRow(texts.DEVICE, self.device)
        layout.addRow(self.active)
        for combo in (self.animator, self.preset, self.device):
            combo.activated.connect(self._emit)
        self._sync_enabled()

    def selectable_presets(self) -> list[str]:
        """Presets the user can pick (those with weights)."""
        model = self.preset.model()
        return [self.preset.itemData(i) for i in range(self.preset.count()) if model.item(i).isEnabled()]

    def choice(self) -> AnimatorChoice:
        """What the panel shows now."""
        return AnimatorChoice(self.animator.currentData(), self.preset.currentData(), self.device.currentData())

    def set_choice(self, choice: AnimatorChoice) -> None:
        """Show `choice` without emitting."""
        if choice.device == "cuda":
            self.offer_cuda(True)
        for combo, value in ((self.animator, choice.kind), (self.preset, choice.preset), (self.device, choice.device)):
            with QSignalBlocker(combo):
                combo.setCurrentIndex(max(0, _index_of(combo, value)))
        self._sync_enabled()

    def show_active(self, label: str, notice: str) -> None:
        """Which animator runs now, and why it is not the chosen one (notice, may be '')."""
        self.active.setText(texts.ANIMATOR_ACTIVE.format(name=label) + (f"\n{notice}" if notice else ""))
        self.active.setStyleSheet("color: #d08030;" if notice else "")

    def offer_cuda(self, available: bool) -> None:
        """Add the CUDA device choice when torch sees a GPU."""
        if available and self.device.findData("cuda") < 0:
            self.device.addItem("CUDA", "cuda")

    def _emit(self) -> None:
        self._sync_enabled()
        self.animator_chosen.emit(self.choice())

    def _sync_enabled(self) -> None:
        knot = self.animator.currentData() == "knot"
        self.preset.setEnabled(knot)
        self.device.setEnabled(knot)


class OutputPanel(QGroupBox):
    """Output size and rate, framing (head-and-shoulders zoom, or the full photo), the virtual camera toggle,
    and recording."""

    format_changed = Signal(int, int, int)  # width, height, fps
    framing_changed = Signal(object)  # zoom (float, 1 = head and shoulders), or None for the full photo

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(texts.OUTPUT_GROUP, parent)
        self.resolution = QComboBox()
        for w, h in OUTPUT_SIZES:
            self.resolution.addItem(f"{w} x {h}", (w, h))
        self.fps = QComboBox()
        for fps in OUTPUT_FPS:
            self.fps.addItem(str(fps), fps)
        self.camera = QPushButton(texts.START_CAMERA)
        self.camera.setCheckable(True)
        self.camera.setToolTip(texts.CAMERA_TIP)
        self.record = QPushButton(texts.RECORD)
        self.record.setCheckable(True)
        self.record.setToolTip(texts.RECORD_TIP)
        self.zoom = QSlider(Qt.Orientation.Horizontal)
        self.zoom.setRange(100, int(MAX_ZOOM * 100))
        self.zoom.setToolTip(texts.FRAMING_TIP)
        self.full_photo = QCheckBox(texts.FULL_PHOTO)
        self.full_photo.setToolTip(texts.FULL_PHOTO_TIP)
        layout = QFormLayout(self)
        layout.addRow(texts.RESOLUTION, self.resolution)
        layout.addRow(texts.FPS, self.fps)
        layout.addRow(texts.FRAMING, self.zoom)
        layout.addRow(self.full_photo)
        layout.addRow(self.camera)
        layout.addRow(self.record)
        self.resolution.activated.connect(self._emit_format)
        self.fps.activated.connect(self._emit_format)
        self.zoom.valueChanged.connect(self._emit_framing)
        self.full_photo.toggled.connect(self._emit_framing)

    def framing(self) -> float | None:
        """The zoom chosen (1 = head and shoulders), or None for the full photo."""
        return None if self.full_photo.isChecked() else self.zoom.value() / 100

    def set_framing(self, zoom: float, full_photo: bool) -> None:
        """Show this framing without emitting."""
        with QSignalBlocker(self.zoom), QSignalBlocker(self.full_photo):
            self.zoom.setValue(round(zoom * 100))
            self.full_photo.setChecked(full_photo)
        self.zoom.setEnabled(not full_photo)

    def _emit_framing(self) -> None:
        self.zoom.setEnabled(not self.full_photo.isChecked())
        self.framing_changed.emit(self.framing())

    def output_format(self) -> tuple[int, int, int]:
        """(width, height, fps) chosen."""
        w, h = self.resolution.currentData()
        return w, h, self.fps.currentData()

    def set_format(self, size: tuple[int, int], fps: int) -> None:
        """Show this size and rate without emitting."""
        for combo, value in ((self.resolution, size), (self.fps, fps)):
            with QSignalBlocker(combo):
                combo.setCurrentIndex(max(0, _index_of(combo, value)))

    def set_camera_running(self, running: bool) -> None:
        """Reflect the camera state on the toggle without emitting."""
        with QSignalBlocker(self.camera):
            self.camera.setChecked(running)
        self.camera.setText(texts.STOP_CAMERA if running else texts.START_CAMERA)

    def set_recording(self, recording: bool) -> None:
        """Reflect the recording state on the toggle without emitting."""
        with QSignalBlocker(self.record):
            self.record.setChecked(recording)
        self.record.setText(texts.STOP_RECORD if recording else texts.RECORD)

    def _emit_format(self) -> None:
        self.format_changed.emit(*self.output_format())
