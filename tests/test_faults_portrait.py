"""Bad portraits: not an image, no face, tiny, huge (8k), grayscale, RGBA, truncated, absurd header sizes.
Each is either animated (with what changed said in a sentence) or refused with one clear sentence, and in
the window the previous portrait stays active."""

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.testing import prepare_qt_environment

prepare_qt_environment()  # before pytest-qt creates the QApplication

from app.main_window import MainWindow  # noqa: E402
from app.testing import temporary_settings  # noqa: E402
from engine.assets import DEFAULT_PORTRAIT  # noqa: E402
from engine.errors import InvalidImageError, NoFaceFoundError  # noqa: E402
from engine.face.portrait import MAX_SIDE, load_portrait  # noqa: E402
from tests.conftest import PORTRAITS  # noqa: E402


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height RGB pixels, followed by a few bytes of image data."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + png_chunk(b"IEND", b"")


def obama() -> np.ndarray:
    return cv2.imread(str(PORTRAITS / "obama.jpg"))  # (720, 576, 3) BGR


def put(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def write(path: Path, bgr: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), bgr)
    return path


BAD = {
    "notes.png": (lambda p: put(p, b"these are my notes, not a picture\n"), InvalidImageError,
                  "not an image file"),
    "landscape.png": (lambda p: write(p, np.tile(np.linspace(0, 255, 320, dtype=np.uint8), (240, 1))),
                      NoFaceFoundError, "No face was found"),
    "icon.png": (lambda p: write(p, cv2.resize(obama(), (40, 50))), InvalidImageError, "at least 64"),
    "cut.jpg": (lambda p: put(p, (PORTRAITS / "obama.jpg").read_bytes()[:5000]), InvalidImageError,
                "damaged or truncated"),
    "empty.jpg": (lambda p: put(p, b""), InvalidImageError, "not an image file"),
    "bomb.png": (lambda p: put(p, png_claiming(100_000, 100_000)), InvalidImageError, "larger than 400 megapixels"),
    "wide.png": (lambda p: put(p, png_claiming(30_000, 15_000)), InvalidImageError, "larger than 400 megapixels"),
    "cut_huge.png": (lambda p: put(p, png_claiming(16_000, 8_000)), InvalidImageError, "damaged or truncated"),
}


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow warns, then we refuse
@pytest.mark.parametrize("name", list(BAD))
def test_bad_portrait_file_raises_its_named_error_with_one_sentence(tmp_path, face_tracker, name):
    make, error, words = BAD[name]
    path = make(tmp_path / name)
    with pytest.raises(error) as info:
        load_portrait(path, face_tracker)
    message = str(info.value)
    assert words in message and "\n" not in message and "Traceback" not in message


def test_8k_photo_is_shrunk_and_its_face_found(tmp_path, face_tracker):
    big = cv2.resize(obama(), (6144, 7680), interpolation=cv2.INTER_LINEAR)  # 8k on its long side
    path = write(tmp_path / "poster_8k.jpg", big)
    portrait = load_portrait(path, face_tracker)
    assert max(portrait.image.shape[:2]) == MAX_SIDE
    assert portrait.landmarks.shape == (478, 3)


def test_phone_photo_over_80_megapixels_is_downscaled_on_load_not_refused(tmp_path, face_tracker):
    from PIL import Image

    from app.portrait_loader import portrait_notice

    canvas = Image.new("RGB", (10_240, 8_192), (120, 110, 100))  # 84 MP, a 108 MP phone's league
    face = Image.open(PORTRAITS / "obama.jpg").resize((4_608, 5_760))
    canvas.paste(face, (2_800, 1_200))
    path = tmp_path / "phone.jpg"
    canvas.save(path, quality=80)
    portrait = load_portrait(path, face_tracker)
    assert max(portrait.image.shape[:2]) == MAX_SIDE
    assert portrait.image.shape[:2] == (819, 1024)  # the photo's proportions kept
    centre = portrait.landmarks[:, :2].mean(axis=0) * 10_240 / 1024  # back in the photo's pixels
    assert 2_800 < centre[0] < 2_800 + 4_608 and 1_200 < centre[1] < 1_200 + 5_760
    assert "10240x8192" in portrait_notice(str(path)) and "scaled down" in portrait_notice(str(path))


@pytest.mark.parametrize(("name", "make"), [
    ("grey.png", lambda: cv2.cvtColor(obama(), cv2.COLOR_BGR2GRAY)),
    ("cutout.png", lambda: np.dstack([obama(), np.full(obama().shape[:2], 255, np.uint8)])),
    ("grey16.png", lambda: (cv2.cvtColor(obama(), cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257)),
])
def test_grayscale_rgba_and_16_bit_photos_load_as_rgb_with_their_face(tmp_path, face_tracker, name, make):
    portrait = load_portrait(write(tmp_path / name, make()), face_tracker)
    assert portrait.image.dtype == np.uint8 and portrait.image.shape == (720, 576, 3)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_window_keeps_the_previous_portrait_through_every_bad_file(qtbot, tmp_path):
    window = MainWindow(temporary_settings(tmp_path))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: Path(window.active_portrait_path) == DEFAULT_PORTRAIT, timeout=20000)
    active = window.active_portrait
    for name, (make, _error, words) in BAD.items():
        path = make(tmp_path / name)
        window.load_portrait_file(str(path))
        qtbot.waitUntil(lambda words=words: words in window.portrait_panel.error_text(), timeout=10000)
        assert "previous portrait stays" in window.portrait_panel.error_text()
        assert window.active_portrait is active and Path(window.active_portrait_path) == DEFAULT_PORTRAIT
    shown = window.avatar_view.frames_shown
    qtbot.waitUntil(lambda: window.avatar_view.frames_shown > shown + 3, timeout=10000)  # still animating
