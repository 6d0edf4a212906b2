"""run.py, the make-free path (Windows, macOS): version refusal, the venv interpreter per platform, and the
real script starting main.py and pytest from the checkout's .venv."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run_module():
    spec = importlib.util.spec_from_file_location("run_script", ROOT / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_python_versions_outside_the_wheels_range_are_refused_with_the_fix():
    run = _run_module()
    for ok in ((3, 10, 14), (3, 11, 9), (3, 12, 3)):
        assert run.python_problem(ok) is None
    for bad in ((3, 13, 1), (3, 9, 18), (3, 14, 0)):
        message = run.python_problem(bad)
        assert ".".join(map(str, bad)) in message and "py -3.12 run.py" in message and "\n" not in message


def test_the_venv_interpreter_is_where_each_platform_puts_it():
    run = _run_module()
    assert run.venv_python(Path("env"), "nt") == Path("env") / "Scripts" / "python.exe"
    assert run.venv_python(Path("env"), "posix") == Path("env") / "bin" / "python"


def _script(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_run_py_passes_its_arguments_to_main_and_returns_its_exit_code():
    """The set-up is done (make test made .venv): run.py goes straight to main.py."""
    done = _script("--self-test")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "self-test passed" in done.stdout
    refused = _script("render", "--frames", "0", "--out", "x.mp4")
    assert refused.returncode == 2


def test_run_py_test_runs_pytest_in_the_checkout():
    done = _script("test", "--collect-only", "tests/test_run_script.py")  # run.py adds -q: node ids
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_the_venv_interpreter_is_where_each_platform_puts_it" in done.stdout
