"""Engine choice in the window: Knot Forcing or warp, with an honest fallback when Knot Forcing cannot run."""

from app.testing import prepare_qt_environment

prepare_qt_environment()  # before pytest-qt creates the QApplication

from app import texts  # noqa: E402
from app.engine_choice import AnimatorChoice, build_animator  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from app.testing import temporary_settings  # noqa: E402
from engine.assets import default_weights_path  # noqa: E402
from engine.knot.knot_animator import KnotAnimator  # noqa: E402
from engine.warp import WarpAnimator  # noqa: E402

# Only `tiny` weights ship; `base` has none, which exercises the real missing-weights path.
assert default_weights_path("tiny").exists() and not default_weights_path("base").exists()


def test_knot_forcing_with_shipped_weights_is_used_without_notice():
    built = build_animator(AnimatorChoice("knot", "tiny", "cpu"))
    assert isinstance(built.animator, KnotAnimator) and built.notice == ""


def test_knot_forcing_without_weights_falls_back_to_warp_and_says_why():
    built = build_animator(AnimatorChoice("knot", "base", "cpu"))
    assert isinstance(built.animator, WarpAnimator)
    assert "base.safetensors" in built.fallback_reason
    assert built.notice.endswith("using the warp animator.")


def test_warp_choice_is_honoured_without_notice():
    built = build_animator(AnimatorChoice("warp"))
    assert isinstance(built.animator, WarpAnimator) and built.notice == ""


def test_window_shows_fallback_notice_next_to_engine_choice(qtbot, tmp_path):
    window = MainWindow(temporary_settings(tmp_path, animator="knot", preset="base"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: "using the warp animator" in window.engine_panel.active.text(), timeout=20000)
    qtbot.waitUntil(lambda: window.avatar_view.frames_shown >= 3, timeout=20000)  # and the avatar still moves


def test_choosing_warp_in_engine_panel_switches_running_animator(qtbot, tmp_path):
    window = MainWindow(temporary_settings(tmp_path, animator="knot"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.engine_panel.active.text() != "", timeout=20000)
    combo = window.engine_panel.animator
    combo.setCurrentIndex(combo.findData("warp"))
    combo.activated.emit(combo.currentIndex())
    expected = texts.ANIMATOR_ACTIVE.format(name=texts.ANIMATOR_WARP)
    qtbot.waitUntil(lambda: window.engine_panel.active.text() == expected, timeout=20000)
    assert not window.engine_panel.preset.isEnabled()  # preset and device belong to Knot Forcing
    shown = window.avatar_view.frames_shown
    qtbot.waitUntil(lambda: window.avatar_view.frames_shown > shown + 3, timeout=10000)
