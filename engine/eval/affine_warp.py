"""The evaluation's frozen baseline: the piecewise-affine warp before issue 15, kept only to show before/after.

This is engine/warp.py as of commit 6ab4b68 (the last one before the warp rework of issue 15), unchanged but
for the names (`AffineMesh`, `AffineWarpAnimator`); the app never uses it. The mesh is a Delaunay
triangulation of the 478 face landmarks, a ring around the head that follows the head's similarity motion,
a fixed outer ring and the image border. Warping is backward: each output pixel gets its triangle's id
(one cv2.fillConvexPoly per triangle) and one affine map per triangle gives its source for a single
cv2.remap. The mouth gap is redrawn: the portrait's teeth move with the upper lip, the rest is shadow.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.animator import Animator, AvatarFrame, Motion, Portrait
from engine.face import topology as topo

_INNER_UPPER = list(topo.INNER_LIP_UPPER[1:-1])
_INNER_LOWER = list(topo.INNER_LIP_LOWER[1:-1])
_OVAL = list(topo.FACE_OVAL)
_HEAD_RING_SCALE = 1.3  # ring that moves with the head (hair, ears, neck top)
_FIXED_RING_SCALE = 2.0  # ring that never moves: the deformation fades out between the two rings
_RING_POINTS = 18
_NECK_STIFFNESS = 0.6  # how much less than the head the ring below the chin moves
_MOUTH_COLOUR = np.array([30.0, 12.0, 14.0], dtype=np.float32)  # shadowed mouth interior (RGB)
_TONGUE_COLOUR = np.array([120.0, 52.0, 58.0], dtype=np.float32)


@dataclass(frozen=True)
class AffineMesh:
    """Triangulation of a source landmark layout: vertex list and triangles (indices into the vertices)."""

    src_vertices: np.ndarray  # (V, 2) float64: 478 landmarks, head ring, fixed ring, border points
    triangles: np.ndarray  # (T, 3) int32
    image_size: tuple[int, int]  # (H, W) of the source image

    @property
    def num_landmarks(self) -> int:
        """How many leading vertices are face landmarks."""
        return topo.NUM_LANDMARKS


def _oval_centre_and_rings(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    oval = points[_OVAL]
    centre = oval.mean(axis=0)
    picks = np.linspace(0, len(oval), _RING_POINTS, endpoint=False).astype(int)
    spokes = oval[picks] - centre
    return centre + _HEAD_RING_SCALE * spokes, centre + _FIXED_RING_SCALE * spokes


def _border_points(h: int, w: int, per_side: int = 4) -> np.ndarray:
    xs = np.linspace(-1.0, w, per_side + 1)
    ys = np.linspace(-1.0, h, per_side + 1)
    top = np.stack([xs, np.full_like(xs, -1.0)], axis=1)
    bottom = np.stack([xs, np.full_like(xs, float(h))], axis=1)
    left = np.stack([np.full_like(ys[1:-1], -1.0), ys[1:-1]], axis=1)
    right = np.stack([np.full_like(ys[1:-1], float(w)), ys[1:-1]], axis=1)
    return np.concatenate([top, bottom, left, right])


def _open_mouth_layout(points: np.ndarray) -> np.ndarray:
    """Separate the inner lips a little so that the triangulation keeps lips and mouth gap apart."""
    out = points.copy()
    width = np.linalg.norm(points[61] - points[291])
    across = points[291] - points[61]
    up = np.array([across[1], -across[0]]) / max(np.linalg.norm(across), 1e-9)  # image y points down
    room_up = np.linalg.norm(points[list(topo.OUTER_LIP_UPPER[1:-1])] - points[_INNER_UPPER], axis=1)
    room_down = np.linalg.norm(points[list(topo.OUTER_LIP_LOWER[1:-1])] - points[_INNER_LOWER], axis=1)
    gap = np.linalg.norm(points[_INNER_UPPER] - points[_INNER_LOWER], axis=1)
    push = np.maximum(0.02 * width - gap / 2, 0.0)
    out[_INNER_UPPER] += up * np.minimum(push, 0.4 * room_up)[:, None]
    out[_INNER_LOWER] -= up * np.minimum(push, 0.4 * room_down)[:, None]
    return out


def _delaunay(points: np.ndarray) -> np.ndarray:
    """(V, 2) points -> (T, 3) vertex indices of their Delaunay triangles."""
    pts = points.astype(np.float32)
    lo = pts.min(axis=0) - 10
    hi = pts.max(axis=0) + 10
    subdiv = cv2.Subdiv2D((int(lo[0]), int(lo[1]), int(hi[0] - lo[0]) + 1, int(hi[1] - lo[1]) + 1))
    subdiv.insert([(float(x), float(y)) for x, y in pts])
    index_of = {(float(x), float(y)): i for i, (x, y) in enumerate(pts)}
    triangles = []
    for tri in subdiv.getTriangleList().reshape(-1, 3, 2):
        ids = [index_of.get((float(x), float(y))) for x, y in tri]
        if None not in ids:  # skip triangles on Subdiv2D's virtual outer vertices
            triangles.append(ids)
    return np.array(triangles, dtype=np.int32).reshape(-1, 3)


def build_mesh(src: np.ndarray, image_size: tuple[int, int]) -> AffineMesh:
    """Triangulate a source layout (478, 2) for an image of (H, W); reuse the mesh for every frame."""
    src = np.asarray(src, dtype=np.float64)[:, :2]
    h, w = image_size
    head_ring, fixed_ring = _oval_centre_and_rings(src)
    vertices = np.concatenate([src, head_ring, fixed_ring, _border_points(h, w)])
    layout = vertices.copy()
    layout[: topo.NUM_LANDMARKS] = _open_mouth_layout(src)
    triangles = _delaunay(layout)
    return AffineMesh(vertices, triangles, (h, w))


def _dst_vertices(mesh: AffineMesh, dst: np.ndarray) -> np.ndarray:
    """Target positions of all mesh vertices: landmarks as given, head ring by the head's similarity motion."""
    n = topo.NUM_LANDMARKS
    src = mesh.src_vertices
    rigid = list(topo.RIGID)
    a, b = src[rigid], dst[rigid]
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    # 2D similarity as a complex ratio: b - mu_b ≈ z * (a - mu_a)
    za = (a - mu_a) @ np.array([1.0, 1j])
    zb = (b - mu_b) @ np.array([1.0, 1j])
    z = np.vdot(za, zb) / max(np.vdot(za, za).real, 1e-12)
    ring_src = src[n : n + _RING_POINTS]
    ring_z = ((ring_src - mu_a) @ np.array([1.0, 1j])) * z
    ring_moved = np.stack([ring_z.real, ring_z.imag], axis=1) + mu_b
    # Hair and ears move with the head; the neck below the chin only partly, as it does on a real body.
    down = src[topo.CHIN] - src[topo.FOREHEAD]
    spokes = ring_src - src[_OVAL].mean(axis=0)
    cos_down = spokes @ down / np.maximum(np.linalg.norm(spokes, axis=1) * np.linalg.norm(down), 1e-9)
    follow = 1.0 - _NECK_STIFFNESS * np.clip(cos_down, 0.0, 1.0)
    out = src.copy()
    out[:n] = dst
    out[n : n + _RING_POINTS] = ring_src + follow[:, None] * (ring_moved - ring_src)
    return out


