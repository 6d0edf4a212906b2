"""GUI entry: `python main.py` opens the window; `python main.py --self-test` checks an installed app headless.

The self-test loads the default portrait, renders 60 frames from the demo clip through the default engine
(Knot Forcing with the shipped tiny weights, or `--weights FILE`), tries the virtual camera, starts Qt
offscreen, and exits 0 when the app can work on this machine. An engine that cannot load fails it (the main
feature is broken); a missing virtual camera device is reported, not a failure.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable

from app import texts
from app.qt_env import undo_cv2_qt_environment

SELF_TEST_FRAMES = 60


def create_application(argv: list[str]):
    """The QApplication (created once), after undoing what `import cv2` did to Qt's plugin and font paths."""
    undo_cv2_qt_environment()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "knotcam", *argv])
    app.setApplicationName(texts.APP_NAME)
    app.setOrganizationName(texts.APP_NAME)
    return app


def add_gui_arguments(parser: argparse.ArgumentParser) -> None:
    """The window's options (main.py parses them once, with the global ones; the rest go to Qt)."""
    parser.add_argument("--self-test", action="store_true", help="headless check of the installed app, then exit")
    parser.add_argument("--weights", metavar="FILE", default="",
                        help="self-test: Knot Forcing weights to check instead of the shipped tiny ones")
    parser.add_argument("--quit-after", type=float, metavar="SECONDS", help="close the window after SECONDS")


def run_gui(args: argparse.Namespace, qt_args: list[str]) -> int:
    """Open the window (or run the self-test with --self-test); returns the process exit code. `args` holds
    add_gui_arguments' options and `verbose`; `qt_args` are passed to Qt."""
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.self_test:
        return self_test(weights=args.weights)
    app = create_application(qt_args)
    from app.main_window import MainWindow
    from app.settings import AppSettings

    window = MainWindow(AppSettings())
    window.show()
    if args.quit_after is not None:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(round(args.quit_after * 1000), window.close)
    return int(app.exec())


def self_test(say: Callable[[str], None] = print, weights: str = "") -> int:
    """Headless end-to-end check; prints one line per step and returns 0 when the app can run here."""
    try:
        _self_test_steps(say, weights)
    except Exception as err:  # noqa: BLE001 (the self-test reports any failure as one line and exit 1)
        logging.getLogger(__name__).debug("self-test failure", exc_info=True)
        say(texts.SELF_TEST_FAILED.format(reason=str(err) or type(err).__name__))
        return 1
    say(texts.SELF_TEST_PASSED)
    return 0


def _self_test_steps(say: Callable[[str], None], weights: str) -> None:
    from app.engine_choice import AnimatorChoice, build_animator
    from app.sinks import VirtualCameraSink
    from engine.assets import DEFAULT_PORTRAIT, DEMO_CLIP
    from engine.errors import VirtualCameraUnavailableError
    from engine.face.portrait import load_portrait
    from engine.face.tracker import FaceTracker
    from engine.pipeline import AvatarPipeline
    from engine.video import VideoFileSource

    still_tracker = FaceTracker(static_image_mode=True)
    try:
        portrait = load_portrait(DEFAULT_PORTRAIT, still_tracker)
    finally:
        still_tracker.close()
    h, w = portrait.image.shape[:2]
    say(texts.SELF_TEST_PORTRAIT.format(name=DEFAULT_PORTRAIT.name, width=w, height=h))

    built = build_animator(AnimatorChoice(weights=weights))
    if built.fallback_reason:
        raise RuntimeError(texts.SELF_TEST_ENGINE_BROKEN.format(reason=built.fallback_reason))
    say(texts.SELF_TEST_ANIMATOR.format(name=built.label))

    tracker = FaceTracker(static_image_mode=False)
    frames = []
    try:
        pipeline = AvatarPipeline(built.animator, tracker)
        pipeline.set_portrait(portrait)
        start = time.perf_counter()
        max_driving = SELF_TEST_FRAMES * 4 + built.animator.lookahead_frames
        for n, rgb in enumerate(VideoFileSource(DEMO_CLIP, loop=True)):
            if len(frames) >= SELF_TEST_FRAMES or n >= max_driving:
                break
            frames += pipeline.process(rgb, time.monotonic())
        seconds = time.perf_counter() - start
    finally:
        tracker.close()
    if len(frames) < SELF_TEST_FRAMES:
        raise RuntimeError(f"only {len(frames)} of {SELF_TEST_FRAMES} avatar frames came out")
    say(texts.SELF_TEST_RENDERED.format(frames=len(frames), seconds=seconds, fps=len(frames) / seconds))

    try:
        camera = VirtualCameraSink(640, 480, 30)
    except VirtualCameraUnavailableError as err:
        say(texts.SELF_TEST_CAMERA_MISSING.format(guidance=str(err).replace("\n", " ")))
    else:
        try:
            camera.send(frames[-1].image)
            say(texts.SELF_TEST_CAMERA_OK.format(device=camera.device))
        finally:
            camera.close()

    _check_qt(frames[-1].image, say)


def _check_qt(image, say: Callable[[str], None]) -> None:
    """Start Qt offscreen and paint a frame: catches missing platform plugins in a packaged app."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = create_application([])
    import PySide6

    from app.frame_view import FrameView

    view = FrameView(texts.AVATAR_TITLE)
    view.resize(320, 240)
    view.show_frame(image)
    if view.grab().isNull():
        raise RuntimeError("Qt could not paint a frame")
    say(texts.SELF_TEST_QT.format(version=PySide6.__version__, platform=app.platformName()))
