"""Where the warp mesh's vertices go for one frame: the head's similarity motion, the face's landmarks, shut
eyes closed cleanly, and no triangle folded over.

The head (hair, ears, neck) moves with the similarity fitted to the rigid landmarks, its scale capped to
what a portrait can show; the face landmarks follow the driving face. Where a landmark would fold a
triangle over (a turn past what a 2D mesh can show), it is pulled back towards its rigid position until
every triangle keeps its orientation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.face import topology as topo

SCALE_RANGE = (0.6, 1.6)  # head scale change the portrait can show: beyond it the face would leave the image
MIN_AREA_FRACTION = 0.02  # a destination triangle keeps at least this share of its rigid area
_EYE_SHUT, _EYE_OPEN = 0.15, 0.45  # lid gap / portrait's lid gap: below the first the lids meet exactly
_LIDS_MEET_AT = 0.25  # where shut lids meet, from the lower lid (0) to the upper (1)
_RELAX_STEPS = 40
_SMOOTH_STEPS = 32

# the relaxation never moves these: the whole lip band follows the tracker (moving a middle ring's point back to
# its rigid place while the contours beside it stay where the tracker put them folds the lip over itself)
PINNED = tuple(sorted(set(topo.OUTER_LIPS + topo.INNER_LIPS + topo.LIP_BAND_INSIDE)))
EYES = ((topo.RIGHT_EYE_UPPER, topo.RIGHT_EYE_LOWER, topo.RIGHT_IRIS),
        (topo.LEFT_EYE_UPPER, topo.LEFT_EYE_LOWER, topo.LEFT_IRIS))
_RIGID = np.array(topo.RIGID, dtype=np.intp)
# per eye, as index arrays built once: the corners, the lids without them, and every point the closing moves
_EYE_INDICES = tuple((upper[0], upper[-1], np.array(upper[1:-1], dtype=np.intp), np.array(lower[1:-1], dtype=np.intp),
                      np.array(list(upper[1:-1]) + list(lower[1:-1]) + list(iris), dtype=np.intp))
                     for upper, lower, iris in EYES)
_LIDS_UP = np.concatenate([up for _, _, up, _, _ in _EYE_INDICES])  # (2L,) both eyes' upper lids, one per eye
_LIDS_DOWN = np.concatenate([lo for _, _, _, lo, _ in _EYE_INDICES])  # (2L,) the lower lid points facing them


@dataclass(frozen=True)
class Similarity:
    """x -> z (x - src_centre) + dst_centre with x as a complex number: rotation and scale |z|."""

    z: complex
    src_centre: np.ndarray  # (2,)
    dst_centre: np.ndarray  # (2,)

    def apply(self, points: np.ndarray) -> np.ndarray:
        """(..., 2) -> (..., 2)."""
        x, y = points[..., 0] - self.src_centre[0], points[..., 1] - self.src_centre[1]
        a, b = self.z.real, self.z.imag  # elementwise: a BLAS call costs more than the arithmetic here
        out = np.empty((*points.shape[:-1], 2))  # filled by column: cheaper than np.stack
        out[..., 0] = a * x - b * y + self.dst_centre[0]
        out[..., 1] = b * x + a * y + self.dst_centre[1]
        return out

    def inverse(self) -> Similarity:
        """The similarity undoing this one."""
        return Similarity(1.0 / self.z, self.dst_centre, self.src_centre)

    def towards_rest(self, share: float) -> Similarity:
        """The motion scaled to `share` of itself: every point moves `share` of the way it moved."""
        return Similarity(1.0 + share * (self.z - 1.0), self.src_centre,
                          self.src_centre + share * (self.dst_centre - self.src_centre))

    def matrix(self) -> np.ndarray:
        """(2, 2) linear part."""
        return np.array([[self.z.real, -self.z.imag], [self.z.imag, self.z.real]])


def _centred(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) points -> their mean (2,) and their offsets from it as complex numbers (N,)."""
    centre = np.add.reduce(points, axis=0) / len(points)  # as points.mean(axis=0), without its Python layer
    return centre, (points - centre) @ np.array([1.0, 1j])


