"""Head pose and face measures from 478 landmarks: where the head is, and what the face does in its frame.

Pose comes from skull-fixed landmarks only (forehead, nose, eye corners, temples), so that expression never
reads as head motion; expression is the landmarks' offset from a neutral face in the head's own frame, so
that head motion never reads as expression.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.face import topology as topo

_RIGID = np.array(topo.RIGID)  # the skull-fixed landmarks, as an index array built once


@dataclass(frozen=True)
class HeadPose:
    """Where the head is: `landmarks ≈ origin + scale * rotation @ head_coordinates`.

    rotation (3, 3) has the head's axes as columns (x: right eye -> left eye, y: down the face, z: into the
    screen for a frontal face); origin (3,) and scale are in landmark pixels.
    """

    rotation: np.ndarray  # (3, 3) float64
    origin: np.ndarray  # (3,) float64
    scale: float

    @property
    def yaw(self) -> float:
        """Degrees; positive when the nose points to the image's right."""
        facing = -self.rotation[:, 2]
        return math.degrees(math.atan2(facing[0], -facing[2]))

    @property
    def pitch(self) -> float:
        """Degrees; positive when the nose points up."""
        facing = -self.rotation[:, 2]
        return math.degrees(math.atan2(-facing[1], math.hypot(facing[0], facing[2])))

    @property
    def roll(self) -> float:
        """Degrees; positive when the eye line turns clockwise on screen."""
        x_axis = self.rotation[:, 0]
        return math.degrees(math.atan2(x_axis[1], x_axis[0]))

    def to_head(self, landmarks: np.ndarray) -> np.ndarray:
        """(N, 3) pixel landmarks -> (N, 3) coordinates in the head's own frame (unit: `scale`)."""
        return (landmarks.astype(np.float64) - self.origin) @ self.rotation / self.scale

    def to_image(self, head_points: np.ndarray) -> np.ndarray:
        """(N, 3) head-frame coordinates -> (N, 3) pixel landmarks."""
        return head_points @ self.rotation.T * self.scale + self.origin


