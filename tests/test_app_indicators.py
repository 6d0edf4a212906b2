"""State the window shows at a glance: a recording indicator (red dot, elapsed time), presets without shipped
weights marked and not selectable, and every dialog fitting a 1280x720 screen (the main window too)."""

import platform
import re

import pytest

from app.testing import prepare_qt_environment

prepare_qt_environment()  # before pytest-qt creates the QApplication

from PySide6.QtCore import Qt  # noqa: E402

from app import texts  # noqa: E402
from app.main_window import WindowOptions  # noqa: E402
from app.settings import PRESETS  # noqa: E402
from engine.assets import default_weights_path  # noqa: E402
from tests.test_app_output import open_window  # noqa: E402 (the same shown window)

SCREEN = (1280, 720)


def fits(size) -> bool:
    return size.width() <= SCREEN[0] and size.height() <= SCREEN[1]


def test_recording_shows_a_red_dot_and_the_elapsed_time_until_it_stops(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path, output_size=(640, 480))
    indicator = window.recording_indicator
    assert not indicator.isVisible()
    window.start_recording(str(tmp_path / "call.mp4"))
    qtbot.waitUntil(indicator.isVisible, timeout=10000)
    assert re.fullmatch("\u25cf REC 0:0[0-9]", indicator.text()) and "#e02020" in indicator.styleSheet()
    qtbot.waitUntil(lambda: indicator.text() == "\u25cf REC 0:02", timeout=5000)  # it counts
    window.stop_recording()
    qtbot.waitUntil(lambda: not indicator.isVisible(), timeout=5000)
    assert (tmp_path / "call.mp4").exists()


def test_presets_without_shipped_weights_are_marked_and_not_selectable(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    combo = window.engine_panel.preset
    shipped = [p for p in PRESETS if default_weights_path(p).is_file()]
    assert shipped == ["tiny"] and window.engine_panel.selectable_presets() == shipped
    for i in range(combo.count()):
        name = combo.itemData(i)
        if name in shipped:
            assert combo.itemText(i) == name
        else:
            assert combo.itemText(i) == texts.PRESET_NO_WEIGHTS.format(name=name)
            assert not combo.model().item(i).isEnabled()
            assert "No trained weights" in combo.itemData(i, Qt.ItemDataRole.ToolTipRole)


def test_about_box_fits_a_1280x720_screen_with_its_ok_button(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    window.show_about()
    box = window.about_dialog
    qtbot.waitUntil(box.isVisible, timeout=2000)
    assert fits(box.sizeHint()) and fits(box.size()) and fits(box.minimumSizeHint())
    assert box.browser.verticalScrollBar().maximum() > 0  # the licences scroll inside instead
    box.accept()


def test_main_window_fits_a_1280x720_screen(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    assert fits(window.minimumSizeHint()) and fits(window.minimumSize())


@pytest.mark.skipif(platform.system() != "Linux", reason="the v4l2loopback backend exists on Linux only")
def test_virtual_camera_guidance_dialog_fits_a_1280x720_screen(qtbot, tmp_path):
    options = WindowOptions(camera_backend="v4l2loopback", camera_device="/dev/video-knotcam-missing")
    window = open_window(qtbot, tmp_path, options)
    qtbot.mouseClick(window.output_panel.camera, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.camera_dialog is not None and window.camera_dialog.isVisible(), timeout=10000)
    assert fits(window.camera_dialog.sizeHint()) and fits(window.camera_dialog.size())
    window.camera_dialog.accept()
