"""Build the KnotCam desktop bundle: `python installer/build.py [--dist DIR] [--work DIR] [--archive]`.

Runs PyInstaller on installer/knotcam.spec, which makes the one-folder bundle DIST/KnotCam/ (executable
KnotCam, KnotCam.exe on Windows; on macOS also DIST/KnotCam.app), then prints the build time, the bundle
size and its largest parts. With --archive it also packs the folder (zip on Windows/macOS, tar.gz on Linux).
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "installer" / "knotcam.spec"
NAME = "KnotCam"
MIB = 1 << 20


def folder_size(folder: Path) -> int:
    """Bytes of the regular files under `folder` (symlinks not followed, so nothing counts twice)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def largest_parts(bundle: Path, count: int = 8) -> list[tuple[str, int]]:
    """The `count` largest top-level packages or files of the bundle's library folder, (name, bytes)."""
    internal = bundle / "_internal" if (bundle / "_internal").is_dir() else bundle
    parts = [(p.name, folder_size(p) if p.is_dir() else p.lstat().st_size) for p in internal.iterdir()]
    return sorted(parts, key=lambda part: part[1], reverse=True)[:count]


def project_version() -> str:
    """KnotCam's version from pyproject.toml ('0' when it cannot be read)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    return found.group(1) if found else "0"


def archive_bundle(bundle: Path) -> Path:
    """Pack `bundle` next to itself as KnotCam-<version>-<os>-<arch>.zip/.tar.gz; returns the archive path."""
    system = {"Darwin": "macos"}.get(platform.system(), platform.system().lower())
    base = bundle.parent / f"{NAME}-{project_version()}-{system}-{platform.machine().lower()}"
    # tar keeps the executable bit and the symlinks PyInstaller makes on Linux; zip is what Windows/macOS open.
    fmt = "gztar" if system == "linux" else "zip"
    return Path(shutil.make_archive(str(base), fmt, root_dir=bundle.parent, base_dir=bundle.name))


def build(dist: Path, work: Path, verbose: bool = False) -> int:
    """Run PyInstaller on the spec into `dist` (intermediate files in `work`); returns its exit code."""
    command = [sys.executable, "-m", "PyInstaller", str(SPEC), "--noconfirm",
               "--distpath", str(dist), "--workpath", str(work), "--log-level", "INFO" if verbose else "WARN"]
    return subprocess.call(command, cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    """Build (and optionally archive) the bundle; prints time and size. Exit code 0 on success."""
    parser = argparse.ArgumentParser(prog="installer/build.py", description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the bundle goes (default: dist)")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="PyInstaller's work folder (default: build)")
    parser.add_argument("--archive", action="store_true", help="also pack the bundle folder into a zip/tar.gz")
    parser.add_argument("-v", "--verbose", action="store_true", help="show PyInstaller's INFO log")
    args = parser.parse_args(argv)

    if importlib.util.find_spec("PyInstaller") is None:
        print(f"installer/build.py: PyInstaller is not installed in {sys.executable}; "
              "run `make setup` (or pip install -r requirements.txt) first.", file=sys.stderr)
        return 2
    dist, work = args.dist.resolve(), args.work.resolve()
    start = time.perf_counter()
    code = build(dist, work, args.verbose)
    seconds = time.perf_counter() - start
    if code != 0:
        print(f"installer/build.py: PyInstaller failed (exit code {code}) after {seconds:.0f} s.", file=sys.stderr)
        return code
    bundle = dist / NAME
    print(f"built {bundle} in {seconds:.0f} s")
    print(f"bundle size: {folder_size(bundle) / MIB:.0f} MiB")
    print("largest parts: " + ", ".join(f"{name} {size / MIB:.0f} MiB" for name, size in largest_parts(bundle)))
    if args.archive:
        archive = archive_bundle(bundle)
        print(f"archive: {archive} ({archive.stat().st_size / MIB:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
