"""Driving signal: face tracking (mediapipe), head pose, and retargeting onto the portrait's face.

Data flow per frame: RGB frame -> FaceTracker.track -> (478, 3) driving landmarks -> Retargeter.retarget ->
Motion with (478, 2) portrait landmarks. Motion is measured relative to the driving face's neutral pose and
applied to the portrait's own neutral landmarks, so the user's face shape never leaks into the avatar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from engine import face_topology as topo
from engine.animator import Motion
from engine.errors import NoFaceFoundError
from engine.smoothing import OneEuroConfig, OneEuroFilter


class FaceTracker:
    """mediapipe face mesh (478 landmarks with irises) on RGB frames; one instance per thread.

    `track` runs in tracking mode (cheap on consecutive video frames unless `static_image_mode`);
    `detect` runs a separate still-image graph so loading a portrait never disturbs the live track.
    """

    def __init__(self, static_image_mode: bool = False) -> None:
        self._static_image_mode = static_image_mode
        self._video_mesh = None
        self._still_mesh = None

    @staticmethod
    def _make_mesh(static_image_mode: bool):
        import mediapipe as mp  # heavy: imported only when a tracker is first used

        return mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static_image_mode,
            max_num_faces=1,
            refine_landmarks=True,
            min_detection_confidence=0.5,
            min_tracking_confidence=0.5,
        )

    @staticmethod
    def _run(mesh, image_rgb: np.ndarray) -> np.ndarray | None:
        # (H, W, 3) uint8 RGB -> (478, 3) float32: x, y in pixels, z in the same pixel scale (x width)
        image_rgb = np.ascontiguousarray(image_rgb)
        result = mesh.process(image_rgb)
        if not result.multi_face_landmarks:
            return None
        h, w = image_rgb.shape[:2]
        points = result.multi_face_landmarks[0].landmark
        out = np.array([(p.x, p.y, p.z) for p in points], dtype=np.float32)
        out[:, 0] *= w
        out[:, 1] *= h
        out[:, 2] *= w
        return out

    def track(self, frame_rgb: np.ndarray) -> np.ndarray | None:
        """Landmarks (478, 3) float32 of the one face in a video frame, or None when there is none."""
        if self._video_mesh is None:
            self._video_mesh = self._make_mesh(self._static_image_mode)
        return self._run(self._video_mesh, frame_rgb)

    def detect(self, image_rgb: np.ndarray) -> np.ndarray:
        """Landmarks (478, 3) of the face in a still image; raises NoFaceFoundError when there is none.

        A close-up whose face fills the frame can defeat the face detector, so a second try pads the image.
        """
        if self._still_mesh is None:
            self._still_mesh = self._make_mesh(True)
        landmarks = self._run(self._still_mesh, image_rgb)
        if landmarks is None:
            h, w = image_rgb.shape[:2]
            pad = max(h, w) // 4
            padded = cv2.copyMakeBorder(image_rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            landmarks = self._run(self._still_mesh, padded)
            if landmarks is not None:
                landmarks[:, :2] -= pad
                landmarks[:, 2] *= w / padded.shape[1]
        if landmarks is None:
            raise NoFaceFoundError("No face was found in the image; choose a photo showing one face clearly.")
        return landmarks

    def close(self) -> None:
        """Release the mediapipe graphs."""
        for mesh in (self._video_mesh, self._still_mesh):
            if mesh is not None:
                mesh.close()
        self._video_mesh = self._still_mesh = None

    def __enter__(self) -> FaceTracker:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------------------
# Head pose


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
    rigid = pts[list(topo.RIGID)]
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


# ---------------------------------------------------------------------------------------------------------
# Retargeting


@dataclass(frozen=True)
class IdleConfig:
    """What the avatar does while no face is visible: hold, then ease to neutral, breathing and blinking."""

    hold_s: float = 0.6
    ease_s: float = 1.2  # time constant of the exponential ease back to neutral
    breathing_period_s: float = 4.5
    breathing_amplitude: float = 0.006  # head-scale units of vertical drift
    blink_interval_s: float = 3.7
    blink_duration_s: float = 0.22


@dataclass(frozen=True)
class RetargetConfig:
    """Retargeting options. `smoothing=None` passes tracking noise through unfiltered."""

    smoothing: OneEuroConfig | None = field(default_factory=OneEuroConfig)
    expression_smoothing: OneEuroConfig | None = field(
        default_factory=lambda: OneEuroConfig(min_cutoff=1.5, beta=4.0))
    idle: IdleConfig = field(default_factory=IdleConfig)
    region_scale_limits: tuple[float, float] = (0.5, 2.0)
    follow_translation: bool = True
    follow_scale: bool = True


@dataclass
class _DrivingState:
    """Motion relative to the driving neutral, in a form that can be filtered and eased to zero."""

    rotvec: np.ndarray  # (3,) head rotation relative to neutral, in the head's own frame (radians)
    shift: np.ndarray  # (2,) translation of the head, in head-scale units of the neutral face
    log_scale: float  # log of the apparent head size relative to neutral
    expression: np.ndarray  # (478, 3) offsets in head coordinates, already scaled per region

    @classmethod
    def neutral(cls) -> _DrivingState:
        return cls(np.zeros(3), np.zeros(2), 0.0, np.zeros((topo.NUM_LANDMARKS, 3)))

    def pose_vector(self) -> np.ndarray:
        return np.concatenate([self.rotvec, self.shift, [self.log_scale]])

    def lerp_to_neutral(self, keep: float) -> _DrivingState:
        return _DrivingState(self.rotvec * keep, self.shift * keep, self.log_scale * keep,
                             self.expression * keep)


_EYES = (
    (topo.RIGHT_EYE_UPPER, topo.RIGHT_EYE_LOWER, topo.RIGHT_IRIS),
    (topo.LEFT_EYE_UPPER, topo.LEFT_EYE_LOWER, topo.LEFT_IRIS),
)
_MOUTH = tuple(sorted(set(topo.OUTER_LIPS + topo.INNER_LIPS)))
_BROWS = (topo.RIGHT_EYEBROW_UPPER + topo.RIGHT_EYEBROW_LOWER, topo.LEFT_EYEBROW_UPPER + topo.LEFT_EYEBROW_LOWER)


def eye_openness(head_points: np.ndarray, eye: int) -> float:
    """Lid gap over eye width (the eye aspect ratio) of eye 0 (right) or 1 (left), in any frame."""
    upper, lower, _ = _EYES[eye]
    gap = np.linalg.norm(head_points[list(upper[2:7]), :2] - head_points[list(lower[2:7]), :2], axis=1).mean()
    width = np.linalg.norm(head_points[upper[0], :2] - head_points[upper[-1], :2])
    return float(gap / max(width, 1e-9))


def mouth_openness(head_points: np.ndarray) -> float:
    """Inner-lip gap over mouth width."""
    gap = np.linalg.norm(head_points[list(topo.INNER_LIP_UPPER[3:8]), :2]
                         - head_points[list(topo.INNER_LIP_LOWER[3:8]), :2], axis=1).mean()
    width = np.linalg.norm(head_points[61, :2] - head_points[291, :2])
    return float(gap / max(width, 1e-9))


def _region_extent(head_points: np.ndarray, indices) -> np.ndarray:
    pts = head_points[list(indices), :2]
    return pts.max(axis=0) - pts.min(axis=0)


def gaze(head_points: np.ndarray) -> np.ndarray:
    """(2, 2) iris centre of each eye relative to the eye's centre, over eye width (x) and height (y)."""
    out = np.zeros((2, 2))
    for eye, (upper, lower, iris) in enumerate(_EYES):
        contour = head_points[list(upper + lower), :2]
        centre = (contour.max(axis=0) + contour.min(axis=0)) / 2
        extent = np.maximum(contour.max(axis=0) - contour.min(axis=0), 1e-9)
        out[eye] = (head_points[iris[0], :2] - centre) / extent
    return out


