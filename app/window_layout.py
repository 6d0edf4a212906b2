"""The main window's widgets and menus, built onto the window: the portrait panel, the two previews, the
control column and the status bar's labels; the File, Camera and Help menus. Wiring to the session stays in
app/main_window.py."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QVBoxLayout, QWidget

from app import texts
from app.controls import EnginePanel, OutputPanel, SourcePanel, ViewPanel
from app.portrait_picker import PortraitPanel, bundled_portraits
from app.preview_area import PreviewArea
from app.recording_indicator import RecordingIndicator
from app.sinks import PreviewSink
from app.sources import list_webcams
from engine.assets import PORTRAITS_DIR


def build_widgets(window: QMainWindow, controls_width: int) -> None:
    """Create the window's panels, previews and status labels as attributes of `window` and lay them out."""
    w = window
    w.portrait_panel = PortraitPanel(bundled_portraits(PORTRAITS_DIR))
    w.previews = PreviewArea()
    w.driving_view, w.avatar_view = w.previews.driving_view, w.previews.avatar_view
    w.banner = w.previews.banner
    w.preview_sink = PreviewSink(w.avatar_view)
    w.source_panel = SourcePanel(list_webcams())
    w.view_panel = ViewPanel()
    w.engine_panel = EnginePanel()
    w.output_panel = OutputPanel()

    controls = QWidget()
    controls.setFixedWidth(controls_width)  # long notices wrap inside; the previews never shrink for them
    column = QVBoxLayout(controls)
    column.setContentsMargins(0, 0, 0, 0)
    for panel in (w.source_panel, w.view_panel, w.engine_panel, w.output_panel):
        column.addWidget(panel)
    column.addStretch(1)
    central = QWidget()
    row = QHBoxLayout(central)
    row.addWidget(w.portrait_panel)
    row.addWidget(w.previews, 1)
    row.addWidget(controls)
    w.setCentralWidget(central)

    w.fps_label = QLabel(texts.GENERATION_FPS.format(fps=0))
    w.latency_label = QLabel(texts.LATENCY.format(ms=0))
    w.camera_label = QLabel(texts.CAMERA_OFF)
    w.recording_indicator = RecordingIndicator()
    for label in (w.recording_indicator, w.fps_label, w.latency_label, w.camera_label):
        w.statusBar().addPermanentWidget(label)


def build_menus(window: QMainWindow, open_video: Callable[[], None]) -> tuple[QAction, QAction, QAction]:
    """The menu bar of `window`; returns its camera, calibrate and record actions (their state changes)."""

    def action(menu, text, slot, shortcut=None) -> QAction:
        act = QAction(text, window)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(slot)
        menu.addAction(act)
        return act

    file_menu = window.menuBar().addMenu(texts.MENU_FILE)
    action(file_menu, texts.ADD_PORTRAIT, window.portrait_panel._ask_for_file, "Ctrl+O")
    action(file_menu, texts.OPEN_VIDEO, open_video, "Ctrl+Shift+O")
    action(file_menu, texts.QUIT, window.close, QKeySequence.StandardKey.Quit)
    camera_menu = window.menuBar().addMenu(texts.MENU_CAMERA)
    camera = action(camera_menu, texts.START_CAMERA, window.output_panel.camera.toggle, "Ctrl+Shift+V")
    calibrate = action(camera_menu, texts.CALIBRATE, window.calibrate, "Ctrl+Shift+C")
    record = action(camera_menu, texts.RECORD, window.output_panel.record.toggle, "Ctrl+R")
    help_menu = window.menuBar().addMenu(texts.MENU_HELP)
    action(help_menu, texts.ABOUT, window.show_about)
    return camera, calibrate, record
