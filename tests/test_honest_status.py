"""Honest status: a broken default engine fails the self-test and `render --animator knot`, never a silent warp."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from app.testing import prepare_qt_environment
from engine.assets import default_weights_path
from tests.conftest import REPO

prepare_qt_environment()

from app.main import self_test  # noqa: E402

SHIPPED = default_weights_path("tiny")
needs_tiny = pytest.mark.skipif(not SHIPPED.is_file(), reason="tiny weights not installed")


@pytest.fixture()
def corrupt_weights(tmp_path):
    """The shipped tiny weights with their tensor bytes overwritten: same name, same sidecar, unloadable."""
    bad = tmp_path / "tiny.safetensors"
    shutil.copy(SHIPPED.with_suffix(".json"), bad.with_suffix(".json"))
    bad.write_bytes(b"\x00garbage" * 4096)
    return bad


@needs_tiny
def test_self_test_fails_with_the_reason_when_the_engine_cannot_load(corrupt_weights):
    lines: list[str] = []
    assert self_test(lines.append, weights=str(corrupt_weights)) == 1
    assert lines[-1].startswith("self-test failed: the default engine (Knot Forcing) cannot load: ")
    assert not any("rendered" in line for line in lines)


@needs_tiny
def test_self_test_command_exits_non_zero_on_corrupt_weights(corrupt_weights):
    done = subprocess.run([sys.executable, "main.py", "--self-test", "--weights", str(corrupt_weights)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "cannot load" in done.stdout and "Traceback" not in done.stdout + done.stderr


@needs_tiny
def test_knot_render_with_broken_weights_is_an_error_without_output(tmp_path, corrupt_weights, capsys):
    import main as knotcam

    out = tmp_path / "never.webm"
    code = knotcam.main(["render", "--animator", "knot", "--weights", str(corrupt_weights), "--frames", "3",
                         "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert "The Knot Forcing animator cannot be loaded" in err and "\n" not in err and err.endswith(".")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.json", "tiny.safetensors"]


@pytest.mark.parametrize("command", ["bench", "soak", "bench-model", "bench-driving", "bench-warp", "bench-recording",
                                     "eval"])
def test_harness_results_go_outside_the_tracked_tree_by_default(command):
    import main as knotcam

    parser = knotcam.build_parser(command)
    out = parser.parse_args([command]).out.resolve()
    assert out.is_relative_to(REPO / "runs")
    ignored = subprocess.run(["git", "check-ignore", "-q", str(out)], cwd=REPO)
    assert ignored.returncode == 0, f"{out} would be tracked by git"
