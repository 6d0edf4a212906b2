"""`python main.py --self-test`: headless check of an installed app (portrait, 60 frames, camera, Qt)."""

from app.testing import prepare_qt_environment

prepare_qt_environment()

from app.main import SELF_TEST_FRAMES, self_test  # noqa: E402


def test_self_test_renders_frames_and_reports_camera_state():
    lines: list[str] = []
    assert self_test(lines.append) == 0, lines
    text = "\n".join(lines)
    assert "portrait: astronaut.png" in text
    assert f"rendered {SELF_TEST_FRAMES} frames" in text
    assert "animator:" in text  # names the animator, or says it fell back to warp and why
    assert "virtual camera:" in text
    assert "Qt: PySide6" in text
    assert lines[-1] == "self-test passed"
