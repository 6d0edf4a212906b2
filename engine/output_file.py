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
    """A video container the pinned PyAV (its bundled FFmpeg) writes, the encoder it gets and their options."""

    extension: str  # with the dot, lower case
    codec: str  # PyAV encoder name
    description: str
    muxer_options: tuple[tuple[str, str], ...] = ()
    codec_options: tuple[tuple[str, str], ...] = ()
    bits_per_pixel: float = 0.0  # target bit rate per pixel and frame; 0 = the encoder's constant quality


# PyAV 18.1's wheel bundles FFmpeg with libx264 and libvpx (the pinned OpenCV has no H.264 encoder). H.264 MP4
# is the default: every browser, chat preview and editor plays it. The MP4 is fragmented (one fragment per
# one-second keyframe interval), so a recording cut by a crash or power loss plays up to its last second
# (engine/recovery.py finishes such a file). WebM (VP8, clusters of one second) stays for those who want it.
# x264's "ultrafast" preset: half the CPU of "veryfast" (10 against 16-21 ms per 1080p frame on the 2-core CI
# machine) for files about 1.8x larger, because a recording is encoded while the avatar is generated on the
# same cores (benchmarks/recording.json); one encoder thread, so it never holds both cores of a small machine
# at once (1080p: 89-92 % of the avatar's fps kept, against 78-93 % with x264's own thread count).
CONTAINERS: dict[str, Container] = {
    ".mp4": Container(".mp4", "libx264", "H.264 in MP4",
                      muxer_options=(("movflags", "frag_keyframe+empty_moov+default_base_moof"),
                                     ("flush_packets", "1")),
                      codec_options=(("preset", "ultrafast"), ("tune", "zerolatency"), ("crf", "21"),
                                     ("threads", "1"))),
    ".webm": Container(".webm", "libvpx", "VP8 in WebM",
                       muxer_options=(("cluster_time_limit", "1000"), ("live", "1"), ("flush_packets", "1")),
                       codec_options=(("deadline", "realtime"), ("cpu-used", "8"), ("crf", "10")), bits_per_pixel=0.15),
}
RECORDING_EXTENSION = ".mp4"


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
        raise OutputRefusedError(f"The output {out} is a folder: give a file name such as {out / 'avatar.mp4'}.")
    container = container_for(out)
    check_writable_folder(out.parent if str(out.parent) else Path("."), out)
    return container


def check_frame_count(frames: int | None) -> None:
    """OutputRefusedError when a requested frame count is below 1 (None: the source decides)."""
    if frames is not None and frames < 1:
        raise OutputRefusedError(f"--frames must be at least 1 (got {frames}).")
