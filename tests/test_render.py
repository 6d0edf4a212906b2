"""`render` subcommand: headless portrait animation to an MP4 file."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time

import cv2
import pytest

from engine.cli import render
from tests.conftest import DEMO_CLIP, PORTRAITS, REPO, decoded


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    render.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_render_writes_a_playable_video_with_the_requested_frames(tmp_path, capsys):
    out = tmp_path / "avatar.mp4"
    code = render.run(_args("--portrait", str(PORTRAITS / "astronaut.png"), "--driving", str(DEMO_CLIP),
                            "--out", str(out), "--frames", "30"))
    assert code == 0
    count, _, shape = decoded(out)
    assert (count, shape) == (30, (512, 512))
    assert "fps" in capsys.readouterr().out


def test_render_loops_a_short_clip_to_reach_the_frame_count(tmp_path):
    out = tmp_path / "long.mp4"
    render.run(_args("--out", str(out), "--frames", "130", "--portrait", str(PORTRAITS / "biden.jpg")))
    count, _, (h, w) = decoded(out)
    assert count == 130 and w % 2 == 0 and h % 2 == 0


def test_render_of_a_faceless_portrait_fails_cleanly_without_output(tmp_path):
    from engine.errors import NoFaceFoundError

    still = tmp_path / "wall.png"
    cv2.imwrite(str(still), (cv2.imread(str(PORTRAITS / "astronaut.png")) * 0 + 80))
    out = tmp_path / "never.mp4"
    with pytest.raises(NoFaceFoundError):
        render.run(_args("--portrait", str(still), "--out", str(out), "--frames", "5"))
    assert not out.exists()


def test_warp_is_the_default_animator():
    from engine.warp import WarpAnimator

    assert isinstance(render.make_animator(_args("--out", "x.mp4").animator), WarpAnimator)


def test_main_py_render_prints_fps_and_writes_the_video(tmp_path):
    out = tmp_path / "cli.mp4"
    done = subprocess.run([sys.executable, "main.py", "render", "--frames", "12", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "fps" in done.stdout
    assert decoded(out)[0] == 12


def test_main_py_render_of_a_missing_portrait_says_one_sentence(tmp_path):
    out = tmp_path / "cli.mp4"
    done = subprocess.run([sys.executable, "main.py", "render", "--portrait", str(tmp_path / "nobody.png"),
                           "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "does not exist" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_ctrl_c_during_render_leaves_no_file_behind(tmp_path):
    out = tmp_path / "interrupted.mp4"
    proc = subprocess.Popen([sys.executable, "main.py", "render", "--frames", "100000", "--out", str(out)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("*.part.mp4")) and time.monotonic() < deadline:
            time.sleep(0.05)  # wait until frames are being written
        assert list(tmp_path.glob("*.part.mp4")), "render never started writing"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "interrupted" in stderr
    assert list(tmp_path.iterdir()) == []
