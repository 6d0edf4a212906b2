"""Fuzz the two loaders that read files a user picks: engine.face.portrait.load_portrait and
engine.video.VideoFileSource. A few hundred malformed files (zero bytes, random bytes behind an image or
video extension, truncated and bit-flipped real files, a valid header followed by garbage, headers claiming
absurd sizes), generated deterministically by hypothesis. Each must end in success or a named KnotCamError:
no other exception, no crash, no hang over 5 s.

The loaders run in a worker process (`python -m tests.test_fuzz`), fed one path per line: a hang in native
code (FFmpeg, libpng) cannot be interrupted from Python, but a process can be killed.
"""

from __future__ import annotations

import os
import selectors
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

HANG_S = 5.0
REPO = Path(__file__).resolve().parent.parent
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "bmp", "webp", "tif", "gif")
VIDEO_EXTENSIONS = ("mp4", "avi", "mov", "mkv", "webm")


# --- the worker process ----------------------------------------------------------------------------------------
def _serve() -> None:
    """Read 'portrait|video <TAB> path' lines; answer 'ok', 'named <Error>' or 'uncaught <Error>: message'."""
    from engine.errors import KnotCamError
    from engine.face.portrait import load_portrait
    from engine.face.tracker import FaceTracker
    from engine.video import VideoFileSource

    tracker = FaceTracker()
    print("ready", flush=True)
    for line in sys.stdin:
        kind, path = line.rstrip("\n").split("\t", 1)
        try:
            if kind == "sleep":  # for the test of the guard itself
                time.sleep(float(path))
            elif kind == "portrait":
                load_portrait(Path(path), tracker)
            else:
                with VideoFileSource(path, loop=True) as source:
                    for _ in range(8):
                        source.read()
            answer = "ok"
        except KnotCamError as err:
            answer = f"named {type(err).__name__}"
        except BaseException as err:  # noqa: BLE001 - exactly what the fuzz test looks for
            answer = f"uncaught {type(err).__name__}: {str(err)[:200]!r}"
        print(answer, flush=True)


class Loaders:
    """The worker process, restarted after a hang or a crash."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        env = {**os.environ, "OPENCV_LOG_LEVEL": "SILENT", "OPENCV_FFMPEG_LOGLEVEL": "-8"}
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.test_fuzz"], cwd=REPO, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self._answer(60.0) == "ready"

    def _answer(self, timeout: float) -> str:
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                self.close()
                return f"hang over {timeout:g} s"
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            self.proc = None
            return f"crash (exit code {code})"
        return line.strip()

    def load(self, kind: str, path: Path | str, hang_s: float = HANG_S) -> str:
        """What loading `path` as a portrait or a video gives."""
        if self.proc is None:
            self._start()
        self.proc.stdin.write(f"{kind}\t{path}\n")
        self.proc.stdin.flush()
        return self._answer(hang_s)

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


if __name__ == "__main__":
    _serve()
    sys.exit(0)

# --- the corpus ------------------------------------------------------------------------------------------------
import cv2  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header(width: int, height: int) -> bytes:
    """PNG signature and a valid IHDR claiming width x height 8-bit RGB."""
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))


def bmp_header(width: int, height: int) -> bytes:
    return b"BM" + struct.pack("<IHHI", 0, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0,
                                                                  2835, 2835, 0, 0)


def jpeg_header(width: int, height: int) -> bytes:
    """SOI, JFIF APP0 and a baseline SOF0 claiming width x height, 3 components."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + app0 + sof


def gif_header(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0xF7, 0, 0)


HEADERS = {"png": png_header, "bmp": bmp_header, "jpg": jpeg_header, "gif": gif_header}
FIXED_HEADERS = {"tif": b"II*\x00\x08\x00\x00\x00", "webp": b"RIFF\x00\x10\x00\x00WEBPVP8 ",
                 "mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom\x00\x00\x10\x00moov",
                 "avi": b"RIFF\x00\x10\x00\x00AVI LIST\x00\x01\x00\x00hdrlavih",
                 "mkv": b"\x1aE\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04",
                 "webm": b"\x1aE\xdf\xa3\x9f\x42\x82\x84webm"}


