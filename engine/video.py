"""Video files in and out: a looping RGB frame source and a video writer that never leaves half a file."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from engine.errors import RecordingWriteError, VideoSourceError
from engine.output_file import CONTAINERS, container_for


class VideoFileSource:
    """Iterates a video file's frames as (H, W, 3) uint8 RGB, optionally looping for ever."""

    def __init__(self, path: str | Path, loop: bool = False) -> None:
        self.path = Path(path)
        self.loop = loop
        if not self.path.is_file():
            raise VideoSourceError(f"The video file {self.path} does not exist.")
        self._capture = cv2.VideoCapture(str(self.path))
        ok, first = self._capture.read() if self._capture.isOpened() else (False, None)
        if not ok or first is None:
            self._capture.release()
            raise VideoSourceError(f"{self.path.name} is not a video file that can be read.")
        self._pending: np.ndarray | None = first
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self._fps = float(fps) if fps and 1.0 <= fps <= 1000.0 else 30.0
        self.size = (first.shape[1], first.shape[0])  # (width, height)

    @property
    def fps(self) -> float:
        """Frames per second stated by the file (30 when it states none)."""
        return self._fps

    @property
    def frame_count(self) -> int:
        """Frame count stated by the file's header (may be approximate for some containers)."""
        return int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))

    def read(self) -> np.ndarray | None:
        """The next RGB frame, or None at the end (never None when looping)."""
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        ok, frame = self._capture.read()
        if not ok and self.loop:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._capture.read()
            if not ok:  # some containers cannot seek: reopen instead
                self._capture.release()
                self._capture = cv2.VideoCapture(str(self.path))
                ok, frame = self._capture.read()
        if not ok or frame is None:
            return None
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def __iter__(self) -> Iterator[np.ndarray]:
        while (frame := self.read()) is not None:
            yield frame

    def close(self) -> None:
        """Release the file."""
        self._capture.release()

    def __enter__(self) -> VideoFileSource:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


#: The names create_hidden_part gives (stem and extension as groups): how engine/recovery.py finds them.
PART_NAME = re.compile(rf"^\.(?P<stem>.+)\.[0-9a-f]{{8}}\.part(?P<ext>{'|'.join(map(re.escape, CONTAINERS))})$")


