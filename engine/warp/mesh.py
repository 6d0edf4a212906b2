"""Piecewise-affine warp of a portrait from its landmarks to target landmarks, and the WarpAnimator on it.

The mesh is a Delaunay triangulation of the 478 face landmarks and a ring around the head. Per frame the
landmarks follow the driving face, pulled back where a turn would fold a triangle over (engine.warp.motion);
the ring moves with the head's similarity motion (so hair, ears and neck move as a whole) plus the face
outline's own smoothed motion above the mouth (a turn carries the ears and side hair with the cheeks);
outside the ring both fade smoothly into the still background (engine.warp.source_map). The backward map is
scan-converted for all triangles at once on a coarse grid (engine.warp.raster), exactly around eyes and
lips, and sampled by one cv2.remap. The mouth interior (between the inner lips) is triangulated on a
slightly opened layout, so lips never stretch across it, and repainted (engine.warp.mouth): the portrait's
teeth move with their jaws, the rest of the gap is shaded like a cavity.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.animator import Animator, AvatarFrame, Motion, Portrait
from engine.face import topology as topo
from engine.warp.motion import (
    EYES,
    FoldGraph,
    OrientedTriangles,
    RigidLandmarks,
    Similarity,
    cap_scale,
    close_shut_eyes,
    head_similarity,
    lid_gaps,
    relax_folds,
    signed_areas,
)
from engine.warp.mouth import MouthLayer, MouthStyle, mouth_layer, paint_mouth
from engine.warp.source_map import (
    HEAD_ZONE,
    OUTLINE_MAX_STEEPNESS,
    FrameMotion,
    HeadShape,
    OutlineSpokes,
    SourceMap,
    build_source_map,
    fit_head_to_band,
)

_INNER_UPPER = list(topo.INNER_LIP_UPPER[1:-1])
_INNER_LOWER = list(topo.INNER_LIP_LOWER[1:-1])
_OVAL = list(topo.FACE_OVAL)
GRID_STEP = 4  # the source map is computed every GRID_STEP pixels and upsampled (exactly near eyes and lips)


@dataclass(frozen=True)
class WarpMesh:
    """Triangulation of a source landmark layout: vertex list and triangles (indices into the vertices)."""

    src_vertices: np.ndarray  # (V, 2) float64: 478 landmarks, then the head ring
    triangles: np.ndarray  # (T, 3) int32
    image_size: tuple[int, int]  # (H, W) of the source image
    orientation: np.ndarray  # (T,) +-1: sign of each triangle's area in the (mouth-opened) layout
    collapsible: np.ndarray  # (T,) bool: eye-aperture and mouth-gap triangles, which may shrink to nothing
    shape: HeadShape  # the portrait's face as an ellipse: the head zone and its falloff are measured in it
    folds: FoldGraph  # the fold relaxation's per-mesh constants: neighbours (none across the mouth), pins
    rigid: RigidLandmarks  # the portrait's rigid landmarks, as the head's similarity is fitted to them
    lid_gaps: np.ndarray  # (2,) each eye's lid gap in the portrait (`close_shut_eyes`)
    outline: OutlineSpokes  # how the ring follows the face outline's own motion (`_follow_outline`)
    at_ring: OrientedTriangles  # the triangles with a ring vertex, as `_follow_outline` checks them

    @property
    def num_landmarks(self) -> int:
        """How many leading vertices are face landmarks."""
        return topo.NUM_LANDMARKS


def _head_ring(points: np.ndarray, shape: HeadShape) -> np.ndarray:
    """Ring that moves with the head (hair, ears, neck top): each face-oval spoke out to HEAD_ZONE radii."""
    oval = points[_OVAL]
    return shape.centre + (oval - shape.centre) * (HEAD_ZONE / shape.radius(oval))[:, None]


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


def _collapsible(triangles: np.ndarray) -> np.ndarray:
    """(T,) bool: triangles with every vertex on one eye's lids and iris, or on the inner lips."""
    groups = [set(upper) | set(lower) | set(iris) for upper, lower, iris in EYES] + [set(topo.INNER_LIPS)]
    member = np.zeros((len(groups), topo.NUM_LANDMARKS + 1), dtype=bool)
    for g, group in enumerate(groups):
        member[g, list(group)] = True
    ids = np.minimum(triangles, topo.NUM_LANDMARKS)  # ring vertices belong to no group
    return member[:, ids].all(axis=2).any(axis=0)


