"""SourceControl: the driving source, between the source panel, the session's capture worker and the previews.

A chosen source (webcam, video file) goes to the session, which swaps the capture thread; what the capture
answers comes back here: frames to the driving preview (releasing the capture's gate), a source that opened
(or a fallback, announced in the preview), a source that failed (a banner with Retry and Choose another source
until it works again).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QWidget

from app import texts
from app.banner import ProblemBanner
from app.capture import CaptureWorker
from app.controls import SourcePanel
from app.frame_view import FrameView
from app.session import Session
from app.settings import Preferences
from app.sources import SourceSpec


class SourceControl(QObject):
    """Switches the driving source and shows how it went."""

    def __init__(self, window: QWidget, panel: SourcePanel, session: Session, prefs: Preferences,
                 driving_view: FrameView, banner: ProblemBanner, status: Callable[[str, int], None],
                 message_ms: int) -> None:
        super().__init__(window)
        self.window, self.panel, self.session, self.prefs = window, panel, session, prefs
        self.driving_view, self.banner = driving_view, banner
        self._status, self._message_ms = status, message_ms
        session.capture_created.connect(self._connect_capture)
        panel.source_chosen.connect(self.set_source)
        panel.open_file_requested.connect(self.ask_for_video)
        panel.mirror_toggled.connect(self._on_mirror)

    def set_source(self, spec: SourceSpec) -> None:
        """Drive from `spec`; the old capture thread is stopped first (a webcam cannot be opened twice)."""
        self.prefs.source = spec
        self.panel.set_source(spec)
        self.session.set_source(spec)
        self.session.generation.calibrate()  # another face, another framing: a new neutral from its first steady second

    def retry_source(self) -> None:
        """Open the current driving source again."""
        self.set_source(self.prefs.source)

    def ask_for_video(self) -> None:
        """A file dialog for a driving video; the chosen file becomes the source."""
        path, _ = QFileDialog.getOpenFileName(self.window, texts.OPEN_VIDEO, "", texts.VIDEO_FILE_FILTER)
        if path:
            self.set_source(SourceSpec("file", path=path))

    def _connect_capture(self, capture: CaptureWorker) -> None:
        capture.frame_captured.connect(self._on_driving_frame)
        capture.source_opened.connect(self._on_source_opened)
        capture.failed.connect(self._on_source_failed)

    def _on_driving_frame(self, rgb, captured_at: float) -> None:
        self.driving_view.show_frame(rgb)
        if self.session.capture is not None:
            self.session.capture.gate.leave()

    def _on_source_opened(self, description: str, notice: str) -> None:
        message = texts.SOURCE_OPENED.format(description=description)
        self._status(f"{notice} {message}" if notice else message, self._message_ms)
        self.banner.resolve("source")
        if notice:  # the source is not the one asked for (no webcam: the demo clip): say so in the preview
            self.banner.show_problem("fallback", notice, [(texts.CHOOSE_SOURCE, self._choose_source)],
                                     announcement=True)

    def _on_source_failed(self, sentence: str) -> None:
        """The driving source failed: say so over the previews until it works again, with the fixes."""
        self._status(sentence, 2 * self._message_ms)
        self.driving_view.clear()  # no frozen last frame
        self.banner.show_problem("source", sentence, [(texts.RETRY, self.retry_source),
                                                      (texts.CHOOSE_SOURCE, self._choose_source)])

    def _choose_source(self) -> None:
        self.panel.combo.setFocus()
        self.panel.combo.showPopup()

    def _on_mirror(self, on: bool) -> None:
        self.prefs.mirror = on
        self.session.set_mirror(on)
