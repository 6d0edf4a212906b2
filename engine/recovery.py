"""Recordings cut short by a crash, a kill or a power loss: find them and finish what can be played.

A recording is written to a hidden part file next to its target (`.name.XXXX.part.mp4`, engine/video.py) in
self-contained pieces of about one second (fragmented MP4, one-second WebM clusters). When the app dies, that
file stays behind. `recover` copies every frame that still decodes into `name (recovered).mp4` (a remux: no
re-encoding, so it takes a moment even for an hour) and removes the part file; a part with no decodable frame
is removed. Nothing here asks the user: the GUI offers it (app/recovery_offer.py).
"""

from __future__ import annotations

import time
from pathlib import Path

from engine.video import PART_NAME

SETTLE_S = 30.0  # a part file written to in the last SETTLE_S seconds may belong to a running recording


def unfinished_recordings(folder: str | Path, now: float | None = None) -> list[Path]:
    """Part files left in `folder` by recordings that never finished, oldest first."""
    folder = Path(folder)
    now = time.time() if now is None else now
    try:
        found = {p: p.stat().st_mtime for p in folder.iterdir() if PART_NAME.match(p.name) and p.is_file()}
    except OSError:  # the folder is gone or unreadable: nothing to offer
        return []
    return sorted((p for p, mtime in found.items() if now - mtime >= SETTLE_S), key=found.__getitem__)


def _stem_and_extension(part: Path) -> tuple[str, str]:
    match = PART_NAME.match(part.name)
    if match is None:
        raise ValueError(f"{part.name} is not a KnotCam part file")
    return match["stem"], match["ext"]


def intended_name(part: Path) -> str:
    """The name the take was being recorded under: `call.mp4` for `.call.1a2b3c4d.part.mp4`."""
    return "".join(_stem_and_extension(part))


def recovered_name(part: Path) -> Path:
    """Where `recover` puts what it saves: `name (recovered).ext`, numbered when taken."""
    stem, ext = _stem_and_extension(part)
    target, n = part.with_name(f"{stem} (recovered){ext}"), 2
    while target.exists():
        target, n = part.with_name(f"{stem} (recovered {n}){ext}"), n + 1
    return target


def _unfinished_copy(target: Path) -> Path:
    """The hidden file `recover` writes before it is complete (one name per target, reused by a later try)."""
    return target.with_name(f".{target.name}.tmp{target.suffix}")


def recover(part: str | Path) -> tuple[Path | None, int]:
    """Save the decodable frames of `part` as `recovered_name(part)` and remove `part`.

    Returns (the saved file or None when no frame could be saved, frames saved). Packets are copied in
    order until the first one that no longer decodes (the piece being written when the app died).
    """
    import av

    part = Path(part)
    target = recovered_name(part)
    tmp = _unfinished_copy(target)
    saved = 0
    try:
        with av.open(str(part)) as src:
            stream = src.streams.video[0]
            with av.open(str(tmp), "w", format=target.suffix[1:]) as dst:
                out = dst.add_stream_from_template(stream)
                for packet in src.demux(stream):
                    if not packet.size:
                        continue
                    try:
                        packet.decode()
                    except av.FFmpegError:
                        break  # cut off mid-piece: what follows cannot be trusted
                    packet.stream = out
                    dst.mux(packet)
                    saved += 1
    except (av.FFmpegError, OSError, IndexError):
        pass  # a file cut before its first piece: nothing to save
    if saved:
        tmp.replace(target)
    else:
        tmp.unlink(missing_ok=True)
    part.unlink(missing_ok=True)
    return (target if saved else None), saved


def discard(part: str | Path) -> None:
    """Remove a part file the user does not want, and the copy an interrupted `recover` of it left."""
    part = Path(part)
    _unfinished_copy(recovered_name(part)).unlink(missing_ok=True)
    part.unlink(missing_ok=True)