@dataclass(frozen=True)
class RigidLandmarks:
    """The portrait's rigid landmarks as `head_similarity` fits them (per portrait, built with the mesh)."""

    centre: np.ndarray  # (2,)
    offsets: np.ndarray  # (R,) complex: each from the centre
    power: float  # their squared norm (at least 1e-12)

    @classmethod
    def of(cls, src: np.ndarray) -> RigidLandmarks:
        """From the portrait's landmarks (478, 2)."""
        centre, offsets = _centred(src.take(_RIGID, axis=0))
        return cls(centre, offsets, max(np.vdot(offsets, offsets).real, 1e-12))


def head_similarity(rigid: RigidLandmarks, dst: np.ndarray) -> Similarity:
    """Least-squares similarity taking the portrait's rigid landmarks onto the driving ones (478, 2)."""
    centre, offsets = _centred(dst.take(_RIGID, axis=0))
    return Similarity(complex(np.vdot(rigid.offsets, offsets) / rigid.power), rigid.centre, centre)


def cap_scale(head: Similarity, dst: np.ndarray) -> tuple[Similarity, np.ndarray]:
    """Limit the head's scale change to SCALE_RANGE, rescaling the driving landmarks (478, 2) with it."""
    scale = abs(head.z)
    capped = float(np.clip(scale, *SCALE_RANGE))
    if capped == scale:
        return head, dst
    factor = capped / max(scale, 1e-12)
    rescaled = head.dst_centre + (dst - head.dst_centre) * factor
    return Similarity(head.z * factor, head.src_centre, head.dst_centre), rescaled


def lid_gaps(points: np.ndarray) -> np.ndarray:
    """Landmarks (478, 2) -> (2,) each eye's mean distance between its lids (as norm(..., axis=1).mean())."""
    gaps = points.take(_LIDS_UP, axis=0) - points.take(_LIDS_DOWN, axis=0)
    per_eye = np.sqrt(np.add.reduce(gaps * gaps, axis=1)).reshape(len(_EYE_INDICES), -1)
    return np.add.reduce(per_eye, axis=1) / per_eye.shape[1]


def close_shut_eyes(portrait_gaps: np.ndarray, dst: np.ndarray, scale: float) -> np.ndarray:
    """Landmarks (478, 2) with nearly shut eyes shut exactly: lids (and iris) squeezed onto their meeting line.

    portrait_gaps: (2,) the portrait's `lid_gaps`; scale: the head's scale change. A lid gap of a pixel or two
    would show the portrait's whole sclera squashed into a white line.
    """
    out = dst.copy()
    for (first, last, up, lo, inside), gap_src, gap_dst in zip(_EYE_INDICES, portrait_gaps.tolist(),
                                                               lid_gaps(dst).tolist(), strict=True):
        ratio = gap_dst / max(gap_src * scale, 1e-9)
        t = min(max((ratio - _EYE_SHUT) / (_EYE_OPEN - _EYE_SHUT), 0.0), 1.0)  # a scalar: np.clip costs more
        keep = t * t * (3 - 2 * t)  # share of the gap kept
        if keep >= 1.0:
            continue
        corner_a, corner_b = dst[first], dst[last]
        along = (corner_b - corner_a) / max(np.linalg.norm(corner_b - corner_a), 1e-9)
        normal = np.array([-along[1], along[0]])
        meet = dst[lo] + _LIDS_MEET_AT * (dst[up] - dst[lo])  # (7, 2)
        u_meet = (meet - corner_a) @ along
        order = np.argsort(u_meet)
        u = (dst[inside] - corner_a) @ along
        v = (dst[inside] - corner_a) @ normal
        v_meet = np.interp(u, u_meet[order], ((meet - corner_a) @ normal)[order])
        out[inside] += ((v_meet + keep * (v - v_meet)) - v)[:, None] * normal
    return out