def _real_images() -> dict[str, bytes]:
    """Small real face images, encoded in each format the corpus mutates."""
    bgr = cv2.resize(cv2.imread(str(REPO / "assets" / "portraits" / "obama.jpg")), (144, 180))
    out = {}
    for ext in ("png", "jpg", "bmp", "webp", "tif"):
        ok, data = cv2.imencode(f".{ext}", bgr)
        assert ok
        out[ext] = data.tobytes()
    return out


REAL_IMAGES = _real_images()
REAL_VIDEO = (REPO / "assets" / "clips" / "carphone.mp4").read_bytes()


def _flip(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    buf = bytearray(data)
    for position, value in flips:
        buf[position % len(buf)] = value
    return bytes(buf)


@st.composite
def mutated(draw, originals: dict[str, bytes]) -> tuple[str, bytes]:
    """A real file, truncated or with bytes overwritten (keeping the header now and then)."""
    ext, data = draw(st.sampled_from(sorted(originals.items())))
    if draw(st.booleans()):
        return ext, data[: draw(st.integers(0, len(data) - 1))]
    flips = draw(st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)), min_size=1, max_size=12))
    return ext, _flip(data, flips)


@st.composite
def header_then_garbage(draw, extensions: tuple[str, ...]) -> tuple[str, bytes]:
    """A well-formed header (some claiming absurd dimensions) followed by random bytes."""
    names = sorted(set(extensions) & (set(HEADERS) | set(FIXED_HEADERS)))
    ext = draw(st.sampled_from(names))
    if ext in HEADERS:
        largest = 2**31 - 1 if ext == "png" else 65535  # what each format's header can claim
        size = st.one_of(st.integers(1, 4096), st.integers(4096, largest))
        head = HEADERS[ext](draw(size), draw(size))
    else:
        head = FIXED_HEADERS[ext]
    return ext, head + draw(st.binary(max_size=512))


def corpus(extensions: tuple[str, ...], originals: dict[str, bytes]):
    """Malformed files as (extension, bytes)."""
    return st.one_of(
        st.tuples(st.sampled_from(extensions), st.just(b"")),  # zero bytes
        st.tuples(st.sampled_from(extensions), st.binary(min_size=1, max_size=2048)),  # random bytes
        mutated(originals),
        header_then_garbage(extensions),
    )


@pytest.fixture(scope="module")
def loaders():
    worker = Loaders()
    yield worker
    worker.close()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def check(loaders: Loaders, folder: Path, kind: str, ext: str, data: bytes) -> None:
    path = folder / f"case.{ext}"
    path.write_bytes(data)
    answer = loaders.load(kind, path)
    assert answer == "ok" or answer.startswith("named "), f"{kind} {path.name} ({len(data)} bytes): {answer}"


@FUZZ
@given(case=corpus(IMAGE_EXTENSIONS, REAL_IMAGES))
def test_malformed_portrait_files_give_a_named_error_or_a_portrait_within_5_s(loaders, folder, case):
    check(loaders, folder, "portrait", *case)


@FUZZ
@given(case=corpus(VIDEO_EXTENSIONS, {"mp4": REAL_VIDEO, **REAL_IMAGES}))
def test_malformed_video_files_give_a_named_error_or_frames_within_5_s(loaders, folder, case):
    check(loaders, folder, "video", *case)


def test_the_guard_reports_a_worker_that_does_not_answer_as_a_hang_and_replaces_it(loaders, folder):
    assert loaders.load("sleep", "30", hang_s=0.5) == "hang over 0.5 s"
    assert loaders.proc is None  # killed; the next load starts a fresh worker
    assert loaders.load("portrait", REPO / "assets" / "portraits" / "obama.jpg") == "ok"
