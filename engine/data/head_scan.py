"""`main.py scan-video`: a textured 3D head scan rendered as a video of a turning, nodding, leaning head.

Real video of the training set holds three people and few large turns. A head scan (a real face's photo
texture on its measured 3D shape, assets/scans/) shows the exact picture of a turn: the far cheek foreshortens,
the nose moves across it, the ear comes into view. The rendered video is one more training identity for
`prepare` (its targets are exact views, its priors the 2D warp of another view), the geometry a landmark warp
cannot know. A still face only: the scan has one expression (mouth shut), so it teaches turns, not speech.

Rendering: perspective camera, triangles painted far to near (back faces culled) into a triangle-index image
(OpenCV scan conversion), barycentric texture coordinates per pixel, one `remap` of the texture; rendered at
SUPERSAMPLE x the size and shrunk (smooth silhouettes). The motion is a sum of slow sines of incommensurate
periods, so yaw, pitch, roll and distance meet in many combinations. Deterministic: the same file each run.
Run: python main.py scan-video [--scan OBJ] [--out PATH] [--frames N].

Shapes: vertices (V, 3) float64 scan units; faces (F, 3) vertex indices; uv (T, 2) in [0, 1], v up.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.assets import SCANS_DIR, TRAINING_DIR
from engine.errors import InvalidImageError

SUPERSAMPLE = 2  # rendered at this multiple of the frame size, shrunk with INTER_AREA


@dataclass(frozen=True)
class HeadScan:
    """A textured triangle mesh: vertices (V, 3), faces (F, 3) into them, uv (T, 2), face_uv (F, 3) into uv,
    texture (h, w, 3) uint8 RGB."""

    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray
    face_uv: np.ndarray
    texture: np.ndarray

    @classmethod
    def load(cls, obj: Path) -> HeadScan:
        """A Wavefront OBJ with `v`, `vt` and triangular `f v/vt` lines, its texture named by the `.mtl`'s
        map_Kd (or OBJ.jpg beside it); InvalidImageError for a file that is not such a mesh."""
        vertices, uv, faces = [], [], []
        try:
            for line in Path(obj).read_text().splitlines():
                part = line.split()
                if not part:
                    continue
                if part[0] == "v":
                    vertices.append([float(x) for x in part[1:4]])
                elif part[0] == "vt":
                    uv.append([float(x) for x in part[1:3]])
                elif part[0] == "f":
                    faces.append([[int(i) for i in corner.split("/")[:2]] for corner in part[1:4]])
            face_array = np.array(faces, dtype=np.int64) - 1  # (F, 3, 2): vertex and uv index per corner
            if face_array.ndim != 3 or face_array.shape[1:] != (3, 2) or not vertices or not uv:
                raise ValueError("no textured triangles")
        except (OSError, ValueError) as err:
            raise InvalidImageError(f"{obj} is not a textured triangle mesh (OBJ with v, vt and f v/vt lines).") \
                from err
        texture = cv2.imread(str(_texture_path(Path(obj))), cv2.IMREAD_COLOR)
        if texture is None:
            raise InvalidImageError(f"The texture of {obj} cannot be read.")
        return cls(np.array(vertices), face_array[:, :, 0], np.array(uv), face_array[:, :, 1],
                   cv2.cvtColor(texture, cv2.COLOR_BGR2RGB))


def _texture_path(obj: Path) -> Path:
    mtl = obj.with_name(obj.name + ".mtl")
    if mtl.is_file():
        for line in mtl.read_text().splitlines():
            if line.strip().startswith("map_Kd"):
                return obj.parent / line.split(maxsplit=1)[1].strip()
    return obj.with_suffix(".jpg")


@dataclass(frozen=True)
class View:
    """One camera view of the scan: head rotation in degrees (yaw: the head turns to its left for > 0;
    pitch: chin up for > 0; roll: in the picture plane), distance as a multiple of the framing distance,
    and the head centre's offset from the frame centre as a share of the frame height."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    distance: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """(3, 3) rotation of the head (degrees): yaw about its vertical axis, then pitch, then roll."""
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


def background(width: int, height: int) -> np.ndarray:
    """(height, width, 3) uint8: a still, softly lit wall (a vertical gradient and a wide vignette)."""
    y = np.linspace(0.0, 1.0, height)[:, None, None]
    x = np.linspace(-1.0, 1.0, width)[None, :, None]
    top, bottom = np.array([92.0, 98.0, 112.0]), np.array([48.0, 52.0, 64.0])
    wall = top * (1 - y) + bottom * y
    return np.clip(wall * (1.0 - 0.25 * x * x), 0, 255).astype(np.uint8) + np.zeros((height, width, 3), np.uint8)


