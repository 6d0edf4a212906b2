"""The desktop bundle (installer/knotcam.spec, installer/build.py): built once into a temporary folder, then
run from outside the repository with a clean environment, as a user would start it.

The build takes a few minutes (PyInstaller analysing torch), so the module builds once and shares the bundle.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.installer

ROOT = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = ROOT / "installer" / "build.py"
EXECUTABLE = "KnotCam.exe" if sys.platform == "win32" else "KnotCam"
SELF_TEST_FRAMES = 60  # app.main.SELF_TEST_FRAMES, not imported: this test must not load the app in-process
# Hang guards only (the build on 2 shared cores takes 2-5 minutes); no assertion is made on time.
BUILD_TIMEOUT_S = 1800
RUN_TIMEOUT_S = 600


def _load_build_module():
    spec = importlib.util.spec_from_file_location("knotcam_installer_build", BUILD_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """dist/KnotCam/ built by `python installer/build.py` into a temporary folder."""
    out = tmp_path_factory.mktemp("installer")
    result = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--dist", str(out / "dist"), "--work", str(out / "build")],
        capture_output=True, text=True, timeout=BUILD_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    shutil.rmtree(out / "build", ignore_errors=True)  # PyInstaller's scratch files: ~0.5 GB nobody reads again
    print(result.stdout)  # build time, bundle size, largest parts (shown with pytest -s or on failure)
    return out / "dist" / "KnotCam"


def run_bundle(bundle: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the bundled executable offscreen, from `home`, with no trace of the development environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    # Settings, matplotlib's font cache and the like go to a throw-away home, not the developer's.
    env.update(QT_QPA_PLATFORM="offscreen", HOME=str(home), USERPROFILE=str(home),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"))
    return subprocess.run([str(bundle / EXECUTABLE), *args], cwd=home, env=env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)


def internal(bundle: Path) -> Path:
    """The bundle's library folder (PyInstaller 6 puts everything but the executable in _internal/)."""
    return bundle / "_internal"


def test_bundled_self_test_renders_60_frames_with_knot_forcing(bundle, tmp_path):
    result = run_bundle(bundle, tmp_path, "--self-test")
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    lines = result.stdout.splitlines()
    print(result.stdout)
    assert "portrait: astronaut.png 512x512, face found" in lines
    # The shipped weights are in the bundle, so Knot Forcing loads (a fallback line would give the reason).
    assert "animator: Knot Forcing (tiny, cpu)" in lines
    assert any(line.startswith(f"rendered {SELF_TEST_FRAMES} frames in ") for line in lines)
    assert any(line.startswith("virtual camera: ") for line in lines)
    assert any(line.startswith("Qt: PySide6 ") and line.endswith("platform offscreen") for line in lines)
    assert lines[-1] == "self-test passed"


def test_bundled_window_starts_offscreen_and_closes_cleanly(bundle, tmp_path):
    result = run_bundle(bundle, tmp_path, "--quit-after", "8")
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Traceback" not in result.stderr
    assert "QThread: Destroyed while thread is still running" not in result.stderr
    assert "Could not load the Qt platform plugin" not in result.stderr


def test_bundle_carries_assets_and_weights(bundle):
    shipped = [
        "assets/portraits/astronaut.png", "assets/portraits/obama.jpg", "assets/portraits/biden.jpg",
        "assets/clips/carphone.mp4", "assets/weights/tiny.safetensors", "assets/weights/tiny.json",
    ]
    if (ROOT / "assets" / "README.md").is_file():
        shipped.append("assets/README.md")
    missing = [name for name in shipped if not (internal(bundle) / name).is_file()]
    assert not missing


def test_bundle_carries_every_mediapipe_model_and_graph(bundle):
    import mediapipe

    source = Path(mediapipe.__file__).parent
    models = [p.relative_to(source.parent) for p in (source / "modules").rglob("*")
              if p.suffix in (".tflite", ".binarypb")]
    assert models
    missing = [str(name) for name in models if not (internal(bundle) / name).is_file()]
    assert not missing


def test_bundle_carries_pyvirtualcam_native_backend(bundle):
    assert list((internal(bundle) / "pyvirtualcam").glob("_native_*"))


def test_bundle_holds_exactly_one_cv2_extension(bundle):
    extensions = [p for p in internal(bundle).rglob("cv2*") if p.suffix in (".so", ".pyd") and p.is_file()]
    assert len(extensions) == 1, extensions


@pytest.mark.parametrize("unused", ["jax", "jaxlib", "scipy", "sympy", "tkinter", "IPython", "torch/include",
                                    "torch/test", "cv2/qt", "PySide6/Qt/translations"])
def test_bundle_leaves_out_what_the_app_never_uses(bundle, unused):
    assert not (internal(bundle) / unused).exists()


def test_build_without_pyinstaller_fails_with_one_sentence():
    # -S: no site-packages, so this interpreter cannot import PyInstaller (nor anything else installed).
    result = subprocess.run([sys.executable, "-S", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "PyInstaller is not installed" in result.stderr


def test_archive_packs_the_bundle_folder_with_its_executable_bit(tmp_path):
    build = _load_build_module()
    folder = tmp_path / "KnotCam"
    (folder / "_internal").mkdir(parents=True)
    (folder / "_internal" / "data.txt").write_text("x")
    (folder / EXECUTABLE).write_bytes(b"#!/bin/sh\n")
    (folder / EXECUTABLE).chmod(0o755)
    archive = build.archive_bundle(folder)
    if archive.suffix == ".zip":
        import zipfile

        assert f"KnotCam/{EXECUTABLE}" in zipfile.ZipFile(archive).namelist()
    else:
        with tarfile.open(archive) as tar:
            member = tar.getmember(f"KnotCam/{EXECUTABLE}")
            assert member.mode & 0o111