def _segments_cross(p: np.ndarray, q: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(E,) bool: does segment p-q (E, 2) cross any of the segments a-b (S, 2)?"""
    def side(o, u, v):  # (E, S) sign of the turn o -> u -> v
        du, dv = u - o, v - o
        return np.sign(du[..., 0] * dv[..., 1] - du[..., 1] * dv[..., 0])
    p, q, a, b = p[:, None], q[:, None], a[None], b[None]
    return ((side(p, q, a) * side(p, q, b) < 0) & (side(a, b, p) * side(a, b, q) < 0)).any(axis=1)


def _smoothing_edges(layout: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(E, 2) unique mesh edges, less those crossing the mouth line (upper and lower lip move apart)."""
    edges = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    edges = np.unique(np.sort(edges, axis=1), axis=0)
    corners = [topo.INNER_LIP_UPPER[0], topo.INNER_LIP_UPPER[-1]]
    mid = (layout[_INNER_UPPER] + layout[_INNER_LOWER]) / 2
    line = np.concatenate([layout[corners[:1]], mid, layout[corners[1:]]])
    crosses = _segments_cross(layout[edges[:, 0]], layout[edges[:, 1]], line[:-1], line[1:])
    return edges[~crosses]


def build_mesh(src: np.ndarray, image_size: tuple[int, int]) -> WarpMesh:
    """Triangulate a source layout (478, 2) for an image of (H, W); reuse the mesh for every frame."""
    src = np.asarray(src, dtype=np.float64)[:, :2]
    h, w = image_size
    shape = HeadShape.of(src)
    vertices = np.concatenate([src, _head_ring(src, shape)])
    layout = vertices.copy()
    layout[: topo.NUM_LANDMARKS] = _open_mouth_layout(src)
    triangles = _delaunay(layout)
    # Orientation on the layout: a closed mouth's inner lips may cross in the portrait itself.
    orientation = np.sign(signed_areas(layout[triangles]))
    keep = orientation != 0
    triangles = triangles[keep]
    orientation, collapsible = orientation[keep], _collapsible(triangles)
    folds = FoldGraph.of(triangles, orientation, collapsible, _smoothing_edges(layout, triangles), len(vertices))
    return WarpMesh(vertices, triangles, (h, w), orientation, collapsible, shape, folds, RigidLandmarks.of(src),
                    lid_gaps(src), OutlineSpokes.of(shape, src),
                    folds.oriented.subset((triangles >= topo.NUM_LANDMARKS).any(axis=1)))


def frame_motion(mesh: WarpMesh, dst: np.ndarray) -> FrameMotion:
    """Where every mesh vertex goes for driving landmarks dst (478, 2): no triangle folded over."""
    n = topo.NUM_LANDMARKS
    src = mesh.src_vertices
    dst = np.asarray(dst, dtype=np.float64)[:n, :2]
    head, dst = cap_scale(head_similarity(mesh.rigid, dst), dst)
    fitted = fit_head_to_band(head, mesh.shape)  # a move the bounded falloff cannot take is made smaller
    if fitted is not head:
        dst = fitted.apply(head.inverse().apply(dst))
        head = fitted
    dst = close_shut_eyes(mesh.lid_gaps, dst, abs(head.z))
    rigid = head.apply(src)
    wanted = rigid.copy()
    wanted[:n] = dst
    dst_v, outline = _follow_outline(mesh, head, rigid, relax_folds(rigid, wanted, mesh.folds))
    return FrameMotion(src, dst_v, mesh.folds.corner_coords, head, mesh.shape, mesh.image_size, outline)


_OUTLINE_TRIES = 3  # halvings of the outline field before the ring is left on the head's similarity alone


def _follow_outline(mesh: WarpMesh, head: Similarity, rigid: np.ndarray, dst_v: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray | None]:
    """Move the head ring with the face outline's own motion beyond the similarity (vertices (V, 2)), smoothed
    to the outline field (`OutlineSpokes`): its coefficients, or None where the outline moved rigidly. The
    field is scaled down where it could fold the outside map (`OutlineSpokes.steepness`), then halved until no
    triangle at the ring folds that did not before."""
    n = topo.NUM_LANDMARKS
    residual = dst_v[_OVAL] - rigid[_OVAL]
    coefficients = mesh.outline.fit @ (residual[:, 0] + 1j * residual[:, 1])
    if np.abs(coefficients).max() < 1e-6:
        return dst_v, None
    steepness = mesh.outline.steepness(coefficients, head)  # an extreme turn: scaled down, never folded
    if steepness > OUTLINE_MAX_STEEPNESS:
        coefficients = coefficients * (OUTLINE_MAX_STEEPNESS / steepness)
    floor = mesh.at_ring.floor(rigid)
    before = mesh.at_ring.areas(dst_v) < floor
    for _ in range(_OUTLINE_TRIES):
        shift = mesh.outline.at_spokes @ coefficients
        moved = dst_v.copy()
        moved[n:, 0] += shift.real
        moved[n:, 1] += shift.imag
        if not ((mesh.at_ring.areas(moved) < floor) & ~before).any():
            return moved, coefficients
        coefficients = coefficients * 0.5
    return dst_v, None


def upsample_map(source: SourceMap) -> np.ndarray:
    """(box h, box w, 2) float32 dense source map of the box: coarse grid upsampled, exact patches pasted."""
    x0, y0, x1, y1 = source.box
    s = source.step
    gh, gw = source.coarse.shape[:2]
    dense = cv2.resize(source.coarse, (gw * s, gh * s), interpolation=cv2.INTER_LINEAR)[s : s + y1 - y0,
                                                                                          s : s + x1 - x0]
    for py, px, patch in source.patches:
        dense[py : py + patch.shape[0], px : px + patch.shape[1]] = patch
    return dense


@dataclass(frozen=True)
class WarpPlan:
    """Everything one frame's warp needs besides the portrait's pixels: a few thousand numbers, built on the CPU
    (`plan_warp`, in worker processes ahead of time on the GPU path: engine.warp.planner) and applied by
    `apply_plan` (OpenCV) or engine.warp.torch_warp.apply_plan_torch (grid_sample, where the image lives)."""

    source: SourceMap | None  # the backward map of the moving part; None: nothing outside the mouth moves
    layer: MouthLayer | None  # the open mouth's paint; None: the mouth is shut


def plan_warp(mesh: WarpMesh, dst: np.ndarray, style: MouthStyle, step: int = GRID_STEP) -> WarpPlan | None:
    """The plan of the portrait's warp to landmarks dst (478, 2+); None when they are the portrait's own
    (the output is the portrait itself)."""
    dst = np.asarray(dst, dtype=np.float64)[:, :2]
    if np.abs(dst - mesh.src_vertices[: topo.NUM_LANDMARKS]).max() <= 1e-3:
        return None
    motion = frame_motion(mesh, dst)
    n = topo.NUM_LANDMARKS
    layer = mouth_layer(mesh.src_vertices[:n], motion.dst_vertices[:n], mesh.image_size, style)
    return WarpPlan(build_source_map(motion, step), layer)


def apply_plan(image: np.ndarray, plan: WarpPlan | None) -> np.ndarray:
    """(H, W, 3) uint8 portrait -> a new image warped by `plan` (None: a copy of the portrait)."""
    out = image.copy()
    if plan is None:
        return out
    if plan.source is not None:
        x0, y0, x1, y1 = plan.source.box
        box = out[y0:y1, x0:x1]
        dense = upsample_map(plan.source)
        warped = cv2.remap(image, dense, None, cv2.INTER_LINEAR, dst=box, borderMode=cv2.BORDER_REPLICATE)
        if warped is not box:  # OpenCV writes into the output's box itself unless it cannot (then a copy)
            box[...] = warped
    if plan.layer is not None:
        paint_mouth(out, image, plan.layer)
    return out


def warp_with_mesh(image: np.ndarray, mesh: WarpMesh, dst: np.ndarray, step: int = GRID_STEP,
                   style: MouthStyle | None = None) -> np.ndarray:
    """(H, W, 3) uint8 image whose landmarks sit at mesh.src -> the image with them moved to dst (478, 2).

    style: the portrait's `MouthStyle` (an animator finds it once per portrait); None finds it on every call."""
    style = style or MouthStyle.of(image, mesh.src_vertices[: topo.NUM_LANDMARKS])
    return apply_plan(image, plan_warp(mesh, dst, style, step))


def warp_image(image: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Warp an RGB uint8 image (H, W, 3) so that landmarks src (478, 2) move to dst (478, 2).

    Builds the mesh on every call; animate many frames of one image with `build_mesh` + `warp_with_mesh`.
    """
    mesh = build_mesh(src, image.shape[:2])
    return warp_with_mesh(image, mesh, dst)


class WarpAnimator(Animator):
    """The baseline animator: the portrait warped piecewise-affinely to each frame's landmarks."""

    lookahead_frames = 0

    def __init__(self) -> None:
        self._portrait: Portrait | None = None
        self._mesh: WarpMesh | None = None
        self._index = 0

    def set_portrait(self, portrait: Portrait) -> None:
        """Triangulate the new portrait once; restart the frame count."""
        self._portrait = portrait
        self._mesh = build_mesh(portrait.landmarks[:, :2], portrait.image.shape[:2])
        self._style = MouthStyle.of(portrait.image, portrait.landmarks[:, :2])
        self._index = 0

    def push(self, motion: Motion) -> list[AvatarFrame]:
        """One motion in, one warped frame out."""
        if self._portrait is None or self._mesh is None:
            raise RuntimeError("WarpAnimator.push called before set_portrait")
        image = warp_with_mesh(self._portrait.image, self._mesh, motion.landmarks, style=self._style)
        frame = AvatarFrame(image, motion.timestamp, self._index)
        self._index += 1
        return [frame]
