"""A recording killed with SIGKILL mid-take: what the next start finds, recovers or removes (engine/recovery.py)."""

from __future__ import annotations

import time

from engine.recovery import discard, recover, recovered_name, unfinished_recordings
from tests.conftest import decoded


def test_a_take_killed_mid_recording_is_found_and_recovered_up_to_its_last_second(killed_take):
    folder, recorded, ext = killed_take
    assert not (folder / f"call{ext}").exists()  # never a broken file under the final name
    assert unfinished_recordings(folder) == []  # just written: may still be a running recording
    parts = unfinished_recordings(folder, now=time.time() + 60)
    assert len(parts) == 1
    saved, frames = recover(parts[0])
    assert saved == folder / f"call (recovered){ext}"
    assert frames >= 30 * (recorded - 1.5)  # all but the last second or so (the piece being written)
    assert decoded(saved)[0] == frames  # every saved frame plays
    assert sorted(p.name for p in folder.iterdir()) == [f"call (recovered){ext}"]


def test_a_part_with_nothing_decodable_is_removed_and_a_taken_name_is_numbered(tmp_path):
    part = tmp_path / ".call.0123abcd.part.mp4"
    part.write_bytes(b"\x00" * 100)
    (tmp_path / "call (recovered).mp4").write_bytes(b"x")
    assert recovered_name(part) == tmp_path / "call (recovered 2).mp4"
    assert recover(part) == (None, 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["call (recovered).mp4"]


def test_discard_removes_the_part_and_other_files_are_never_offered(tmp_path):
    part = tmp_path / ".call.0123abcd.part.webm"
    part.write_bytes(b"x")
    (tmp_path / "holiday.mp4").write_bytes(b"x")
    (tmp_path / ".hidden.part.mp4").write_bytes(b"x")  # not a KnotCam part name
    later = time.time() + 60
    assert unfinished_recordings(tmp_path, now=later) == [part]
    discard(part)
    assert unfinished_recordings(tmp_path, now=later) == []



def test_discard_also_removes_what_an_interrupted_recovery_left(tmp_path):
    part = tmp_path / ".call.0123abcd.part.mp4"
    part.write_bytes(b"x")
    interrupted = tmp_path / ".call (recovered).mp4.tmp.mp4"  # the app quit while remuxing
    interrupted.write_bytes(b"x")
    discard(part)
    assert list(tmp_path.iterdir()) == []
