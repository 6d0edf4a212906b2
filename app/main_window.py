"""The KnotCam window: composes the portrait panel, the two previews, the control panels and the status bar,
and wires them to the workers. It never calls the engine, the camera or the disk itself: it posts requests
to the workers and shows what comes back.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from app import texts
from app.about import about_markdown
from app.capture import CaptureWorker, WebcamOpener
from app.controls import EnginePanel, OutputPanel, SourcePanel, ViewPanel
from app.engine_choice import AnimatorChoice
from app.frame_view import FrameView
from app.portrait_loader import PortraitLoader
from app.portrait_picker import PortraitPanel, bundled_portraits
from app.queues import DropOldestQueue
from app.settings import AppSettings
from app.sinks import PreviewSink
from app.sources import DEFAULT_PORTRAIT, PORTRAITS_DIR, REPO_ROOT, SourceSpec, list_webcams
from app.workers import GenerationWorker, OutputWorker

STOP_TIMEOUT_S = 2.0
AVATAR_BURST = 4  # frames one animator step may deliver at once (a Knot Forcing chunk); queues hold that many
STATUS_MESSAGE_MS = 8000


@dataclass(frozen=True)
class WindowOptions:
    """Start-up choices that are not user preferences (tests and the command line set them)."""

    camera_backend: str | None = None  # pyvirtualcam backend name; None tries every backend of this OS
    camera_device: str | None = None  # virtual camera device name; None takes the first free one
    source: SourceSpec | None = None  # driving source instead of the saved one
    open_webcam: WebcamOpener | None = None  # opens a webcam by index (tests stand in for the device here)


class MainWindow(QMainWindow):
    """Portrait gallery | driving and avatar previews | source, view, engine and output controls."""

    def __init__(self, settings: AppSettings, options: WindowOptions | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.prefs = settings.load()
        self.active_portrait = None  # engine.animator.Portrait being animated
        self.active_portrait_path = ""
        self.camera_dialog: QMessageBox | None = None
        self.about_dialog: QMessageBox | None = None
        self._latency_s = 0.0
        self._camera_size = (0, 0)
        self._camera_device = ""
        self._pending_source: SourceSpec | None = None
        self._open_webcam = (options or WindowOptions()).open_webcam
        self.capture: CaptureWorker | None = None
        self._retiring: list[CaptureWorker] = []
        self._avatar_backlog: deque = deque(maxlen=AVATAR_BURST)  # AvatarFrames waiting for their display slot
        self._last_avatar_shown = 0.0
        self._avatar_pacer = QTimer(self)
        self._avatar_pacer.timeout.connect(self._show_next_avatar)
        self.setWindowTitle(texts.WINDOW_TITLE)
        self.setAcceptDrops(True)
        self._build_widgets()
        self._build_menus()
        self._restore_preferences()
        self._start_workers(options or WindowOptions())

    # ---- layout -------------------------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.portrait_panel = PortraitPanel(bundled_portraits(PORTRAITS_DIR))
        self.driving_view = FrameView(texts.DRIVING_TITLE)
        self.avatar_view = FrameView(texts.AVATAR_TITLE)
        self.preview_sink = PreviewSink(self.avatar_view)
        self.source_panel = SourcePanel(list_webcams())
        self.view_panel = ViewPanel()
        self.engine_panel = EnginePanel()
        self.output_panel = OutputPanel()

        controls = QVBoxLayout()
        for panel in (self.source_panel, self.view_panel, self.engine_panel, self.output_panel):
            controls.addWidget(panel)
        controls.addStretch(1)
        previews = QHBoxLayout()
        previews.addWidget(self.driving_view)
        previews.addWidget(self.avatar_view)
        central = QWidget()
        row = QHBoxLayout(central)
        row.addWidget(self.portrait_panel)
        row.addLayout(previews, 1)
        row.addLayout(controls)
        self.setCentralWidget(central)

        self.fps_label = QLabel(texts.GENERATION_FPS.format(fps=0))
        self.latency_label = QLabel(texts.LATENCY.format(ms=0))
        self.camera_label = QLabel(texts.CAMERA_OFF)
        for label in (self.fps_label, self.latency_label, self.camera_label):
            self.statusBar().addPermanentWidget(label)

        self.portrait_panel.portrait_requested.connect(self.load_portrait_file)
        self.source_panel.source_chosen.connect(self.set_source)
        self.source_panel.open_file_requested.connect(self._ask_for_video)
        self.source_panel.mirror_toggled.connect(self._on_mirror)
        self.source_panel.calibrate_clicked.connect(self.calibrate)
        self.view_panel.overlay.toggled.connect(self._on_overlay)
        self.view_panel.avatar_only.toggled.connect(self._on_avatar_only)
        self.engine_panel.animator_chosen.connect(self._on_animator_chosen)
        self.output_panel.camera.toggled.connect(self._on_camera_toggled)
        self.output_panel.record.toggled.connect(self._on_record_toggled)
        self.output_panel.format_changed.connect(self._on_format_changed)

    def _build_menus(self) -> None:
        def action(menu, text, slot, shortcut=None) -> QAction:
            act = QAction(text, self)
            if shortcut:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(slot)
            menu.addAction(act)
            return act

        file_menu = self.menuBar().addMenu(texts.MENU_FILE)
        action(file_menu, texts.ADD_PORTRAIT, self.portrait_panel._ask_for_file, "Ctrl+O")
        action(file_menu, texts.OPEN_VIDEO, self._ask_for_video, "Ctrl+Shift+O")
        action(file_menu, texts.QUIT, self.close, QKeySequence.StandardKey.Quit)
        camera_menu = self.menuBar().addMenu(texts.MENU_CAMERA)
        self.camera_action = action(camera_menu, texts.START_CAMERA, self.output_panel.camera.toggle, "Ctrl+Shift+V")
        self.calibrate_action = action(camera_menu, texts.CALIBRATE, self.calibrate, "Ctrl+Shift+C")
        self.record_action = action(camera_menu, texts.RECORD, self.output_panel.record.toggle, "Ctrl+R")
        help_menu = self.menuBar().addMenu(texts.MENU_HELP)
        action(help_menu, texts.ABOUT, self.show_about)

    def _restore_preferences(self) -> None:
        p = self.prefs
        self.source_panel.set_source(p.source)
        self.source_panel.mirror.setChecked(p.mirror)
        self.view_panel.overlay.setChecked(p.overlay)
        self.view_panel.avatar_only.setChecked(p.avatar_only)
        self._on_overlay(p.overlay)
        self._on_avatar_only(p.avatar_only)
        self.engine_panel.set_choice(AnimatorChoice(p.animator, p.preset, p.device))
        self.output_panel.set_format(p.output_size, p.output_fps)
        self.portrait_panel.set_recent(p.recent_portraits)
        if p.geometry.isEmpty() or not self.restoreGeometry(p.geometry):
            self.resize(1280, 760)

    # ---- workers ------------------------------------------------------------------------------------------
    def _start_workers(self, options: WindowOptions) -> None:
        self.driving_queue: DropOldestQueue = DropOldestQueue(2)
        self.output_queue: DropOldestQueue = DropOldestQueue(AVATAR_BURST)
        self.loader = PortraitLoader()
        self.loader.portrait_loaded.connect(self._on_portrait_loaded)
        self.loader.portrait_failed.connect(self._on_portrait_failed)
        self.loader.thumbnail_ready.connect(self.portrait_panel.set_thumbnail)
        self.portrait_panel.thumbnail_needed.connect(self.loader.thumbnail)
        self.generation = GenerationWorker(self.driving_queue, self.output_queue, self.engine_panel.choice())
        self.generation.avatar_ready.connect(self._on_avatar)
        self.generation.landmarks_ready.connect(self._on_landmarks)
        self.generation.fps_measured.connect(self._on_generation_fps)
        self.generation.animator_ready.connect(self._on_animator_ready)
        self.generation.cuda_checked.connect(self.engine_panel.offer_cuda)
        self.generation.calibrated.connect(lambda: self.statusBar().showMessage(texts.CALIBRATED, STATUS_MESSAGE_MS))
        self.generation.failed.connect(self._show_status_error)
        self.output = OutputWorker(self.output_queue, options.camera_backend, options.camera_device)
        self.output.camera_started.connect(self._on_camera_started)
        self.output.camera_failed.connect(self._on_camera_failed)
        self.output.camera_fps.connect(self._on_camera_fps)
        self.output.recording_started.connect(self._on_recording_started)
        self.output.recording_finished.connect(self._on_recording_finished)
        self.output.recording_failed.connect(self._on_recording_failed)
        self.output.failed.connect(self._show_status_error)
        for worker in (self.loader, self.generation, self.output):
            worker.start()
        for path in self.portrait_panel.gallery_paths():
            self.loader.thumbnail(path)
        saved = self.prefs.portrait
        self.load_portrait_file(saved if saved and Path(saved).is_file() else str(DEFAULT_PORTRAIT))
        self.set_source(options.source or self.prefs.source)

    def workers(self) -> list:
        """Every thread the window started that may still run."""
        threads = [self.loader, self.generation, self.output, *self._retiring]
        return threads + ([self.capture] if self.capture is not None else [])

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        self.prefs.geometry = self.saveGeometry()
        self.settings.save(self.prefs)
        threads = self.workers()
        for thread in threads:
            thread.request_stop()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for thread in threads:
            thread.wait(max(1, int((deadline - time.monotonic()) * 1000)))
        super().closeEvent(event)

    # ---- portrait -----------------------------------------------------------------------------------------
    def load_portrait_file(self, path: str) -> None:
        """Ask for `path` as the new portrait; the current one stays until it is validated."""
        self.statusBar().showMessage(texts.PORTRAIT_LOADING.format(name=Path(path).name), STATUS_MESSAGE_MS)
        self.loader.load(path)

    def _on_portrait_loaded(self, portrait, path: str, notice: str) -> None:
        self.active_portrait, self.active_portrait_path = portrait, path
        self.generation.set_portrait(portrait)
        self.portrait_panel.show_active(portrait, path, notice)
        self.prefs.remember_portrait(path)
        self.portrait_panel.set_recent(self.prefs.recent_portraits)
        self.statusBar().showMessage(texts.PORTRAIT_ACTIVE.format(name=Path(path).name), STATUS_MESSAGE_MS)

    def _on_portrait_failed(self, path: str, sentence: str) -> None:
        if self.active_portrait is None:  # the saved portrait is gone or broken: start on the default
            self.portrait_panel.show_error(sentence)
            if Path(path) != DEFAULT_PORTRAIT:
                self.loader.load(str(DEFAULT_PORTRAIT))
            return
        self.portrait_panel.show_error(texts.PORTRAIT_KEPT.format(reason=sentence))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt name)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt name)
        files = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if not files:
            self.portrait_panel.show_error(texts.DROP_NOT_A_FILE)
            return
        event.acceptProposedAction()
        self.load_portrait_file(files[0])

    # ---- driving source -----------------------------------------------------------------------------------
    def set_source(self, spec: SourceSpec) -> None:
        """Drive from `spec`; the old capture thread is stopped first (a webcam cannot be opened twice)."""
        self.prefs.source = spec
        self.source_panel.set_source(spec)
        self._pending_source = spec
        old, self.capture = self.capture, None
        if old is None or old.isFinished():
            self._start_pending_capture()
            return
        self._retiring.append(old)
        old.finished.connect(self._start_pending_capture)
        old.request_stop()

    def _start_pending_capture(self) -> None:
        self._retiring = [w for w in self._retiring if not w.isFinished()]
        if self._pending_source is None or self.capture is not None or self._retiring:
            return
        spec, self._pending_source = self._pending_source, None
        self.capture = CaptureWorker(spec, self.driving_queue, self.prefs.mirror, self._open_webcam)
        self.capture.frame_captured.connect(self._on_driving_frame)
        self.capture.source_opened.connect(self._on_source_opened)
        self.capture.failed.connect(self._show_status_error)
        self.capture.start()

    def _ask_for_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, texts.OPEN_VIDEO, "", texts.VIDEO_FILE_FILTER)
        if path:
            self.set_source(SourceSpec("file", path=path))

    def _on_driving_frame(self, rgb, captured_at: float) -> None:
        self.driving_view.show_frame(rgb)
        if self.capture is not None:
            self.capture.gate.leave()

    def _on_source_opened(self, description: str, notice: str) -> None:
        message = texts.SOURCE_OPENED.format(description=description)
        self.statusBar().showMessage(f"{notice} {message}" if notice else message, STATUS_MESSAGE_MS)

    def _on_mirror(self, on: bool) -> None:
        self.prefs.mirror = on
        if self.capture is not None:
            self.capture.set_mirror(on)

    def calibrate(self) -> None:
        """Take the next driving face as the neutral pose."""
        self.generation.calibrate()

    # ---- preview and engine -------------------------------------------------------------------------------
    def _on_avatar(self, frame) -> None:
        self.generation.gate.leave()
        self._avatar_backlog.append(frame)
        if len(self._avatar_backlog) == 1 and time.monotonic() - self._last_avatar_shown >= 0.8 * self._frame_period():
            self._show_next_avatar()  # on time: show at once, no added latency
        elif not self._avatar_pacer.isActive():
            self._avatar_pacer.start(max(1, int(self._frame_period() * 1000)))

    def _show_next_avatar(self) -> None:
        if not self._avatar_backlog:
            self._avatar_pacer.stop()
            return
        frame = self._avatar_backlog.popleft()
        self._last_avatar_shown = time.monotonic()
        self.preview_sink.send(frame.image)
        latency = time.monotonic() - frame.timestamp
        self._latency_s = latency if self._latency_s == 0 else 0.9 * self._latency_s + 0.1 * latency
        self.latency_label.setText(texts.LATENCY.format(ms=self._latency_s * 1000))

    def _frame_period(self) -> float:
        return 1.0 / self.output_panel.output_format()[2]

    def _on_landmarks(self, landmarks) -> None:
        self.driving_view.set_landmarks(landmarks)
        self.generation.landmark_gate.leave()

    def _on_generation_fps(self, fps: float) -> None:
        self.fps_label.setText(texts.GENERATION_FPS.format(fps=fps))

    def _on_overlay(self, on: bool) -> None:
        self.prefs.overlay = on
        self.driving_view.set_show_landmarks(on)

    def _on_avatar_only(self, on: bool) -> None:
        self.prefs.avatar_only = on
        self.driving_view.setVisible(not on)

    def _on_animator_chosen(self, choice: AnimatorChoice) -> None:
        self.prefs.animator, self.prefs.preset, self.prefs.device = choice.kind, choice.preset, choice.device
        self.generation.set_animator(choice)

    def _on_animator_ready(self, label: str, notice: str) -> None:
        self.engine_panel.show_active(label, notice)
        if notice:
            self.statusBar().showMessage(notice, 2 * STATUS_MESSAGE_MS)

    def _show_status_error(self, sentence: str) -> None:
        self.statusBar().showMessage(sentence, 2 * STATUS_MESSAGE_MS)

    # ---- virtual camera and recording ---------------------------------------------------------------------
    def start_virtual_camera(self) -> None:
        """Open the virtual camera at the chosen size and rate (answer comes back by signal)."""
        width, height, fps = self.output_panel.output_format()
        self.output_panel.set_camera_running(True)
        self.camera_label.setText(texts.CAMERA_STARTING)
        self.output.start_camera(width, height, fps)

    def stop_virtual_camera(self) -> None:
        """Close the virtual camera."""
        self.output_panel.set_camera_running(False)
        self.camera_label.setText(texts.CAMERA_OFF)
        self.output.stop_camera()

    def _on_camera_toggled(self, on: bool) -> None:
        self.start_virtual_camera() if on else self.stop_virtual_camera()

    def _on_format_changed(self, width: int, height: int, fps: int) -> None:
        self.prefs.output_size, self.prefs.output_fps = (width, height), fps
        if self.output_panel.camera.isChecked():
            self.start_virtual_camera()

    def _on_camera_started(self, device: str, width: int, height: int) -> None:
        self._camera_device, self._camera_size = device, (width, height)
        self.camera_action.setText(texts.STOP_CAMERA)
        self._on_camera_fps(0.0)

    def _on_camera_fps(self, fps: float) -> None:
        width, height = self._camera_size
        self.camera_label.setText(
            texts.CAMERA_RUNNING.format(device=self._camera_device, width=width, height=height, fps=fps))

    def _on_camera_failed(self, guidance: str, details: str) -> None:
        self.output_panel.set_camera_running(False)
        self.camera_action.setText(texts.START_CAMERA)
        self.camera_label.setText(texts.CAMERA_OFF)
        dialog = QMessageBox(QMessageBox.Icon.Warning, texts.ERROR_TITLE, guidance, QMessageBox.StandardButton.Ok,
                             self)
        dialog.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # copy the modprobe line
        if details:
            dialog.setDetailedText(details)
        self.camera_dialog = dialog
        dialog.open()  # window-modal, returns at once: the previews keep running

    def start_recording(self, path: str) -> None:
        """Record the avatar at the output size and rate into `path` (moved there when recording stops)."""
        width, height, fps = self.output_panel.output_format()
        self.output_panel.set_recording(True)
        self.output.start_recording(path, fps, (width, height))

    def stop_recording(self) -> None:
        """Finish the recording."""
        self.output.stop_recording()

    def _on_record_toggled(self, on: bool) -> None:
        if not on:
            self.stop_recording()
            return
        suggestion = str(Path.home() / time.strftime("knotcam-%Y%m%d-%H%M%S.mp4"))
        path, _ = QFileDialog.getSaveFileName(self, texts.RECORD_DIALOG, suggestion, texts.RECORD_FILE_FILTER)
        if path:
            self.start_recording(path if path.lower().endswith(".mp4") else path + ".mp4")
        else:
            self.output_panel.set_recording(False)

    def _on_recording_started(self, path: str) -> None:
        self.statusBar().showMessage(texts.RECORDING.format(name=Path(path).name))

    def _on_recording_finished(self, path: str) -> None:
        self.output_panel.set_recording(False)
        self.statusBar().showMessage(texts.RECORD_SAVED.format(path=path), STATUS_MESSAGE_MS)

    def _on_recording_failed(self, sentence: str) -> None:
        self.output_panel.set_recording(False)
        self._show_status_error(sentence)

    # ---- help ---------------------------------------------------------------------------------------------
    def show_about(self) -> None:
        """About box: what KnotCam is, versions, asset licences (non-blocking)."""
        box = QMessageBox(QMessageBox.Icon.Information, texts.ABOUT_TITLE, "", QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.MarkdownText)
        box.setText(about_markdown(REPO_ROOT / "assets" / "README.md"))
        self.about_dialog = box
        box.open()
