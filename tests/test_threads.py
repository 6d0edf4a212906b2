"""One CPU thread policy for every entry point (engine/threads.py, `main.py --threads N`)."""

from __future__ import annotations

import logging

import cv2
import pytest
import torch

import main as knotcam
from engine.threads import choose_threads


@pytest.fixture
def restore_threads():
    before, before_cv2 = torch.get_num_threads(), cv2.getNumThreads()
    yield
    torch.set_num_threads(before)
    cv2.setNumThreads(before_cv2)


def test_one_core_and_two_cores_get_one_thread():
    assert choose_threads(cores=1) == 1
    assert choose_threads(cores=2) == 1


def test_eight_cores_leave_one_core_to_tracking_and_the_gui():
    assert choose_threads(cores=8) == 7


def test_an_explicit_thread_count_wins_over_the_cores():
    assert choose_threads(cores=2, explicit=4) == 4
    assert choose_threads(cores=8, explicit=1) == 1
    with pytest.raises(ValueError):
        choose_threads(explicit=0)


def test_global_threads_option_is_applied_before_the_subcommand_runs(restore_threads, capsys):
    assert knotcam.main(["--threads", "3", "params"]) == 0
    assert torch.get_num_threads() == 3
    assert cv2.getNumThreads() == 3  # OpenCV's pool follows the same policy
    assert "tiny" in capsys.readouterr().out


def test_without_threads_option_the_subcommand_gets_the_core_policy(restore_threads, monkeypatch, caplog):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    with caplog.at_level(logging.DEBUG, logger="knotcam"):
        assert knotcam.main(["params"]) == 0
    assert torch.get_num_threads() == 7
    assert "torch uses 7 CPU thread(s)" in caplog.text


def test_a_subcommand_has_no_threads_option_of_its_own(capsys):
    with pytest.raises(SystemExit) as exit_info:
        knotcam.main(["bench", "--threads", "2"])
    assert exit_info.value.code == 2


def test_a_thread_count_below_one_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        knotcam.main(["--threads", "0", "params"])
    assert exit_info.value.code == 2
    assert "at least 1" in capsys.readouterr().err


def test_a_lowered_thread_yields_the_cpu_and_the_others_keep_their_priority():
    import os
    import sys
    import threading

    from engine.threads import lower_this_thread

    if not sys.platform.startswith("linux"):
        pytest.skip("per-thread priorities are a Linux feature")
    seen: dict[str, int] = {}

    def background() -> None:
        lowered = lower_this_thread(5)
        seen["lowered"] = int(lowered)
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    worker = threading.Thread(target=background)
    worker.start()
    worker.join()
    assert seen["lowered"] == 1 and seen["nice"] == min(19, before + 5)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before  # the caller is untouched
