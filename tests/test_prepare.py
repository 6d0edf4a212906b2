"""`main.py prepare`: real video and stills in, aligned clips out; bad files reported and skipped."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np

from engine.data.clips import load_clip
from engine.data.prepare import prepare
from tests.conftest import DEMO_CLIP, PORTRAITS


def test_prepare_writes_every_frame_and_landmark_and_skips_bad_files(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(DEMO_CLIP, videos / "carphone.mp4")
    (videos / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    images = tmp_path / "images"
    images.mkdir()
    cv2.imwrite(str(images / "wall.png"), np.full((200, 200, 3), 90, np.uint8))
    shutil.copy(PORTRAITS / "biden.jpg", images / "biden.jpg")
    out = tmp_path / "data"

    splits = prepare([(videos / "carphone.mp4", videos), (videos / "broken.mp4", videos)],
                     [(images / "wall.png", images), (images / "biden.jpg", images)], out, 64, {"biden"}, 300)

    clip = load_clip(out / splits["train"][0])
    assert clip.frames.shape == (120, 64, 64, 3) and clip.frames.dtype == np.uint8
    assert clip.landmarks.shape == (120, 478, 2)
    assert (clip.landmarks >= -16).all() and (clip.landmarks <= 80).all()  # the face stays in the crop
    assert clip.identity == "carphone"
    report = (out / "report.txt").read_text()
    assert "skipped" in report and "broken.mp4" in report and "wall.png" in report
    # Splits are by identity: the held-out face is never in train.
    on_disk = json.loads((out / "splits.json").read_text())
    assert on_disk["test"] and all("biden" in name for name in on_disk["test"])
    assert not any("biden" in name for name in on_disk["train"])
    lines = {line.split(":")[0].split()[-1]: line for line in report.splitlines() if line.startswith("ok")}
    assert lines[on_disk["test"][0]].endswith("in val + test")  # the report says where a held-out clip went
    assert lines[splits["train"][0]].endswith("in train")


def test_training_frames_leave_the_held_out_tail_and_gap_out():
    from engine.data.prepare import training_frames

    assert training_frames(4800, (600, 100)) == range(4100)
    assert training_frames(472, None) == range(472)
    assert len(training_frames(500, (600, 100))) == 0


def test_hidden_files_are_left_out_of_a_folder(tmp_path):
    from engine.data.prepare import VIDEO_EXT, _files

    (tmp_path / "talk.mp4").write_bytes(b"")
    (tmp_path / ".talk.1a2b.part.mp4").write_bytes(b"")  # a writer's unfinished file
    (tmp_path / "._talk.mp4").write_bytes(b"")  # macOS's resource fork beside a copied file
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "old.mp4").write_bytes(b"")
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "take1.mp4").write_bytes(b"")
    assert [p.relative_to(tmp_path).as_posix() for p, _ in _files(tmp_path, VIDEO_EXT)] == ["alice/take1.mp4",
                                                                                            "talk.mp4"]