def create_hidden_part(target: Path) -> Path:
    """A new empty hidden file next to `target` (`.name.XXXX.part.ext`), with the user's normal mode (umask)."""
    folder = target.parent if str(target.parent) else Path(".")
    while True:
        part = folder / f".{target.stem}.{secrets.token_hex(4)}.part{target.suffix.lower()}"
        try:
            os.close(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return part
        except FileExistsError:
            continue


def count_packets(path: Path) -> int:
    """Video packets in the file at `path` that demux (no decoding); 0 when it is no readable video."""
    import av

    try:
        with av.open(str(path)) as container:
            return sum(1 for packet in container.demux(video=0) if packet.size)
    except (av.FFmpegError, OSError, IndexError):
        return 0


def file_holds_frames(path: Path, frames: int) -> bool:
    """True when the video at `path` holds `frames` frames: a cheap check that every frame reached the disk."""
    return frames >= 1 and count_packets(path) == frames


def _even(n: int) -> int:
    return n + (n % 2)


def rgb_to_yuv420p(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB, H and W even -> (3H/2, W) uint8 planar I420: BT.601, limited range (16-235/240).

    The colours an H.264 or VP8 file carries without colour tags. OpenCV's conversion, about 5x faster here
    than FFmpeg's swscale from rgb24 (2 against 10 ms for a 1080p frame): a recording is converted while the
    avatar runs on the same cores.
    """
    h, w = rgb.shape[:2]
    y, cr, cb = cv2.split(cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb))  # full-range BT.601
    planes = np.empty(h * w * 3 // 2, dtype=np.uint8)  # Y, then U (Cb), then V (Cr), each row-major
    quarter = (h // 2) * (w // 2)
    planes[: h * w] = cv2.convertScaleAbs(y, alpha=219 / 255, beta=16).ravel()
    for start, plane in ((h * w, cb), (h * w + quarter, cr)):
        half = cv2.resize(plane, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        planes[start : start + quarter] = cv2.convertScaleAbs(half, alpha=224 / 255, beta=128 * (1 - 224 / 255)).ravel()
    return planes.reshape(h * 3 // 2, w)


class AtomicVideoWriter:
    """Writes RGB frames (H, W, 3) uint8 to a video that appears under its final name only once complete.

    The extension picks the container and encoder (engine/output_file.py; PyAV). Frames go to a hidden
    temporary file next to the target (`.name.XXXX.part.ext`); `close()` moves it into place with os.replace,
    `abort()` (or an exception inside `with`) deletes it. The temporary file is written in self-contained
    pieces of about one second, so what a crash leaves behind can be recovered (engine/recovery.py). An odd
    width or height is padded by one edge row/column (H.264's 4:2:0 needs even sizes).
    """

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int]) -> None:
        import av

        self.path = Path(path)
        self.size = size  # (width, height) of the frames given to write()
        container = container_for(self.path)
        folder = self.path.parent if str(self.path.parent) else Path(".")
        if not folder.is_dir():
            raise VideoSourceError(f"The output folder {folder} does not exist.")
        self._tmp = create_hidden_part(self.path)
        try:  # also on Ctrl+C here: the temporary file must not outlive a writer that never existed
            self._out = av.open(str(self._tmp), "w", format=container.extension[1:],
                                options=dict(container.muxer_options))
            rate = Fraction(fps).limit_denominator(1001)
            self._stream = self._out.add_stream(container.codec, rate=rate, options=dict(container.codec_options))
            self._stream.width, self._stream.height = _even(size[0]), _even(size[1])
            self._stream.pix_fmt = "yuv420p"
            self._stream.codec_context.gop_size = max(1, round(fps))  # a keyframe (and a fragment) each second
            self._stream.codec_context.max_b_frames = 0  # packets in display order: recovery keeps a prefix
            if container.bits_per_pixel:
                self._stream.codec_context.bit_rate = int(container.bits_per_pixel * size[0] * size[1] * fps)
        except BaseException as err:
            self._tmp.unlink(missing_ok=True)
            if isinstance(err, (av.FFmpegError, ValueError)):
                raise VideoSourceError(f"Cannot write a {container.description} video to {self.path}.") from err
            raise
        self.frames_written = 0
        self._done = False
        self._last_yuv: np.ndarray | None = None  # the last frame written, as (3H/2, W) I420

    def write(self, frame_rgb: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 RGB frame of the writer's size.

        RecordingWriteError when the encoder or the disk refuses it (full disk, vanished device).
        """
        if (frame_rgb.shape[1], frame_rgb.shape[0]) != self.size:
            raise ValueError(f"frame size {frame_rgb.shape[1]}x{frame_rgb.shape[0]} != writer size {self.size}")
        pad_y, pad_x = self._stream.height - self.size[1], self._stream.width - self.size[0]
        if pad_y or pad_x:
            frame_rgb = np.pad(frame_rgb, ((0, pad_y), (0, pad_x), (0, 0)), mode="edge")
        self._last_yuv = rgb_to_yuv420p(np.ascontiguousarray(frame_rgb))
        self._encode(self._last_yuv)

    def write_again(self) -> None:
        """Append the last written frame once more (a constant-rate recording's repeat: no new conversion)."""
        if self._last_yuv is None:
            raise ValueError("no frame was written yet")
        self._encode(self._last_yuv)

    def _encode(self, yuv: np.ndarray) -> None:
        import av

        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = self.frames_written
        try:
            self._out.mux(self._stream.encode(frame))
        except (av.FFmpegError, OSError) as err:
            raise RecordingWriteError(f"Stopped: {self.path.name} could not be written ({_reason(err)}), "
                                      "so nothing was saved.") from err
        self.frames_written += 1

    def close(self) -> Path:
        """Finish the file and move it to its final name; returns that path.

        RecordingWriteError (and no file under the name) when the finished file does not hold every frame.
        """
        import av

        if not self._done:
            self._done = True
            try:
                self._out.mux(self._stream.encode(None))
                self._out.close()
            except (av.FFmpegError, OSError) as err:
                self._tmp.unlink(missing_ok=True)
                raise RecordingWriteError(f"{self.path.name} could not be written to the end ({_reason(err)}), "
                                          "so nothing was saved.") from err
            if self.frames_written and not file_holds_frames(self._tmp, self.frames_written):
                self._tmp.unlink(missing_ok=True)
                raise RecordingWriteError(f"{self.path.name} could not be written to the end (is the disk full "
                                          "or gone?), so nothing was saved.")
            os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Stop and delete the partial file; nothing is left under the final name."""
        import av

        if not self._done:
            self._done = True
            try:
                self._out.close()
            except (av.FFmpegError, OSError):
                pass  # the file is deleted anyway
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicVideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _reason(err: BaseException) -> str:
    """The OS's words for a write failure (e.g. 'no space left on device'), without errno numbers or paths."""
    words = getattr(err, "strerror", None) or str(err)
    return str(words).split(":")[0].strip().lower() or "write error"
