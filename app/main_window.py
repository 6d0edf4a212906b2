"""The KnotCam window: composes the portrait panel, the two previews, the control panels and the status bar,
and wires them to the session's workers (app/session.py). It never calls the engine, the camera or the disk
itself: it posts requests to the workers and shows what comes back.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from app import texts
from app.about import AboutBox, open_about_box
from app.avatar_pacer import AvatarPacer
from app.capture import CaptureWorker
from app.controls import EnginePanel, OutputPanel, SourcePanel, ViewPanel
from app.engine_choice import AnimatorChoice
from app.output_control import OutputControl
from app.portrait_picker import PortraitPanel, bundled_portraits
from app.preview_area import PreviewArea
from app.recording_indicator import RecordingIndicator
from app.session import AVATAR_BURST, STOP_TIMEOUT_S, Session, WindowOptions
from app.settings import AppSettings
from app.sinks import PreviewSink
from app.sources import SourceSpec, list_webcams
from engine.assets import ASSETS_README, DEFAULT_PORTRAIT, PORTRAITS_DIR

STATUS_MESSAGE_MS = 8000
CONTROLS_WIDTH = 250


class MainWindow(QMainWindow):
    """Portrait gallery | driving and avatar previews | source, view, engine and output controls."""

    def __init__(self, settings: AppSettings, options: WindowOptions | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.prefs = settings.load()
        self.active_portrait = None  # engine.animator.Portrait being animated
        self.active_portrait_path = ""
        self.session: Session | None = None
        self.output_control: OutputControl | None = None
        self.about_dialog: AboutBox | None = None
        self._latency_s = 0.0
        self._avatar_pacer = AvatarPacer(self._show_avatar, self._frame_period, AVATAR_BURST, self)
        self.setWindowTitle(texts.WINDOW_TITLE)
        self.setAcceptDrops(True)
        self._build_widgets()
        self._build_menus()
        self._restore_preferences()
        self._start_workers(options or WindowOptions())

    # ---- layout -------------------------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.portrait_panel = PortraitPanel(bundled_portraits(PORTRAITS_DIR))
        self.previews = PreviewArea()
        self.driving_view, self.avatar_view = self.previews.driving_view, self.previews.avatar_view
        self.banner = self.previews.banner
        self.preview_sink = PreviewSink(self.avatar_view)
        self.source_panel = SourcePanel(list_webcams())
        self.view_panel = ViewPanel()
        self.engine_panel = EnginePanel()
        self.output_panel = OutputPanel()

        controls = QWidget()
        controls.setFixedWidth(CONTROLS_WIDTH)  # long notices wrap inside; the previews never shrink for them
        column = QVBoxLayout(controls)
        column.setContentsMargins(0, 0, 0, 0)
        for panel in (self.source_panel, self.view_panel, self.engine_panel, self.output_panel):
            column.addWidget(panel)
        column.addStretch(1)
        central = QWidget()
        row = QHBoxLayout(central)
        row.addWidget(self.portrait_panel)
        row.addWidget(self.previews, 1)
        row.addWidget(controls)
        self.setCentralWidget(central)

        self.fps_label = QLabel(texts.GENERATION_FPS.format(fps=0))
        self.latency_label = QLabel(texts.LATENCY.format(ms=0))
        self.camera_label = QLabel(texts.CAMERA_OFF)
        self.recording_indicator = RecordingIndicator()
        for label in (self.recording_indicator, self.fps_label, self.latency_label, self.camera_label):
            self.statusBar().addPermanentWidget(label)

        self.portrait_panel.portrait_requested.connect(self.load_portrait_file)
        self.portrait_panel.crop.face_chosen.connect(self._on_face_chosen)
        self.source_panel.source_chosen.connect(self.set_source)
        self.source_panel.open_file_requested.connect(self._ask_for_video)
        self.source_panel.mirror_toggled.connect(self._on_mirror)
        self.source_panel.calibrate_clicked.connect(self.calibrate)
        self.view_panel.overlay.toggled.connect(self._on_overlay)
        self.view_panel.avatar_only.toggled.connect(self._on_avatar_only)
        self.engine_panel.animator_chosen.connect(self._on_animator_chosen)

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
        self.output_panel.set_framing(p.framing_zoom, p.full_photo)
        self.portrait_panel.set_recent(p.recent_portraits)
        if p.geometry.isEmpty() or not self.restoreGeometry(p.geometry):
            screen = self.screen().availableGeometry()  # a 1280x720 laptop keeps its bottom row on screen
            self.resize(min(1280, screen.width()), min(760, screen.height()))

    # ---- workers ------------------------------------------------------------------------------------------
    def _start_workers(self, options: WindowOptions) -> None:
        self.session = Session(self.engine_panel.choice(), options, self.prefs.mirror, self)
        self.session.capture_created.connect(self._connect_capture)
        self.loader = self.session.loader
        self.loader.portrait_loaded.connect(self._on_portrait_loaded)
        self.loader.portrait_failed.connect(self._on_portrait_failed)
        self.loader.thumbnail_ready.connect(self.portrait_panel.set_thumbnail)
        self.portrait_panel.thumbnail_needed.connect(self.loader.thumbnail)
        self.generation = self.session.generation
        self.generation.avatar_ready.connect(self._on_avatar)
        self.generation.landmarks_ready.connect(self._on_landmarks)
        self.generation.fps_measured.connect(lambda fps: self.fps_label.setText(texts.GENERATION_FPS.format(fps=fps)))
        self.generation.animator_ready.connect(self._on_animator_ready)
        self.generation.cuda_checked.connect(self.engine_panel.offer_cuda)
        self.generation.calibrated.connect(lambda: self.statusBar().showMessage(texts.CALIBRATED, STATUS_MESSAGE_MS))
        self.generation.calibrating_changed.connect(
            lambda on: self.avatar_view.set_caption(texts.CALIBRATING if on else ""))
        self.generation.failed.connect(self._on_engine_failed)
        self.output = self.session.output
        self.output_control = OutputControl(self, self.output_panel, self.output, self.prefs, self.camera_label,
                                            self.camera_action, self.statusBar().showMessage, STATUS_MESSAGE_MS)
        self.output.failed.connect(self._show_status_error)
        self.output_panel.framing_changed.connect(self._on_framing)
        self.output_panel.format_changed.connect(lambda *_: self._on_framing(self.output_panel.framing()))
        self._on_framing(self.output_panel.framing())
        self.output.recording_started.connect(self.recording_indicator.start)
        self.output.recording_finished.connect(self.recording_indicator.stop)
        self.output.recording_failed.connect(self.recording_indicator.stop)
        self.session.start()
        for path in self.portrait_panel.gallery_paths():
            self.loader.thumbnail(path)
        saved = self.prefs.portrait
        if saved and not Path(saved).is_file():
            self._portrait_problem(texts.SAVED_PORTRAIT_MISSING.format(name=Path(saved).name))
        self.load_portrait_file(saved if saved and Path(saved).is_file() else str(DEFAULT_PORTRAIT))
        self.set_source(options.source or self.prefs.source)

    @property
    def capture(self) -> CaptureWorker | None:
        """The running capture worker, or None between sources."""
        return self.session.capture if self.session is not None else None

    def workers(self) -> list:
        """Every thread the window started that may still run."""
        return self.session.workers()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        self.prefs.geometry = self.saveGeometry()
        self.settings.save(self.prefs)
        self.session.stop(STOP_TIMEOUT_S)
        super().closeEvent(event)

    # ---- portrait -----------------------------------------------------------------------------------------
    def load_portrait_file(self, path: str) -> None:
        """Ask for `path` as the new portrait; the current one stays until it is validated."""
        self.statusBar().showMessage(texts.PORTRAIT_LOADING.format(name=Path(path).name), STATUS_MESSAGE_MS)
        self.loader.load(path)

    def _on_portrait_loaded(self, portrait, path: str, notice: str) -> None:
        if self.active_portrait is not None or Path(path) != DEFAULT_PORTRAIT:
            self.banner.resolve("portrait")  # a portrait the user chose (not the start-up fallback) is on
        self.active_portrait, self.active_portrait_path = portrait, path
        self.generation.set_portrait(portrait)
        self.portrait_panel.show_active(portrait, path, notice)
        self.prefs.remember_portrait(path)
        self.portrait_panel.set_recent(self.prefs.recent_portraits)
        self.statusBar().showMessage(texts.PORTRAIT_ACTIVE.format(name=Path(path).name), STATUS_MESSAGE_MS)

    def _on_portrait_failed(self, path: str, sentence: str) -> None:
        if self.active_portrait is None:  # the saved portrait is gone or broken: start on the default
            self.portrait_panel.show_error(sentence)
            self._portrait_problem(sentence)
            if Path(path) != DEFAULT_PORTRAIT:
                self.loader.load(str(DEFAULT_PORTRAIT))
            return
        self.portrait_panel.show_error(texts.PORTRAIT_KEPT.format(reason=sentence))

    def _on_face_chosen(self, index: int) -> None:
        """Animate another face of the same photo (no new detection: the photo's faces are known)."""
        portrait = self.active_portrait.with_face(index)
        self.active_portrait = portrait
        self.generation.set_portrait(portrait)
        self.portrait_panel.show_active(portrait, self.active_portrait_path, self.portrait_panel.notice_text())

    def _portrait_problem(self, sentence: str) -> None:
        self.banner.show_problem("portrait", sentence, [(texts.CHOOSE_PORTRAIT, self.portrait_panel._ask_for_file),
                                                        (texts.DISMISS, lambda: self.banner.resolve("portrait"))])

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
        self.session.set_source(spec)
        self.generation.calibrate()  # another face, another framing: a new neutral from its first steady second

    def _connect_capture(self, capture: CaptureWorker) -> None:
        capture.frame_captured.connect(self._on_driving_frame)
        capture.source_opened.connect(self._on_source_opened)
        capture.failed.connect(self._on_source_failed)

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
        self.banner.resolve("source")
        if notice:  # the source is not the one asked for (no webcam: the demo clip): say so in the preview
            self.banner.show_problem("fallback", notice, [(texts.CHOOSE_SOURCE, self._choose_source)],
                                     announcement=True)

    def _on_source_failed(self, sentence: str) -> None:
        """The driving source failed: say so over the previews until it works again, with the fixes."""
        self.statusBar().showMessage(sentence, 2 * STATUS_MESSAGE_MS)
        self.driving_view.clear()  # no frozen last frame
        self.banner.show_problem("source", sentence, [(texts.RETRY, self.retry_source),
                                                      (texts.CHOOSE_SOURCE, self._choose_source)])

    def retry_source(self) -> None:
        """Open the current driving source again."""
        self.set_source(self.prefs.source)

    def _choose_source(self) -> None:
        self.source_panel.combo.setFocus()
        self.source_panel.combo.showPopup()

    def _on_mirror(self, on: bool) -> None:
        self.prefs.mirror = on
        if self.session is not None:
            self.session.set_mirror(on)

    def calibrate(self) -> None:
        """Take the next driving face as the neutral pose."""
        self.generation.calibrate()

    # ---- preview and engine -------------------------------------------------------------------------------
    def _on_avatar(self, frame) -> None:
        self.generation.gate.leave()
        self._avatar_pacer.push(frame)

    def _show_avatar(self, frame) -> None:
        box = self.generation.framing_box  # what the camera and recordings get, outlined on the preview
        self.avatar_view.set_box(None if box is None else (box.x, box.y, box.width, box.height))
        self.preview_sink.send(frame.image)
        latency = time.monotonic() - frame.timestamp
        self._latency_s = latency if self._latency_s == 0 else 0.9 * self._latency_s + 0.1 * latency
        self.latency_label.setText(texts.LATENCY.format(ms=self._latency_s * 1000))

    def _frame_period(self) -> float:
        return 1.0 / self.output_panel.output_format()[2]

    def _on_landmarks(self, landmarks) -> None:
        self.driving_view.set_landmarks(landmarks)
        self.generation.landmark_gate.leave()

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
        self.banner.resolve("engine")
        self.engine_panel.show_active(label, notice)
        if notice:
            self.statusBar().showMessage(notice, 2 * STATUS_MESSAGE_MS)

    def _on_engine_failed(self, sentence: str) -> None:
        self._show_status_error(sentence)
        self.banner.show_problem("engine", sentence, [(texts.DISMISS, lambda: self.banner.resolve("engine"))])

    def _on_framing(self, zoom: float | None) -> None:
        """Head and shoulders at `zoom` (or the full photo) for the camera and recordings."""
        if zoom is not None:
            self.prefs.framing_zoom = zoom
        self.prefs.full_photo = zoom is None
        width, height, _ = self.output_panel.output_format()
        self.generation.set_framing(width / height, zoom)

    def _show_status_error(self, sentence: str) -> None:
        self.statusBar().showMessage(sentence, 2 * STATUS_MESSAGE_MS)

    # ---- virtual camera and recording (app/output_control.py) ----------------------------------------------
    def start_virtual_camera(self) -> None:
        """Open the virtual camera at the chosen size and rate (answer comes back by signal)."""
        self.output_control.start_camera()

    @property
    def camera_dialog(self) -> QMessageBox | None:
        """The last dialog saying why the virtual camera did not start, if any."""
        return self.output_control.camera_dialog if self.output_control is not None else None

    def start_recording(self, path: str) -> None:
        """Record the avatar at the output size and rate into `path` (moved there when recording stops)."""
        self.output_control.start_recording(path)

    def stop_recording(self) -> None:
        """Finish the recording."""
        self.output_control.stop_recording()

    # ---- help ---------------------------------------------------------------------------------------------
    def show_about(self) -> None:
        """About box: what KnotCam is, versions, asset licences (non-blocking)."""
        self.about_dialog = open_about_box(self, ASSETS_README)