def head_pose(landmarks: np.ndarray) -> HeadPose:
    """Absolute head pose of one face, from its skull-fixed landmarks.

    The axes come from the face's own anatomy (the canonical frontal face is left-right symmetric, with the
    forehead above the nose): x is the mean direction across left/right pairs, y points from the forehead
    down to the nose base, z completes a right-handed frame. Expression points are not used.
    """
    pts = landmarks.astype(np.float64)
    pairs = np.array(topo.SYMMETRIC_RIGID_PAIRS)
    across = pts[pairs[:, 1]] - pts[pairs[:, 0]]
    x_axis = (across / np.linalg.norm(across, axis=1, keepdims=True)).sum(axis=0)
    x_axis /= np.linalg.norm(x_axis)
    down = pts[[98, 327, 2]].mean(axis=0) - pts[[topo.FOREHEAD, 151]].mean(axis=0)
    y_axis = down - down.dot(x_axis) * x_axis
    y_axis /= np.linalg.norm(y_axis)
    z_axis = np.cross(x_axis, y_axis)
    rigid = pts[_RIGID]
    origin = rigid.mean(axis=0)
    scale = float(np.sqrt(((rigid - origin) ** 2).sum(axis=1).mean()))
    return HeadPose(np.stack([x_axis, y_axis, z_axis], axis=1), origin, scale)


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity (Umeyama): dst ≈ scale * src @ R.T + t for (N, D) point sets."""
    src = src.astype(np.float64)
    dst = dst.astype(np.float64)
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.ones(len(sig))
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1.0
    rot = u @ np.diag(d) @ vt
    scale = float((sig * d).sum() / (a**2).sum(axis=1).mean())
    return scale, rot, mu_d - scale * rot @ mu_s


# (upper lid, lower lid, iris) of the right and the left eye
EYES = (
    (topo.RIGHT_EYE_UPPER, topo.RIGHT_EYE_LOWER, topo.RIGHT_IRIS),
    (topo.LEFT_EYE_UPPER, topo.LEFT_EYE_LOWER, topo.LEFT_IRIS),
)
MOUTH = tuple(sorted(set(topo.OUTER_LIPS + topo.INNER_LIPS)))
BROWS = (topo.RIGHT_EYEBROW_UPPER + topo.RIGHT_EYEBROW_LOWER, topo.LEFT_EYEBROW_UPPER + topo.LEFT_EYEBROW_LOWER)


@dataclass(frozen=True)
class EyeIndices:
    """One eye's landmark indices as arrays (built once: per frame, list-to-array conversions cost more than the
    arithmetic on a few points)."""

    corners: np.ndarray  # (2,) the upper lid's ends: the eye corners
    upper_mid: np.ndarray  # (5,) the upper lid's middle points
    lower_mid: np.ndarray  # (5,) the lower lid's, facing them
    iris: np.ndarray  # (5,) the iris: centre first


EYE_INDICES = tuple(EyeIndices(np.array([upper[0], upper[-1]]), np.array(upper[2:7]), np.array(lower[2:7]),
                               np.array(iris)) for upper, lower, iris in EYES)


def eye_openness(head_points: np.ndarray, eye: int) -> float:
    """Lid gap over eye width (the eye aspect ratio) of eye 0 (right) or 1 (left), in any frame."""
    ids = EYE_INDICES[eye]
    gap = np.linalg.norm(head_points[ids.upper_mid, :2] - head_points[ids.lower_mid, :2], axis=1).mean()
    corners = head_points[ids.corners, :2]
    width = np.linalg.norm(corners[0] - corners[1])
    return float(gap / max(width, 1e-9))


def mouth_openness(head_points: np.ndarray) -> float:
    """Inner-lip gap over mouth width."""
    gap = np.linalg.norm(head_points[list(topo.INNER_LIP_UPPER[3:8]), :2]
                         - head_points[list(topo.INNER_LIP_LOWER[3:8]), :2], axis=1).mean()
    width = np.linalg.norm(head_points[61, :2] - head_points[291, :2])
    return float(gap / max(width, 1e-9))


def region_extent(head_points: np.ndarray, indices) -> np.ndarray:
    """(2,) width and height of the bounding box of some landmarks."""
    pts = head_points[list(indices), :2]
    return pts.max(axis=0) - pts.min(axis=0)


def gaze(head_points: np.ndarray) -> np.ndarray:
    """(2, 2) iris centre of each eye (right, left) relative to its eye corners' midpoint, over eye width.

    Measured from the corners, which the lids do not move, so a blink does not read as looking down.
    """
    out = np.zeros((2, 2))
    for eye, ids in enumerate(EYE_INDICES):
        corners = head_points[ids.corners, :2]
        width = max(float(np.linalg.norm(corners[0] - corners[1])), 1e-9)
        out[eye] = (head_points[ids.iris[0], :2] - corners.mean(axis=0)) / width
    return out


def expression_offsets(landmarks: np.ndarray, neutral: np.ndarray, neutral_pose: HeadPose | None = None
                       ) -> tuple[np.ndarray, tuple[float, np.ndarray, np.ndarray]]:
    """Expression of a face relative to its neutral: (478, 3) offsets in the neutral head's frame.

    The head motion (a similarity fitted on the skull-fixed points, neutral -> now) is undone first, so the
    result does not change when the face moves, turns in-plane or changes size in the picture. Also returns
    that motion as (scale, rotation (3, 3), translation (3,)).
    """
    neutral_pose = neutral_pose or head_pose(neutral)
    pts = landmarks.astype(np.float64)
    scale, rot, trans = fit_similarity(neutral[_RIGID], pts[_RIGID])
    unposed = (pts - trans) @ rot / scale
    offsets = (unposed - neutral.astype(np.float64)) @ neutral_pose.rotation / neutral_pose.scale
    return offsets, (scale, rot, trans)
