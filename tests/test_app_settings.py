"""Preferences kept with QSettings (a temporary ini file here): round trip, restore at start, save on close."""

from pathlib import Path

from app.testing import prepare_qt_environment

prepare_qt_environment()  # before pytest-qt creates the QApplication

from PySide6.QtCore import QByteArray, QSettings  # noqa: E402

from app.main_window import MainWindow  # noqa: E402
from app.settings import AppSettings, Preferences  # noqa: E402
from app.sources import SourceSpec  # noqa: E402
from app.testing import temporary_settings  # noqa: E402
from engine.assets import DEMO_CLIP, PORTRAITS_DIR  # noqa: E402


def ini_settings(folder: Path) -> AppSettings:
    return AppSettings(QSettings(str(folder / "knotcam.ini"), QSettings.Format.IniFormat))


def test_preferences_round_trip_through_ini_settings(tmp_path):
    prefs = Preferences(
        portrait="/photos/me.jpg",
        recent_portraits=["/photos/me.jpg"],  # a one-element list is the ini format's awkward case
        source=SourceSpec("webcam", webcam_index=2),
        mirror=False,
        animator="warp",
        preset="base",
        device="cuda",
        output_size=(640, 480),
        output_fps=15,
        overlay=True,
        avatar_only=True,
        geometry=QByteArray(b"\x01\xd9\xd0\xcb geometry"),
    )
    ini_settings(tmp_path).save(prefs)
    assert ini_settings(tmp_path).load() == prefs


def test_first_start_picks_the_gpu_where_torch_can_use_one_and_a_stored_choice_wins(tmp_path, monkeypatch):
    monkeypatch.setattr("app.engine_choice.cuda_available", lambda: True)
    assert ini_settings(tmp_path).load().device == "cuda"
    ini_settings(tmp_path).save(Preferences(device="cpu"))
    assert ini_settings(tmp_path).load().device == "cpu"  # the user's choice is kept
    monkeypatch.setattr("app.engine_choice.cuda_available", lambda: False)
    assert ini_settings(tmp_path / "other").load().device == "cpu"


def test_malformed_settings_fall_back_to_defaults(tmp_path):
    qsettings = QSettings(str(tmp_path / "knotcam.ini"), QSettings.Format.IniFormat)
    qsettings.setValue("output/width", "huge")
    qsettings.setValue("output/fps", 7)
    qsettings.setValue("engine/animator", "magic")
    qsettings.setValue("source/kind", "telepathy")
    qsettings.sync()
    prefs = ini_settings(tmp_path).load()
    defaults = Preferences()
    assert (prefs.output_size, prefs.output_fps) == (defaults.output_size, defaults.output_fps)
    assert prefs.animator == defaults.animator and prefs.source.kind == "auto"


def test_window_restores_saved_choices_at_start(qtbot, tmp_path):
    obama = str(PORTRAITS_DIR / "obama.jpg")
    settings = temporary_settings(tmp_path, portrait=obama, output_size=(640, 480), output_fps=15,
                                  mirror=False, avatar_only=True, overlay=True)
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.active_portrait_path == obama, timeout=20000)
    assert window.output_panel.output_format() == (640, 480, 15)
    assert not window.source_panel.mirror.isChecked()
    assert window.source_panel.combo.currentData() == SourceSpec("file", path=str(DEMO_CLIP))
    assert window.engine_panel.choice().kind == "warp"
    assert not window.driving_view.isVisible() and window.driving_view.show_landmarks


def test_window_saves_choices_and_geometry_on_close(qtbot, tmp_path):
    settings = temporary_settings(tmp_path)
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.active_portrait is not None, timeout=20000)
    biden = str(PORTRAITS_DIR / "biden.jpg")
    window.load_portrait_file(biden)
    qtbot.waitUntil(lambda: window.active_portrait_path == biden, timeout=10000)
    window.output_panel.set_format((1920, 1080), 24)
    window.output_panel.format_changed.emit(1920, 1080, 24)
    window.source_panel.mirror.setChecked(False)
    window.close()
    prefs = ini_settings(tmp_path).load()
    assert prefs.portrait == biden and prefs.recent_portraits[0] == biden
    assert (prefs.output_size, prefs.output_fps) == ((1920, 1080), 24)
    assert prefs.mirror is False
    assert not prefs.geometry.isEmpty()


def test_missing_saved_portrait_starts_on_default(qtbot, tmp_path):
    settings = temporary_settings(tmp_path, portrait=str(tmp_path / "deleted.jpg"))
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.active_portrait_path.endswith("astronaut.png"), timeout=20000)