def _signed_area(tris: np.ndarray) -> np.ndarray:
    """(T, 3, 2) triangles -> (T,) twice their signed areas."""
    e1, e2 = tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]
    return e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]


def warp_with_mesh(image: np.ndarray, mesh: AffineMesh, dst: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 image whose landmarks sit at mesh.src -> the image with them moved to dst (478, 2)."""
    h, w = image.shape[:2]
    dst = np.asarray(dst, dtype=np.float64)[:, :2]
    src_v = mesh.src_vertices
    dst_v = _dst_vertices(mesh, dst)
    moved = np.abs(dst_v - src_v).max(axis=1) > 1e-3
    tris = mesh.triangles[moved[mesh.triangles].any(axis=1)]
    out = image.copy()
    if len(tris) == 0:
        return out
    # Work only inside the bounding box of the triangles that move.
    corners = np.concatenate([dst_v[tris].reshape(-1, 2), src_v[tris].reshape(-1, 2)])
    x0, y0 = np.clip(np.floor(corners.min(axis=0)).astype(int), 0, [w, h])
    x1, y1 = np.clip(np.ceil(corners.max(axis=0)).astype(int) + 1, 0, [w, h])
    if x1 <= x0 or y1 <= y0:
        return out
    box_w, box_h = x1 - x0, y1 - y0
    # Per-pixel triangle id; triangles folded over (negative area) are drawn first so valid ones win.
    d = dst_v[tris]  # (T, 3, 2)
    s = src_v[tris]
    order = np.argsort(np.sign(_signed_area(d)) * np.sign(_signed_area(s)), kind="stable")
    tri_id = np.full((box_h, box_w), -1, dtype=np.int32)
    shifted = np.round((d - [x0, y0]) * 16).astype(np.int32)
    for t in order:
        cv2.fillConvexPoly(tri_id, shifted[t], int(t), lineType=cv2.LINE_8, shift=4)
    # One affine per triangle (dst -> src), with an identity row appended for pixels outside every triangle.
    affine = np.concatenate([_affine_dst_to_src(d, s), [[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]]]).astype(np.float32)
    ids = np.where(tri_id >= 0, tri_id, len(tris))
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    coef = [affine[:, k][ids] for k in range(6)]  # six (h, w) gathers: cheaper than one (h, w, 6)
    map_x = xs * coef[0] + ys * coef[1] + coef[2]
    map_y = xs * coef[3] + ys * coef[4] + coef[5]
    out[y0:y1, x0:x1] = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    _fill_mouth(out, image, src_v[: topo.NUM_LANDMARKS], dst)
    return out


def _affine_dst_to_src(d: np.ndarray, s: np.ndarray) -> np.ndarray:
    """(T, 3, 2) target and source triangles -> (T, 6) maps src = (a x + b y + c, d x + e y + f).

    Closed-form 2x2 inverse per triangle (batched LAPACK solves cost more than the whole remap);
    degenerate target triangles cover no pixel and get the identity.
    """
    e1, e2 = d[:, 1] - d[:, 0], d[:, 2] - d[:, 0]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    good = np.abs(det) > 1e-9
    det = np.where(good, det, 1.0)
    # inverse of [[e1x, e2x], [e1y, e2y]]: barycentric (u, v) = inv @ (p - d0)
    inv = np.stack([np.stack([e2[:, 1], -e2[:, 0]], 1), np.stack([-e1[:, 1], e1[:, 0]], 1)], 1) / det[:, None, None]
    f1, f2 = s[:, 1] - s[:, 0], s[:, 2] - s[:, 0]
    lin = np.stack([f1, f2], axis=2) @ inv  # (T, 2, 2): src offset = lin @ (p - d0)
    offset = s[:, 0] - np.einsum("tij,tj->ti", lin, d[:, 0])
    out = np.concatenate([lin[:, 0], offset[:, :1], lin[:, 1], offset[:, 1:]], axis=1)
    out[~good] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    return out


def _fill_mouth(out: np.ndarray, image: np.ndarray, src: np.ndarray, dst: np.ndarray) -> None:
    """Redraw the mouth gap (inside the target inner lips) of `out` in place, without stretching its content.

    Teeth hang from the upper jaw: the portrait's own mouth interior (teeth of a smile) is moved with the
    upper inner lip, unstretched; whatever of the gap the portrait did not show is shadow, painted dark.
    Both borders are antialiased, so lips and interior meet without a seam.
    """
    inner = list(topo.INNER_LIPS)
    h, w = out.shape[:2]
    lo = np.clip(np.floor(dst[inner].min(axis=0)).astype(int) - 1, 0, [w, h])
    hi = np.clip(np.ceil(dst[inner].max(axis=0)).astype(int) + 2, 0, [w, h])
    if (hi <= lo).any():
        return
    origin = lo.astype(np.float64)
    dst_poly = dst[inner] - origin
    gap = _polygon_mask((hi[1] - lo[1], hi[0] - lo[0]), dst_poly)
    if not gap.any():
        return
    shift = (dst[_INNER_UPPER] - src[_INNER_UPPER]).mean(axis=0)
    ys, xs = np.mgrid[0 : gap.shape[0], 0 : gap.shape[1]].astype(np.float32)
    interior = cv2.remap(image, xs + np.float32(origin[0] - shift[0]), ys + np.float32(origin[1] - shift[1]),
                         cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    shown = _polygon_mask(gap.shape, src[inner] + shift - origin)[..., None]
    interior = interior * shown + (1.0 - shown) * _mouth_shadow(ys, dst_poly)
    alpha = gap[..., None]
    region = out[lo[1] : hi[1], lo[0] : hi[0]]
    blended = region.astype(np.float32) * (1.0 - alpha) + interior * alpha
    region[...] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def _mouth_shadow(ys: np.ndarray, gap_polygon: np.ndarray) -> np.ndarray:
    """(H, W, 3) colour of an open mouth's inside: dark under the upper teeth, the tongue's red near the
    lower lip (a flat fill reads as a hole, to a viewer and to the face tracker alike)."""
    top, bottom = gap_polygon[:, 1].min(), gap_polygon[:, 1].max()
    depth = np.clip((ys - top) / max(bottom - top, 1.0), 0.0, 1.0)
    tongue = np.clip((depth - 0.45) / 0.55, 0.0, 1.0)[..., None] ** 2
    return _MOUTH_COLOUR * (1.0 - tongue) + _TONGUE_COLOUR * tongue


def _polygon_mask(shape: tuple[int, int], polygon: np.ndarray) -> np.ndarray:
    """Antialiased (H, W) float32 coverage in [0, 1] of a polygon given in pixel coordinates."""
    mask = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(polygon * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
    return mask.astype(np.float32) / 255.0


class AffineWarpAnimator(Animator):
    """The pre-issue-15 warp as an Animator (engine/animator.py), driven by the same code as WarpAnimator."""

    lookahead_frames = 0

    def __init__(self) -> None:
        self._portrait: Portrait | None = None
        self._mesh: AffineMesh | None = None
        self._index = 0

    def set_portrait(self, portrait: Portrait) -> None:
        """Triangulate the new portrait once; restart the frame count."""
        self._portrait = portrait
        self._mesh = build_mesh(portrait.landmarks[:, :2], portrait.image.shape[:2])
        self._index = 0

    def push(self, motion: Motion) -> list[AvatarFrame]:
        """One motion in, one warped frame out."""
        if self._portrait is None or self._mesh is None:
            raise RuntimeError("AffineWarpAnimator.push called before set_portrait")
        image = warp_with_mesh(self._portrait.image, self._mesh, motion.landmarks)
        frame = AvatarFrame(image, motion.timestamp, self._index)
        self._index += 1
        return [frame]
