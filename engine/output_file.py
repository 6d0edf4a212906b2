"""Where a video may be written: the output rules checked before any work starts, and the container that the
file's extension names."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from engine.errors import OutputRefusedError


@dataclass(frozen=True)
class Container:
    """A video container OpenCV's bundled FFmpeg can write here, and the codec it gets."""

    extension: str  # with the dot, lower case
    fourcc: str
    description: str


# The pinned opencv-contrib-python 4.11 has no H.264 encoder (avc1/H264 fail to open) and PyAV is not pinned.
# WebM plays in browsers and chat previews. VP8, not VP9: on the 2-core CPU here a 720p frame takes ~50 ms
# in VP8 and ~90 ms in VP9, and VP9 holds ~10 s of frames back at close (README, "Recording"). MPEG-4 Part 2
# MP4 (4 ms a frame) stays for players that want .mp4 and for weak CPUs.
CONTAINERS: dict[str, Container] = {
    ".webm": Container(".webm", "VP80", "VP8 in WebM"),
    ".mp4": Container(".mp4", "mp4v", "MPEG-4 Part 2 in MP4"),
}
RECORDING_EXTENSION = ".webm"


def container_for(path: str | Path) -> Container:
    """The container named by `path`'s extension; OutputRefusedError for any other extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in CONTAINERS:
        known = " or ".join(CONTAINERS)
        named = f"'{suffix}'" if suffix else "no extension"
        raise OutputRefusedError(f"The output {Path(path).name} has {named}: name it with {known}.")
    return CONTAINERS[suffix]


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_writable_folder(folder: Path, target: Path) -> None:
    """OutputRefusedError unless a file can be created in `folder` (tried for real: as root, modes say little)."""
    if not folder.exists():
        raise OutputRefusedError(f"The folder of {target} does not exist: create {folder} first.")
    if not folder.is_dir():
        raise OutputRefusedError(f"{folder} is a file, not a folder, so {target.name} cannot be written in it.")
    try:
        fd, probe = tempfile.mkstemp(prefix=".knotcam-probe.", dir=folder)
    except OSError as err:
        reason = err.strerror.lower() if err.strerror else "not writable"
        raise OutputRefusedError(f"Cannot write into the folder {folder} ({reason}).") from err
    os.close(fd)
    os.unlink(probe)


def check_video_output(out: str | Path, inputs: Iterable[str | Path] = ()) -> Container:
    """The container of `out` once it passes every output rule; OutputRefusedError (one sentence) otherwise.

    Refused: an output that is one of `inputs`, a folder, in a missing or unwritable folder, or whose
    extension names no container this build can write.
    """
    out = Path(out)
    for source in inputs:
        if _same_file(out, Path(source)):
            raise OutputRefusedError(f"The output {out} is also an input: choose another file name.")
    if out.is_dir():
        raise OutputRefusedError(f"The output {out} is a folder: give a file name such as {out / 'avatar.webm'}.")
    container = container_for(out)
    check_writable_folder(out.parent if str(out.parent) else Path("."), out)
    return container


def check_frame_count(frames: int | None) -> None:
    """OutputRefusedError when a requested frame count is below 1 (None: the source decides)."""
    if frames is not None and frames < 1:
        raise OutputRefusedError(f"--frames must be at least 1 (got {frames}).")
