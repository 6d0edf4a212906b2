"""`make run` / `make test` without make (Windows): `py -3.12 run.py` opens the app, `py -3.12 run.py test`
runs the tests. Creates .venv with this Python and installs requirements.txt once, like the Makefile."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".installed"


def setup() -> None:
    """Create .venv and install the pinned requirements, once (again when requirements.txt changes)."""
    if not (3, 10) <= sys.version_info[:2] <= (3, 12):
        sys.exit(f"KnotCam needs Python 3.10, 3.11 or 3.12 (this is {sys.version.split()[0]}); mediapipe 0.10.21 "
                 "has no wheels for 3.13. Install 3.12 from python.org (Windows: winget install Python.Python.3.12) "
                 "and run: py -3.12 run.py")
    if not PY.exists():
        venv.create(VENV, with_pip=True)
    requirements = ROOT / "requirements.txt"
    if not STAMP.exists() or STAMP.stat().st_mtime < requirements.stat().st_mtime:
        subprocess.run([str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r",
                        str(requirements)], check=True)
        STAMP.touch()


def main(argv: list[str]) -> int:
    setup()
    if argv[:1] == ["test"]:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        return subprocess.run([str(PY), "-m", "pytest", "-q", *argv[1:]], cwd=ROOT, env=env).returncode
    return subprocess.run([str(PY), "main.py", *argv], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