class Retargeter:
    """Maps driving landmarks onto the portrait's face, relative to the driving face's neutral pose.

    retarget((478, 3) driving landmarks | None, timestamp) -> Motion with (478, 2) portrait landmarks.
    The first face seen is the neutral (or the next one after `calibrate()`).
    """

    def __init__(self, portrait_landmarks: np.ndarray, config: RetargetConfig | None = None) -> None:
        self.config = config or RetargetConfig()
        self._portrait = portrait_landmarks.astype(np.float64)
        self._portrait_pose = head_pose(self._portrait)
        self._portrait_head = self._portrait_pose.to_head(self._portrait)  # (478, 3)
        self._neutral: np.ndarray | None = None  # driving neutral landmarks (478, 3) pixels
        self._neutral_pose: HeadPose | None = None
        self._region_scale = np.ones((topo.NUM_LANDMARKS, 3))
        self._state = _DrivingState.neutral()
        self._last_seen: float | None = None
        self._pose_filter = OneEuroFilter(self.config.smoothing) if self.config.smoothing else None
        self._expr_filter = (OneEuroFilter(self.config.expression_smoothing)
                             if self.config.expression_smoothing else None)

    @property
    def has_neutral(self) -> bool:
        """Whether a driving neutral face has been captured."""
        return self._neutral is not None

    def calibrate(self) -> None:
        """Take the next visible driving face as the new neutral."""
        self._neutral = None
        self._neutral_pose = None

    def _set_neutral(self, driving: np.ndarray) -> None:
        self._neutral = driving.astype(np.float64)
        self._neutral_pose = head_pose(self._neutral)
        self._region_scale = self._compute_region_scale(self._neutral_pose.to_head(self._neutral))
        self._state = _DrivingState.neutral()
        for f in (self._pose_filter, self._expr_filter):
            if f is not None:
                f.reset()

    def _compute_region_scale(self, driving_head: np.ndarray) -> np.ndarray:
        """Per-landmark (x, y, z) scale so that a region's motion is proportional to its size on each face."""
        lo, hi = self.config.region_scale_limits
        portrait_head = self._portrait_head
        scale = np.ones((topo.NUM_LANDMARKS, 3))
        # (indices, per-axis ratio) for each region; the face itself is already normalised by head scale.
        regions: list[tuple[tuple[int, ...], np.ndarray]] = []
        mouth_ratio = (np.linalg.norm(portrait_head[61, :2] - portrait_head[291, :2])
                       / max(np.linalg.norm(driving_head[61, :2] - driving_head[291, :2]), 1e-9))
        regions.append((_MOUTH, np.array([mouth_ratio, mouth_ratio, 1.0])))
        for upper, lower, iris in _EYES:
            ext_p = _region_extent(portrait_head, upper + lower)
            ext_d = _region_extent(driving_head, upper + lower)
            ratio = ext_p / np.maximum(ext_d, 1e-9)
            regions.append((upper + lower + iris, np.array([ratio[0], ratio[1], 1.0])))
        for brow in _BROWS:
            ratio = _region_extent(portrait_head, brow)[0] / max(_region_extent(driving_head, brow)[0], 1e-9)
            regions.append((brow, np.array([ratio, ratio, 1.0])))
        # Spread each region's ratio to its neighbourhood with a Gaussian falloff, so that skin next to the
        # lips moves with the lips instead of tearing away from them.
        weights_sum = np.zeros(topo.NUM_LANDMARKS)
        weighted = np.zeros((topo.NUM_LANDMARKS, 3))
        for indices, ratio in regions:
            pts = portrait_head[list(indices), :2]
            radius = max(float(np.linalg.norm(pts.max(axis=0) - pts.min(axis=0))) * 0.5, 1e-6)
            dist = np.linalg.norm(portrait_head[:, None, :2] - pts[None], axis=2).min(axis=1)
            w = np.exp(-((dist / radius) ** 2))
            weights_sum += w
            weighted += w[:, None] * np.clip(ratio, lo, hi)
        blend = np.clip(weights_sum, 0.0, 1.0)[:, None]
        scale = (1 - blend) * scale + blend * weighted / np.maximum(weights_sum, 1e-9)[:, None]
        return scale

    def _measure(self, driving: np.ndarray) -> _DrivingState:
        """Driving landmarks -> motion relative to the neutral (pose parameters + expression in head frame)."""
        assert self._neutral is not None and self._neutral_pose is not None
        neutral_pose = self._neutral_pose
        pts = driving.astype(np.float64)
        rigid = list(topo.RIGID)
        # Relative head motion: similarity from the neutral's rigid points to the current ones.
        scale, rot, trans = fit_similarity(self._neutral[rigid], pts[rigid])
        # Expression: undo the head motion, then express the residual in the neutral head's frame.
        unposed = (pts - trans) @ rot / scale
        expression = neutral_pose.to_head(unposed) - neutral_pose.to_head(self._neutral)
        rot_head = neutral_pose.rotation.T @ rot @ neutral_pose.rotation
        rotvec = cv2.Rodrigues(rot_head)[0].ravel()
        centre_now = scale * rot @ neutral_pose.origin + trans
        shift = (centre_now - neutral_pose.origin)[:2] / neutral_pose.scale
        return _DrivingState(rotvec, shift, math.log(max(scale, 1e-6)), expression * self._region_scale)

    def _compose(self, state: _DrivingState) -> np.ndarray:
        """Motion state -> (478, 2) portrait landmarks in portrait pixels."""
        pose = self._portrait_pose
        head = self._portrait_head + state.expression
        head = _fit_irises(head, self._portrait_head)
        rot = pose.rotation @ cv2.Rodrigues(state.rotvec.reshape(3, 1))[0] @ pose.rotation.T
        scale = math.exp(state.log_scale) if self.config.follow_scale else 1.0
        points = pose.to_image(head) - pose.origin
        points = scale * points @ rot.T + pose.origin
        if self.config.follow_translation:
            points[:, :2] += state.shift * pose.scale
        return points[:, :2].astype(np.float32)

    def retarget(self, driving_landmarks: np.ndarray | None, timestamp: float) -> Motion:
        """One driving frame (or None when no face is visible) -> Motion on the portrait."""
        if driving_landmarks is None:
            return Motion(self._compose(self._idle_state(timestamp)), timestamp, face_visible=False)
        if self._neutral is None:
            self._set_neutral(driving_landmarks)
        raw = self._measure(driving_landmarks)
        state = self._smooth(raw, timestamp)
        self._state = state
        self._last_seen = timestamp
        return Motion(self._compose(state), timestamp, face_visible=True)

    def _smooth(self, raw: _DrivingState, timestamp: float) -> _DrivingState:
        pose = raw.pose_vector()
        expression = raw.expression
        if self._pose_filter is not None:
            pose = self._pose_filter(pose, timestamp)
        if self._expr_filter is not None:
            expression = self._expr_filter(expression, timestamp)
        return _DrivingState(pose[:3], pose[3:5], float(pose[5]), expression)

    def _idle_state(self, timestamp: float) -> _DrivingState:
        """Hold the last pose, then ease to neutral while breathing and blinking."""
        idle = self.config.idle
        since = 0.0 if self._last_seen is None else max(timestamp - self._last_seen, 0.0)
        if self._last_seen is not None and since <= idle.hold_s:
            return self._state
        eased_for = since - idle.hold_s if self._last_seen is not None else math.inf
        keep = math.exp(-eased_for / idle.ease_s) if math.isfinite(eased_for) else 0.0
        state = self._state.lerp_to_neutral(keep)
        life = 1.0 - keep  # idle animation fades in as the held pose fades out
        breath = idle.breathing_amplitude * math.sin(2 * math.pi * timestamp / idle.breathing_period_s)
        state.shift = state.shift + np.array([0.0, breath * life])
        state.log_scale = state.log_scale + 0.5 * breath * life
        closure = _blink_closure(timestamp, idle) * life
        if closure > 0:
            state.expression = state.expression + self._blink_offsets(closure)
        for f in (self._pose_filter, self._expr_filter):
            if f is not None:
                f.reset()  # the next face seen starts fresh instead of blending with an idle frame
        return state

    def _blink_offsets(self, closure: float) -> np.ndarray:
        """(478, 3) head-frame offsets closing both portrait eyes by `closure` in [0, 1]."""
        offsets = np.zeros((topo.NUM_LANDMARKS, 3))
        head = self._portrait_head
        for upper, lower, _ in _EYES:
            up, low = list(upper[1:-1]), list(lower[1:-1])
            meet = 0.3 * head[up] + 0.7 * head[low]  # upper lids travel most, as in a real blink
            offsets[up, 1] = closure * (meet[:, 1] - head[up, 1])
            offsets[low, 1] = closure * (meet[:, 1] - head[low, 1])
        return offsets


def _blink_closure(timestamp: float, idle: IdleConfig) -> float:
    """Deterministic blink schedule: 0 (open) .. 1 (closed), a short bump every `blink_interval_s`."""
    phase = timestamp % idle.blink_interval_s
    if phase > idle.blink_duration_s:
        return 0.0
    return math.sin(math.pi * phase / idle.blink_duration_s)


def _fit_irises(head: np.ndarray, neutral_head: np.ndarray) -> np.ndarray:
    """Keep each iris inside its (possibly closing) eye: squash it vertically with the lid gap."""
    out = head.copy()
    for eye, (upper, lower, iris) in enumerate(_EYES):
        open_now = eye_openness(head, eye)
        open_neutral = max(eye_openness(neutral_head, eye), 1e-6)
        squash = float(np.clip(open_now / open_neutral, 0.0, 1.0))
        lids_mid = (head[list(upper[2:7]), 1].mean() + head[list(lower[2:7]), 1].mean()) / 2
        centre_y = out[iris[0], 1]
        ys = out[list(iris), 1]
        centre_y = lids_mid + (centre_y - lids_mid) * squash
        out[list(iris), 1] = centre_y + (ys - out[iris[0], 1]) * squash
    return out
