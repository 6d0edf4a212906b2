"""Retargeting: driving landmarks onto the portrait's face, relative to the driving face's neutral pose.

Data flow per frame: RGB frame -> FaceTracker.track -> (478, 3) driving landmarks -> Retargeter.retarget ->
Motion with (478, 2) portrait landmarks. Motion is measured relative to the driving face's neutral pose and
applied to the portrait's own neutral landmarks, so the user's face shape never leaks into the avatar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from engine.animator import Motion
from engine.face import topology as topo
from engine.face.driving_state import IRISES, DrivingState, StateFilter
from engine.face.head_pose import (
    BROWS,
    EYE_INDICES,
    EYES,
    MOUTH,
    HeadPose,
    expression_offsets,
    eye_openness,
    gaze,
    head_pose,
    region_extent,
)
from engine.face.neutral_capture import NeutralCapture, NeutralCaptureConfig
from engine.face.smoothing import SmoothingConfig

__all__ = ["IdleConfig", "RetargetConfig", "Retargeter"]


@dataclass(frozen=True)
class IdleConfig:
    """What the avatar does while no face is visible: hold, then ease to neutral, breathing and blinking."""

    hold_s: float = 0.6
    ease_s: float = 1.2  # time constant of the exponential ease back to neutral
    breathing_period_s: float = 4.5
    breathing_amplitude: float = 0.006  # head-scale units of vertical drift
    blink_interval_s: float = 3.7
    blink_duration_s: float = 0.22
    rejoin_s: float = 0.3  # when the face returns, the avatar glides from its idle pose to it over this time


@dataclass(frozen=True)
class RetargetConfig:
    """Retargeting options. `smoothing=None` passes tracking noise through unfiltered."""

    smoothing: SmoothingConfig | None = field(default_factory=SmoothingConfig)
    idle: IdleConfig = field(default_factory=IdleConfig)
    region_scale_limits: tuple[float, float] = (0.5, 2.0)
    follow_translation: bool = True
    follow_scale: bool = True
    # None: the first face seen is the neutral; else the first steady second of a face (the avatar idles
    # meanwhile: `Retargeter.calibrating`)
    neutral_capture: NeutralCaptureConfig | None = None


def normalised_to_frame(landmarks: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """(478, 3) pixel landmarks of a (width, height) frame -> frame-centred, in frame widths (so the same face
    at another resolution of the same view has the same coordinates)."""
    width, height = frame_size
    out = landmarks.astype(np.float64) / width
    out[:, 0] -= 0.5
    out[:, 1] -= 0.5 * height / width
    return out


class Retargeter:
    """Maps driving landmarks onto the portrait's face, relative to the driving face's neutral pose.

    retarget((478, 3) driving landmarks | None, timestamp) -> Motion with (478, 2) portrait landmarks.
    The first face seen is the neutral (or the next one after `calibrate()`; with `neutral_capture`, the first
    steady second of one). With `frame_size` given, the neutral is kept in frame-normalised coordinates and a
    new frame size starts a new calibration. Head rotation is applied
    in 3D about the portrait's own head axes, expression is added in the portrait's head frame with each
    region scaled to its size on both faces, irises follow the gaze, and with no face the avatar idles.
    """

    def __init__(self, portrait_landmarks: np.ndarray, config: RetargetConfig | None = None) -> None:
        self.config = config or RetargetConfig()
        portrait = portrait_landmarks.astype(np.float64)
        self._portrait_pose = head_pose(portrait)
        self._portrait_head = self._portrait_pose.to_head(portrait)  # (478, 3) portrait in its head frame
        self._portrait_gaze = gaze(self._portrait_head)
        self._portrait_eye_openness = [eye_openness(self._portrait_head, eye) for eye in (0, 1)]
        self._neutral: np.ndarray | None = None  # driving neutral landmarks (478, 3), frame-normalised
        self._frame_size: tuple[int, int] | None = None
        self._capture = NeutralCapture(self.config.neutral_capture) if self.config.neutral_capture else None
        self._neutral_pose: HeadPose | None = None
        self._neutral_gaze = np.zeros((2, 2))
        self._region_scale = np.ones((topo.NUM_LANDMARKS, 3))
        self._state = DrivingState.neutral()  # the last tracked state (what idling holds, then eases from)
        self._last_seen: float | None = None
        self._shown: DrivingState | None = None  # the state of the last Motion returned, tracked or idle
        self._face_was_visible = False
        self._rejoin: tuple[DrivingState, float] | None = None  # (idle state left, time) while gliding back
        self._filter = StateFilter(self.config.smoothing) if self.config.smoothing else None

    @property
    def has_neutral(self) -> bool:
        """Whether a driving neutral face has been captured."""
        return self._neutral is not None

    @property
    def calibrating(self) -> bool:
        """Whether the driving neutral is still being captured (the avatar idles until it is)."""
        return self._neutral is None

    def calibrate(self) -> None:
        """Take the next visible driving face (or its first steady second) as the new neutral."""
        self._neutral = None
        self._neutral_pose = None
        if self._capture is not None:
            self._capture = NeutralCapture(self.config.neutral_capture)

    def retarget(self, driving_landmarks: np.ndarray | None, timestamp: float,
                 frame_size: tuple[int, int] | None = None) -> Motion:
        """One driving frame (or None when no face is visible) -> Motion on the portrait.

        `frame_size` (width, height) of the driving frame: landmarks are then taken in frame-normalised
        coordinates, and a frame of another size (a new source) starts a new calibration.
        """
        if frame_size is not None:
            if self._frame_size is not None and tuple(frame_size) != self._frame_size:
                self.calibrate()
            self._frame_size = tuple(frame_size)
            if driving_landmarks is not None:
                driving_landmarks = normalised_to_frame(driving_landmarks, self._frame_size)
        if self._neutral is None and self._capture is not None:
            neutral = self._capture.add(driving_landmarks, timestamp)
            if neutral is None:  # still calibrating: idle (never a face measured against a stale neutral)
                self._shown, self._face_was_visible = self._idle_state(timestamp), False
                return Motion(self._compose(self._shown), timestamp, face_visible=False)
            self._set_neutral(neutral)
        if driving_landmarks is None:
            self._shown, self._face_was_visible = self._idle_state(timestamp), False
            return Motion(self._compose(self._shown), timestamp, face_visible=False)
        if self._neutral is None:
            self._set_neutral(driving_landmarks)
        state = self.measure(driving_landmarks)
        if self._filter is not None:
            state = self._filter(state, timestamp)
        self._state = state
        self._last_seen = timestamp
        if not self._face_was_visible and self._shown is not None:  # the face is back: glide, do not jump
            self._rejoin = (self._shown, timestamp)
        self._shown, self._face_was_visible = self._rejoined(state, timestamp), True
        return Motion(self._compose(self._shown), timestamp, face_visible=True)

    def _rejoined(self, state: DrivingState, timestamp: float) -> DrivingState:
        """`state`, or while the face has just come back, a smoothstep blend from the idle pose it left."""
        if self._rejoin is None:
            return state
        left, since = self._rejoin
        progress = (timestamp - since) / self.config.idle.rejoin_s if self.config.idle.rejoin_s > 0 else 1.0
        if progress >= 1.0:
            self._rejoin = None
            return state
        progress = max(progress, 0.0)
        return left.towards(state, progress * progress * (3 - 2 * progress))

    # -- driving side -----------------------------------------------------------------------------------

    def _set_neutral(self, driving: np.ndarray) -> None:
        self._neutral = driving.astype(np.float64)
        self._neutral_pose = head_pose(self._neutral)
        neutral_head = self._neutral_pose.to_head(self._neutral)
        self._neutral_gaze = gaze(neutral_head)
        self._region_scale = self._compute_region_scale(neutral_head)
        self._state = DrivingState.neutral()
        if self._filter is not None:
            self._filter.reset()

    def measure(self, driving: np.ndarray) -> DrivingState:
        """Driving landmarks -> unfiltered motion relative to the neutral (pose, expression, gaze)."""
        if self._neutral is None or self._neutral_pose is None:
            raise RuntimeError("Retargeter.measure called before a neutral face was seen")
        neutral_pose = self._neutral_pose
        offsets, (scale, rot, trans) = expression_offsets(driving, self._neutral, neutral_pose)
        driving_head = neutral_pose.to_head(self._neutral) + offsets
        rot_head = neutral_pose.rotation.T @ rot @ neutral_pose.rotation
        rotvec = cv2.Rodrigues(rot_head)[0].ravel()
        centre_now = scale * rot @ neutral_pose.origin + trans
        shift = (centre_now - neutral_pose.origin)[:2] / neutral_pose.scale
        expression = offsets * self._region_scale
        expression[IRISES] = 0.0  # irises are placed by gaze
        return DrivingState(rotvec, shift, math.log(max(scale, 1e-6)), expression,
                             gaze(driving_head) - self._neutral_gaze)

    def _compute_region_scale(self, driving_head: np.ndarray) -> np.ndarray:
        """(478, 3) per-landmark scale: a region's motion is proportional to its size on each face.

        A wide mouth driving a narrow one opens it in proportion; eyelids travel the portrait's own eye
        height. Each ratio spreads to the region's surroundings with a Gaussian falloff, so the skin next to
        the lips moves with them instead of tearing away.
        """
        lo, hi = self.config.region_scale_limits
        portrait_head = self._portrait_head
        regions: list[tuple[tuple[int, ...], np.ndarray]] = []
        mouth_ratio = (np.linalg.norm(portrait_head[61, :2] - portrait_head[291, :2])
                       / max(np.linalg.norm(driving_head[61, :2] - driving_head[291, :2]), 1e-9))
        regions.append((MOUTH, np.array([mouth_ratio, mouth_ratio, 1.0])))
        for upper, lower, _iris in EYES:
            ratio = region_extent(portrait_head, upper + lower) / np.maximum(
                region_extent(driving_head, upper + lower), 1e-9)
            regions.append((upper + lower, np.array([ratio[0], ratio[1], 1.0])))
        for brow in BROWS:
            ratio = region_extent(portrait_head, brow)[0] / max(region_extent(driving_head, brow)[0], 1e-9)
            regions.append((brow, np.array([ratio, ratio, 1.0])))
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
        return (1 - blend) + blend * weighted / np.maximum(weights_sum, 1e-9)[:, None]

    # -- portrait side ----------------------------------------------------------------------------------

    def _compose(self, state: DrivingState) -> np.ndarray:
        """Motion state -> (478, 2) portrait landmarks in portrait pixels."""
        pose = self._portrait_pose
        head = self._portrait_head + state.expression
        head = _place_irises(head, self._portrait_head, self._portrait_eye_openness,
                             self._portrait_gaze + state.gaze)
        rot = pose.rotation @ cv2.Rodrigues(state.rotvec.reshape(3, 1))[0] @ pose.rotation.T
        scale = math.exp(state.log_scale) if self.config.follow_scale else 1.0
        points = scale * (pose.to_image(head) - pose.origin) @ rot.T + pose.origin
        if self.config.follow_translation:
            points[:, :2] += state.shift * pose.scale
        return points[:, :2].astype(np.float32)

    def _idle_state(self, timestamp: float) -> DrivingState:
        """No face: hold the last pose, then ease to neutral while breathing and blinking."""
        idle = self.config.idle
        if self._filter is not None:
            self._filter.reset()  # the next face seen starts fresh instead of blending with an idle frame
        if self._last_seen is not None and timestamp - self._last_seen <= idle.hold_s:
            return self._state
        if self._last_seen is None:
            keep = 0.0
        else:
            keep = math.exp(-(timestamp - self._last_seen - idle.hold_s) / idle.ease_s)
        state = self._state.eased(keep)
        life = 1.0 - keep  # the idle animation fades in as the held pose fades out
        breath = idle.breathing_amplitude * math.sin(2 * math.pi * timestamp / idle.breathing_period_s)
        state.shift = state.shift + np.array([0.0, breath * life])
        state.log_scale = state.log_scale + 0.5 * breath * life
        closure = _blink_closure(timestamp, idle) * life
        if closure > 0:
            state.expression = state.expression + self._blink_offsets(closure)
        return state

    def _blink_offsets(self, closure: float) -> np.ndarray:
        """(478, 3) head-frame offsets closing both portrait eyes by `closure` in [0, 1]."""
        offsets = np.zeros((topo.NUM_LANDMARKS, 3))
        head = self._portrait_head
        for upper, lower, _ in EYES:
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


def _place_irises(head: np.ndarray, neutral_head: np.ndarray, neutral_openness: list[float],
                  target_gaze: np.ndarray) -> np.ndarray:
    """Move each iris to `target_gaze` (2, 2) relative to its eye corners, and squash it vertically as the
    lids close so that it never pokes out of a shut eye (a fold in the warp)."""
    out = head.copy()
    for eye, ids in enumerate(EYE_INDICES):
        iris = ids.iris
        corners = head[ids.corners, :2]
        width = float(np.linalg.norm(corners[0] - corners[1]))
        centre = corners.mean(axis=0) + target_gaze[eye] * width
        shape = neutral_head[iris, :2] - neutral_head[iris[0], :2]  # iris outline around its centre
        squash = min(max(eye_openness(head, eye) / max(neutral_openness[eye], 1e-6), 0.0), 1.0)
        lids_mid = (head[ids.upper_mid, 1].mean() + head[ids.lower_mid, 1].mean()) / 2
        centre[1] = lids_mid + (centre[1] - lids_mid) * squash
        out[iris, 0] = centre[0] + shape[:, 0]
        out[iris, 1] = centre[1] + shape[:, 1] * squash
    return out
