"""`render --out` rules, checked before any work: each refusal is one sentence on stderr and exit 2."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys

import cv2
import pytest

import main as knotcam
from tests.conftest import DEMO_CLIP, PORTRAITS, REPO


def _render(capsys, *argv: str) -> tuple[int, str]:
    code = knotcam.main(["render", *argv])
    err = capsys.readouterr().err
    return code, err


def _one_sentence(err: str) -> bool:
    text = err.strip()
    return "\n" not in text and "Traceback" not in text and text.endswith(".")


def test_output_equal_to_the_driving_video_is_refused_and_the_input_kept(tmp_path, capsys):
    driving = tmp_path / "me.mp4"
    shutil.copy(DEMO_CLIP, driving)
    before = driving.read_bytes()
    code, err = _render(capsys, "--driving", str(driving), "--out", str(tmp_path / "." / "me.mp4"))
    assert code == 2 and _one_sentence(err) and "is also an input" in err
    assert driving.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["me.mp4"]


def test_output_equal_to_the_portrait_through_a_symlink_is_refused(tmp_path, capsys):
    portrait = tmp_path / "face.png"
    shutil.copy(PORTRAITS / "astronaut.png", portrait)
    link = tmp_path / "face.mp4"
    link.symlink_to(portrait)
    code, err = _render(capsys, "--portrait", str(portrait), "--out", str(link))
    assert code == 2 and _one_sentence(err) and "is also an input" in err
    assert portrait.read_bytes() == (PORTRAITS / "astronaut.png").read_bytes()


def test_output_that_is_a_folder_is_refused_before_rendering(tmp_path, capsys):
    folder = tmp_path / "videos.webm"
    folder.mkdir()
    code, err = _render(capsys, "--out", str(folder), "--frames", "5")
    assert code == 2 and _one_sentence(err) and "is a folder" in err
    assert list(tmp_path.rglob("*")) == [folder]


def test_output_in_a_missing_folder_is_refused(tmp_path, capsys):
    code, err = _render(capsys, "--out", str(tmp_path / "nowhere" / "a.webm"))
    assert code == 2 and _one_sentence(err) and "does not exist" in err
    assert list(tmp_path.iterdir()) == []


def test_output_under_a_file_used_as_a_folder_is_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    code, err = _render(capsys, "--out", str(tmp_path / "notes.txt" / "a.webm"))
    assert code == 2 and _one_sentence(err) and "not a folder" in err


def _read_only_folder(tmp_path):
    """A folder this process cannot write into: chmod 0555, or (as root, where modes do not bind) /sys."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    if not os.access(folder, os.W_OK):
        return folder
    folder.chmod(0o755)
    if os.access("/sys", os.W_OK) and not os.path.ismount("/sys"):
        pytest.skip("running as root with no unwritable folder to test against")
    return "/sys"  # sysfs refuses new files even to root


def test_output_in_a_read_only_folder_is_refused_in_one_sentence(tmp_path, capsys):
    folder = _read_only_folder(tmp_path)
    code, err = _render(capsys, "--out", os.path.join(folder, "a.webm"), "--frames", "3")
    assert code == 2 and _one_sentence(err) and "Cannot write into the folder" in err
    assert "Errno" not in err and ".part" not in err
    if folder != "/sys":
        os.chmod(folder, 0o755)
        assert list(os.scandir(folder)) == []


@pytest.mark.parametrize("frames", ["0", "-3"])
def test_frames_below_one_is_refused_without_a_file(tmp_path, capsys, frames):
    out = tmp_path / "a.webm"
    code, err = _render(capsys, "--out", str(out), "--frames", frames)
    assert code == 2 and _one_sentence(err) and "--frames must be at least 1" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["a.gif", "a", "a.mov"])
def test_an_extension_that_names_no_container_is_refused(tmp_path, capsys, name):
    code, err = _render(capsys, "--out", str(tmp_path / name), "--frames", "3")
    assert code == 2 and _one_sentence(err) and ".mp4 or .webm" in err
    assert list(tmp_path.iterdir()) == []


def test_webm_extension_gives_a_playable_vp8_file(tmp_path, capsys):
    out = tmp_path / "avatar.webm"
    assert knotcam.main(["render", "--out", str(out), "--frames", "8"]) == 0
    capture = cv2.VideoCapture(str(out))
    fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode(errors="replace")
    count = 0
    while capture.grab():
        count += 1
    assert count == 8 and fourcc.upper().startswith("VP8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["avatar.webm"]


def test_refusal_from_the_command_line_is_one_line_and_exit_2(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    done = subprocess.run([sys.executable, "main.py", "render", "--out", str(folder)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and done.stderr.startswith("knotcam render: ")
