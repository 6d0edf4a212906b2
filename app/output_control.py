"""OutputControl: the virtual camera and the recording, between the output panel and the output worker.

The panel's toggles become requests to the output worker; its answers come back into the panel, the camera
menu action, the camera's status label and, when the camera cannot start, a non-blocking dialog.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox, QWidget

from app import texts
from app.controls import OutputPanel
from app.output_worker import OutputWorker
from app.settings import Preferences
from engine.output_file import CONTAINERS, RECORDING_EXTENSION


class OutputControl(QObject):
    """Starts and stops the virtual camera and the recording, and shows how they went."""

    def __init__(self, window: QWidget, panel: OutputPanel, output: OutputWorker, prefs: Preferences,
                 camera_label: QLabel, camera_action: QAction, status: Callable[[str, int], None],
                 message_ms: int) -> None:
        super().__init__(window)
        self.window, self.panel, self.output, self.prefs = window, panel, output, prefs
        self.camera_label, self.camera_action = camera_label, camera_action
        self._status, self._message_ms = status, message_ms
        self.camera_dialog: QMessageBox | None = None
        self._camera_size = (0, 0)
        self._camera_device = ""
        panel.camera.toggled.connect(self._on_camera_toggled)
        panel.record.toggled.connect(self._on_record_toggled)
        panel.format_changed.connect(self._on_format_changed)
        output.camera_started.connect(self._on_camera_started)
        output.camera_failed.connect(self._on_camera_failed)
        output.camera_fps.connect(self._on_camera_fps)
        output.recording_started.connect(self._on_recording_started)
        output.recording_finished.connect(self._on_recording_finished)
        output.recording_failed.connect(self._on_recording_failed)

    # ---- virtual camera -----------------------------------------------------------------------------------
    def start_camera(self) -> None:
        """Open the virtual camera at the chosen size and rate (answer comes back by signal)."""
        width, height, fps = self.panel.output_format()
        self.panel.set_camera_running(True)
        self.camera_label.setText(texts.CAMERA_STARTING)
        self.output.start_camera(width, height, fps)

    def stop_camera(self) -> None:
        """Close the virtual camera."""
        self.panel.set_camera_running(False)
        self.camera_label.setText(texts.CAMERA_OFF)
        self.output.stop_camera()

    def _on_camera_toggled(self, on: bool) -> None:
        self.start_camera() if on else self.stop_camera()

    def _on_format_changed(self, width: int, height: int, fps: int) -> None:
        self.prefs.output_size, self.prefs.output_fps = (width, height), fps
        if self.panel.camera.isChecked():
            self.start_camera()

    def _on_camera_started(self, device: str, width: int, height: int) -> None:
        self._camera_device, self._camera_size = device, (width, height)
        self.camera_action.setText(texts.STOP_CAMERA)
        self._on_camera_fps(0.0)

    def _on_camera_fps(self, fps: float) -> None:
        width, height = self._camera_size
        self.camera_label.setText(
            texts.CAMERA_RUNNING.format(device=self._camera_device, width=width, height=height, fps=fps))

    def _on_camera_failed(self, guidance: str, details: str) -> None:
        self.panel.set_camera_running(False)
        self.camera_action.setText(texts.START_CAMERA)
        self.camera_label.setText(texts.CAMERA_OFF)
        dialog = QMessageBox(QMessageBox.Icon.Warning, texts.ERROR_TITLE, guidance, QMessageBox.StandardButton.Ok,
                             self.window)
        dialog.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # copy the modprobe line
        if details:
            dialog.setDetailedText(details)
        self.camera_dialog = dialog
        dialog.open()  # window-modal, returns at once: the previews keep running

    # ---- recording ----------------------------------------------------------------------------------------
    def start_recording(self, path: str) -> None:
        """Record the avatar in real time at the output size and rate into `path` (there when recording stops)."""
        width, height, fps = self.panel.output_format()
        self.panel.set_recording(True)
        self.prefs.recording_folder = str(Path(path).parent)
        self.output.start_recording(path, fps, (width, height))

    def stop_recording(self) -> None:
        """Finish the recording."""
        self.output.stop_recording()

    def _on_record_toggled(self, on: bool) -> None:
        if not on:
            self.stop_recording()
            return
        folder = Path(self.prefs.recording_folder) if self.prefs.recording_folder else Path.home()
        suggestion = str(folder / time.strftime(f"knotcam-%Y%m%d-%H%M%S{RECORDING_EXTENSION}"))
        path, _ = QFileDialog.getSaveFileName(self.window, texts.RECORD_DIALOG, suggestion, texts.RECORD_FILE_FILTER)
        if path:
            self.start_recording(path if Path(path).suffix.lower() in CONTAINERS else path + RECORDING_EXTENSION)
        else:
            self.panel.set_recording(False)

    def _on_recording_started(self, path: str) -> None:
        self._status(texts.RECORDING.format(name=Path(path).name), 0)

    def _on_recording_finished(self, path: str) -> None:
        self.panel.set_recording(False)
        self._status(texts.RECORD_SAVED.format(path=path), self._message_ms)

    def _on_recording_failed(self, sentence: str) -> None:
        self.panel.set_recording(False)
        self._status(sentence, 2 * self._message_ms)