def render(scan: HeadScan, view: View, size: tuple[int, int], head_height: float = 0.62) -> np.ndarray:
    """The scan seen from `view` -> (height, width, 3) uint8 RGB on the still background. head_height: the
    head's height over the frame's at distance 1 (the framing of a video call)."""
    width, height = size
    ss = SUPERSAMPLE
    w, h = width * ss, height * ss
    centred = scan.vertices - (scan.vertices.min(axis=0) + scan.vertices.max(axis=0)) / 2
    extent = float(np.ptp(scan.vertices[:, 1]))
    framing = 3.0 * extent  # camera distance at view.distance 1 (a webcam-like perspective)
    focal = head_height * h * framing / extent
    p = centred @ rotation(view.yaw, view.pitch, view.roll).T
    depth = framing * view.distance - p[:, 2]  # (V,) distance from the camera, the head facing it (+z)
    points = np.stack([w / 2 + view.shift[0] * h + focal * p[:, 0] / depth,
                       h / 2 + view.shift[1] * h - focal * p[:, 1] / depth], axis=1)  # (V, 2) pixels
    tri = points[scan.faces]  # (F, 3, 2)
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    facing = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0] < 0  # counter-clockwise on the screen: a front face
    order = np.argsort(-depth[scan.faces].mean(axis=1), kind="stable")
    order = order[facing[order]]
    index = np.full((h, w), -1, np.int32)
    fixed = np.round(tri * 16).astype(np.int32)
    for i in order:  # far to near: a nearer triangle overwrites (a head scan has no interpenetrating parts)
        cv2.fillConvexPoly(index, fixed[i], int(i), lineType=cv2.LINE_8, shift=4)
    ys, xs = np.nonzero(index >= 0)
    t = index[ys, xs]
    a, b, c = tri[t, 0], tri[t, 1], tri[t, 2]
    v0, v1 = b - a, c - a
    px, py = xs - a[:, 0], ys - a[:, 1]
    det = v0[:, 0] * v1[:, 1] - v0[:, 1] * v1[:, 0]
    l1 = (px * v1[:, 1] - py * v1[:, 0]) / det
    l2 = (v0[:, 0] * py - v0[:, 1] * px) / det
    corners = scan.uv[scan.face_uv[t]]  # (n, 3, 2)
    uv = corners[:, 0] * (1 - l1 - l2)[:, None] + corners[:, 1] * l1[:, None] + corners[:, 2] * l2[:, None]
    th, tw = scan.texture.shape[:2]
    map_x = np.full((h, w), -1.0, np.float32)
    map_y = np.full((h, w), -1.0, np.float32)
    map_x[ys, xs] = uv[:, 0] * (tw - 1)
    map_y[ys, xs] = (1.0 - uv[:, 1]) * (th - 1)
    head = cv2.remap(scan.texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    covered = (index >= 0)[..., None]
    frame = np.where(covered, head, background(w, h))
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)


def turning_views(frames: int, fps: float) -> list[View]:
    """A head that turns (yaw +-38 degrees), nods (+-14), tilts (+-8), leans in and back (0.85-1.15x) and
    drifts in the frame, as slow sines of incommensurate periods (seconds)."""
    t = np.arange(frames) / fps

    def wave(amplitude: float, period: float, phase: float) -> np.ndarray:
        return amplitude * np.sin(2 * np.pi * t / period + phase)

    yaw, pitch, roll = wave(38, 7.3, 0.0), wave(14, 4.1, 0.9), wave(8, 5.7, 2.1)
    distance = 1.0 + wave(0.15, 9.7, 0.4)
    sx, sy = wave(0.06, 6.3, 1.3), wave(0.04, 8.9, 2.6)
    return [View(*map(float, v[:4]), (float(v[4]), float(v[5])))
            for v in zip(yaw, pitch, roll, distance, sx, sy, strict=True)]


def write_video(scan: HeadScan, out: Path, frames: int, fps: float, size: tuple[int, int], progress=None) -> Path:
    """Render `frames` turning views into a video file (written whole or not at all)."""
    from engine.video import AtomicVideoWriter

    views = turning_views(frames, fps)
    with AtomicVideoWriter(out, fps, size) as writer:
        for i, view in enumerate(views):
            writer.write(render(scan, view, size))
            if progress is not None and (i + 1) % 50 == 0:
                progress(f"{i + 1}/{frames} frames")
    return out


DEFAULT_SCAN = SCANS_DIR / "james" / "james.obj"
DEFAULT_OUT = TRAINING_DIR / "james_scan.mp4"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scan", type=Path, default=DEFAULT_SCAN, help="textured OBJ (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="video to write (default: %(default)s)")
    parser.add_argument("--frames", type=int, default=480, help="frames (default: %(default)s)")
    parser.add_argument("--fps", type=float, default=24.0, help="frame rate (default: %(default)s)")
    parser.add_argument("--size", default="480x360", help="WIDTHxHEIGHT (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    from engine.errors import KnotCamError

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise KnotCamError(f"--size is WIDTHxHEIGHT, e.g. 480x360, not {args.size!r}") from None
    if args.frames < 1 or width < 16 or height < 16:
        raise KnotCamError("--frames must be at least 1 and --size at least 16x16")
    scan = HeadScan.load(args.scan)
    out = write_video(scan, args.out, args.frames, args.fps, (width, height), progress=print)
    print(f"wrote {out}: {args.frames} frames of {args.scan.name} turning, {width}x{height} at {args.fps:g} fps")
    return 0