def corner_areas(corners: np.ndarray) -> np.ndarray:
    """(6, T) corner rows x0, y0, x1, y1, x2, y2 -> (T,) twice the triangles' signed areas."""
    x0, y0, x1, y1, x2, y2 = corners
    return (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)


def signed_areas(tris: np.ndarray) -> np.ndarray:
    """(T, 3, 2) triangles -> (T,) twice their signed areas."""
    return corner_areas(tris.reshape(-1, 6).T)  # columns: cheaper than the (T, 2) edge arrays


def _padded_groups(keys: np.ndarray, values: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Group `values` by integer `keys` (both (N,)): (count, D) table, row k key k's values in input order then
    -1s, and each group's size (count,)."""
    order = np.argsort(keys, kind="stable")  # stable: each group keeps the input order
    sizes = np.bincount(keys, minlength=count)
    table = np.full((count, max(int(sizes.max(initial=0)), 1)), -1, dtype=np.intp)
    table[np.arange(table.shape[1])[None, :] < sizes[:, None]] = values[order]  # row by row: the sorted values
    return table, sizes


def _corner_coords(triangles: np.ndarray) -> np.ndarray:
    """(T, 3) vertex indices -> (6T,) their corners' coordinates in a flat (V, 2) array, as (6, T) rows."""
    return (2 * triangles.T[:, None, :] + np.arange(2)[None, :, None]).astype(np.intp).ravel()


@dataclass(frozen=True)
class FoldGraph:
    """What the fold relaxation needs of a mesh, built once with it: neighbours and triangle corners."""

    triangles: np.ndarray  # (T, 3)
    free: np.ndarray  # (T,) bool: triangles left unconstrained (see relax_folds)
    pinned: np.ndarray  # (V,) bool: the lip band's landmarks (`PINNED`), never moved
    neighbours: np.ndarray  # (V, D) intp: each vertex's neighbours along the smoothing edges, then -1s
    degree: np.ndarray  # (V,) how many neighbours each vertex has
    corner_coords: np.ndarray  # (6T,) intp: the corners' coordinates in a flat (V, 2) array, as (6, T) rows
    oriented_coords: np.ndarray  # (6T,) the same with corners 1 and 2 swapped where the orientation is -1:
    # `corner_areas` of these is the area times the orientation, exactly (the two products trade places)

    @classmethod
    def of(cls, triangles: np.ndarray, orientation: np.ndarray, collapsible: np.ndarray, edges: np.ndarray,
           num_vertices: int) -> FoldGraph:
        """triangles (T, 3), orientation (T,), collapsible (T,) bool: mouth-gap and eye-aperture triangles;
        edges (E, 2) along which motion is shared (none across the mouth)."""
        pinned = np.zeros(num_vertices, dtype=bool)
        pinned[list(PINNED)] = True
        # Gap and aperture triangles are slivers along one contour (their orientation is tracker noise),
        # painted over (the mouth) or squeezed shut (the eyes); lip-band triangles of lip points only
        # follow the tracker: all are left free.
        free = collapsible | pinned[triangles].all(axis=1)
        both = np.concatenate([edges, edges[:, ::-1]])
        neighbours, degree = _padded_groups(both[:, 0], both[:, 1], num_vertices)
        return cls(triangles, free, pinned, neighbours, degree, _corner_coords(triangles),
                   _corner_coords(np.where((orientation < 0)[:, None], triangles[:, [0, 2, 1]], triangles)))

    @property
    def oriented(self) -> OrientedTriangles:
        """Every triangle, as the orientation checks read them."""
        return OrientedTriangles(self.oriented_coords, self.free)


@dataclass(frozen=True)
class OrientedTriangles:
    """Some triangles of a mesh as `corner_areas` reads them, oriented (> 0: as in the portrait), and which of
    them are free (no floor)."""

    coords: np.ndarray  # (6T,) the oriented corners' coordinates in a flat (V, 2) array, as (6, T) rows
    free: np.ndarray  # (T,) bool

    def areas(self, positions: np.ndarray) -> np.ndarray:
        """(V, 2) vertices -> (T,) twice the signed areas times the orientation (one take, six contiguous rows)."""
        return corner_areas(positions.reshape(-1).take(self.coords).reshape(6, -1))

    def floor(self, rigid: np.ndarray) -> np.ndarray:
        """(T,) the least oriented area each may have, given the rigid (never folded) vertices (V, 2):
        MIN_AREA_FRACTION of its rigid area; -inf for the free ones."""
        rigid_area = self.areas(rigid)
        return np.where(self.free, -np.inf, np.minimum(MIN_AREA_FRACTION * np.abs(rigid_area), rigid_area))

    def subset(self, keep: np.ndarray) -> OrientedTriangles:
        """The triangles where `keep` (T,) bool."""
        return OrientedTriangles(self.coords.reshape(6, -1)[:, keep].ravel(), self.free[keep])


def relax_folds(rigid: np.ndarray, wanted: np.ndarray, graph: FoldGraph) -> np.ndarray:
    """Vertices (V, 2) as close to `wanted` as keeps every triangle's orientation.

    rigid: (V, 2) positions under the head similarity alone (never folded). Pinned vertices never move:
    the offending triangles' other vertices are moved to their neighbours' centroid (a lip pushed past the
    skin beside it takes it along), then, if that is not enough, pulled back towards `rigid`. A fold the lips
    make by themselves is left as tracked (and drawn under its neighbours: engine.warp.source_map); a triangle
    already folded in the portrait (crossed lips of a shut mouth) only may not fold further.
    """
    tris, oriented_areas = graph.triangles, graph.oriented.areas
    floor = graph.oriented.floor(rigid)
    bad = oriented_areas(wanted) < floor
    if not bad.any():
        return wanted  # most frames: nothing folds
    moved = wanted != rigid
    movable = ~graph.pinned & (moved[:, 0] | moved[:, 1])
    pos = wanted.copy()

    def offenders() -> np.ndarray:  # sorted unique movable vertices of the bad triangles
        hit = np.zeros(len(pos), dtype=bool)
        hit[tris.compress(bad, axis=0)] = True
        return (hit & movable).nonzero()[0]  # np.flatnonzero's Python layers cost more

    # After a move every triangle is checked again: a thousand areas cost less than finding those near the move
    # (the others' vertices did not move, so their answers stay the same).
    for _ in range(_SMOOTH_STEPS):
        ids = offenders()
        if len(ids) == 0:
            return pos
        sizes = graph.degree.take(ids)
        if not sizes.all():  # a vertex without neighbours stays
            ids, sizes = ids[sizes > 0], sizes[sizes > 0]
        around = graph.neighbours.take(ids, axis=0)
        around = around[around >= 0]  # the offenders' neighbours, one offender after the other
        # An offender moves to its neighbours' centroid (all from the same positions): inside their ring.
        sums = np.add.reduceat(pos.take(around, axis=0), sizes.cumsum() - sizes) if len(around) else np.zeros((0, 2))
        centroids = sums / sizes[:, None]
        if (centroids == pos.take(ids, axis=0)).all():
            break  # each offender sits at its centroid already: the remaining steps would repeat this one
        pos[ids] = centroids
        bad = oriented_areas(pos) < floor
    motion = pos - rigid
    reach = np.ones(len(rigid))
    for step in range(_RELAX_STEPS):
        ids = offenders()
        if len(ids) == 0 or not reach.take(ids).any():
            break  # none left, or every one already back at its rigid place: more steps would change nothing
        reach[ids] *= 0.0 if step >= _RELAX_STEPS - 16 else 0.5
        pos[ids] = rigid.take(ids, axis=0) + reach[ids, None] * motion.take(ids, axis=0)
        bad = oriented_areas(pos) < floor
    return pos
