"""`make run` / `make test` without make (Windows): `py -3.12 run.py` opens the app, `py -3.12 run.py test`
runs the tests. Creates .venv with this Python and installs requirements.txt once, like the Makefile; any
other arguments go to main.py (`py -3.12 run.py render --portrait P --driving V --out out.mp4`)."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"


def venv_python(venv_dir: Path, os_name: str = os.name) -> Path:
    """The interpreter inside a virtual environment: Scripts\\python.exe on Windows, bin/python elsewhere."""
    return venv_dir / ("Scripts/python.exe" if os_name == "nt" else "bin/python")


def python_problem(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> str | None:
    """Why this Python cannot run KnotCam, in one sentence with the fix, or None when it can."""
    if (3, 10) <= tuple(version[:2]) <= (3, 12):
        return None
    found = ".".join(str(part) for part in version)
    return (f"KnotCam needs Python 3.10, 3.11 or 3.12 (this is {found}); mediapipe 0.10.21 has no wheels for "
            "3.13. Install 3.12 from python.org (Windows: winget install Python.Python.3.12; macOS: brew install "
            "python@3.12) and run: py -3.12 run.py (Windows) or python3.12 run.py")


def setup(venv_dir: Path = VENV) -> Path:
    """Create the virtual environment and install the pinned requirements, once (again when requirements.txt
    changes); returns its interpreter."""
    problem = python_problem()
    if problem:
        sys.exit(problem)
    python = venv_python(venv_dir)
    if not python.exists():
        venv.create(venv_dir, with_pip=True)
    requirements, stamp = ROOT / "requirements.txt", venv_dir / ".installed"
    if not stamp.exists() or stamp.stat().st_mtime < requirements.stat().st_mtime:
        subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r",
                        str(requirements)], check=True)
        stamp.touch()
    return python


def main(argv: list[str]) -> int:
    python = setup()
    if argv[:1] == ["test"]:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        return subprocess.run([str(python), "-m", "pytest", "-q", *argv[1:]], cwd=ROOT, env=env).returncode
    return subprocess.run([str(python), "main.py", *argv], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
