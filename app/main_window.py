"""The KnotCam window: composes the portrait panel, the two previews, the control panels and the status bar,
and wires them to the session's workers (app/session.py). It never calls the engine, the camera or the disk
itself: it posts requests to the workers and shows what comes back.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMainWindow, QMessageBox

from app import texts
from app.about import AboutBox, open_about_box
from app.avatar_pacer import AvatarPacer
from app.capture import CaptureWorker
from app.engine_choice import AnimatorChoice
from app.output_control import OutputControl
from app.recovery_offer import RecoveryOffer
from app.session import AVATAR_BURST, STOP_TIMEOUT_S, Session, WindowOptions
from app.settings import AppSettings
from app.source_control import SourceControl
from app.sources import SourceSpec
from app.window_layout import build_menus, build_widgets
from engine.assets import ASSETS_README, DEFAULT_PORTRAIT

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
        self.source_control: SourceControl | None = None
        self.about_dialog: AboutBox | None = None
        self._latency_s = 0.0
        self._avatar_pacer = AvatarPacer(self._show_avatar, self._frame_period, AVATAR_BURST, self)
        self.setWindowTitle(texts.WINDOW_TITLE)
        self.setAcceptDrops(True)
        self._build_widgets()
        self._build_menus()
        self._restore_preferences()
        self._start_workers(options or WindowOptions())

    # ---- layout (app/window_layout.py) ------------------------------------------------------------------
    def _build_widgets(self) -> None:
        build_widgets(self, CONTROLS_WIDTH)
        self.portrait_panel.portrait_requested.connect(self.load_portrait_file)
        self.portrait_panel.crop.face_chosen.connect(self._on_face_chosen)
        self.source_panel.calibrate_clicked.connect(self.calibrate)
        self.view_panel.overlay.toggled.connect(self._on_overlay)
        self.view_panel.avatar_only.toggled.connect(self._on_avatar_only)
        self.engine_panel.animator_chosen.connect(self._on_animator_chosen)

    def _build_menus(self) -> None:
        self.camera_action, self.calibrate_action, self.record_action = build_menus(
            self, lambda: self.source_control.ask_for_video())

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
        self.source_control = SourceControl(self, self.source_panel, self.session, self.prefs, self.driving_view,
                                            self.banner, self.statusBar().showMessage, STATUS_MESSAGE_MS)
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
        self.recovery = RecoveryOffer(self, self.prefs.recording_folder or Path.home(), self.statusBar().showMessage,
                                      STATUS_MESSAGE_MS)
        QTimer.singleShot(0, self.recovery.ask)
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
        """Drive from `spec` (app/source_control.py)."""
        self.source_control.set_source(spec)

    def retry_source(self) -> None:
        """Open the current driving source again."""
        self.source_control.retry_source()

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
