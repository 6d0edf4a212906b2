"""Quality metrics of generated avatar video: pure functions of arrays, no models, no I/O.

Images are (H, W, 3) or (H, W) uint8; landmark tracks are (T, 478, 2) float pixels with NaN rows for frames
where no face was found. Every function returns a plain float (NaN when there is nothing to measure).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from engine.face import topology as topo
from engine.face.head_pose import MOUTH

#: Landmark groups whose following is scored separately: lips, eyes (lids and irises), and the skull-fixed
#: points that move only with the head (their error is the head-pose error, in landmark units).
REGIONS: dict[str, tuple[int, ...]] = {
    "mouth": MOUTH,
    "eyes": tuple(sorted(set(topo.RIGHT_EYE + topo.LEFT_EYE + topo.RIGHT_IRIS + topo.LEFT_IRIS))),
    "pose": topo.RIGID,
}

#: Outer eye corners (subject's right, left): their distance is the inter-ocular distance.
OUTER_EYE_CORNERS = (33, 263)


def psnr(image: np.ndarray, reference: np.ndarray, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB of two same-shape images (inf when they are equal)."""
    mse = float(np.mean((image.astype(np.float64) - reference.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak**2 / mse)


def ssim(image: np.ndarray, reference: np.ndarray, peak: float = 255.0, sigma: float = 1.5) -> float:
    """Structural similarity (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03.

    Colour images: the mean over channels. Only windows lying fully inside the image are averaged ("valid").
    """
    if image.shape != reference.shape:
        raise ValueError(f"shapes differ: {image.shape} vs {reference.shape}")
    x = image.astype(np.float64)
    y = reference.astype(np.float64)
    if x.ndim == 3:
        return float(np.mean([ssim(x[..., c], y[..., c], peak, sigma) for c in range(x.shape[2])]))
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    half = int(round(3.5 * sigma))  # 5 for sigma 1.5: the usual 11x11 window

    def blur(a: np.ndarray) -> np.ndarray:
        out = cv2.GaussianBlur(a, (2 * half + 1, 2 * half + 1), sigma, borderType=cv2.BORDER_REFLECT)
        return out[half:-half, half:-half] if min(a.shape) > 2 * half else out

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(s.mean())


def inter_ocular_distance(landmarks: np.ndarray) -> float:
    """Distance between the outer eye corners of one face's (478, 2|3) landmarks, in their pixels."""
    a, b = OUTER_EYE_CORNERS
    return float(np.linalg.norm(landmarks[a, :2] - landmarks[b, :2]))


def landmark_errors(found: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Mean landmark distance per region over the inter-ocular distance of the target.

    found, target: (T, 478, 2) pixels; frames with NaN in `found` (no face found) are skipped.
    Returns {"mouth": e, "eyes": e, "pose": e}; 0.1 means a tenth of the eye distance on average.
    """
    found = np.asarray(found, np.float64)[..., :2]
    target = np.asarray(target, np.float64)[..., :2]
    ok = np.isfinite(found).all(axis=(1, 2))
    if not ok.any():
        return {name: math.nan for name in REGIONS}
    iod = np.array([inter_ocular_distance(t) for t in target[ok]])  # (T',)
    dist = np.linalg.norm(found[ok] - target[ok], axis=2) / iod[:, None]  # (T', 478)
    return {name: float(dist[:, list(idx)].mean()) for name, idx in REGIONS.items()}


def normalise_tracks(tracks: np.ndarray) -> np.ndarray:
    """(T, 478, 2) landmark tracks divided by their median inter-ocular distance (scale-free tracks)."""
    tracks = np.asarray(tracks, np.float64)
    ok = np.isfinite(tracks).all(axis=(1, 2))
    if not ok.any():
        return tracks
    return tracks / np.median([inter_ocular_distance(t) for t in tracks[ok]])


def high_frequency_energy(tracks: np.ndarray) -> float:
    """Mean squared second temporal difference of (T, N, D) tracks: 0 for motion at constant velocity.

    x[t+1] - 2 x[t] + x[t-1] is a high-pass filter (gain 4 at the Nyquist frequency, 0 at DC); triples that
    touch a NaN frame are skipped.
    """
    tracks = np.asarray(tracks, np.float64)
    second = tracks[2:] - 2 * tracks[1:-1] + tracks[:-2]  # (T-2, N, D)
    ok = np.isfinite(second).all(axis=(1, 2))
    if not ok.any():
        return math.nan
    return float((second[ok] ** 2).sum(axis=2).mean())


def temporal_jitter(output_tracks: np.ndarray, driving_tracks: np.ndarray) -> float:
    """High-frequency energy of the output's landmark tracks over that of the driving video's tracks.

    Both (T, 478, 2), each normalised by its own inter-ocular distance, so the faces' sizes cancel.
    1.0: the avatar shakes as much as the driving face; above 1: the animator adds jitter.
    """
    drv = high_frequency_energy(normalise_tracks(driving_tracks))
    out = high_frequency_energy(normalise_tracks(output_tracks))
    return out / drv if drv > 0 else math.nan


def frame_differences(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, C) frames -> (T-1,) mean absolute difference between consecutive frames (grey levels)."""
    frames = np.asarray(frames)
    return np.array([np.abs(frames[t].astype(np.float32) - frames[t - 1].astype(np.float32)).mean()
                     for t in range(1, len(frames))], np.float64)


def chunk_boundary_jump(frames: np.ndarray, chunk_ids: np.ndarray) -> float:
    """Mean frame difference across chunk borders over the mean inside chunks (1.0 = seamless).

    frames (T, H, W, C); chunk_ids (T,) the chunk each frame was emitted in. A border is a pair of
    consecutive frames from different chunks.
    """
    diffs = frame_differences(frames)
    ids = np.asarray(chunk_ids)
    border = ids[1:] != ids[:-1]
    if not border.any() or border.all():
        return math.nan
    inside = diffs[~border].mean()
    return float(diffs[border].mean() / inside) if inside > 0 else math.nan


def sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian (3x3, 4-neighbour) of the grey image: higher is sharper."""
    grey = image.astype(np.float64)
    if grey.ndim == 3:
        grey = grey @ np.array([0.299, 0.587, 0.114])
    return float(cv2.Laplacian(grey, cv2.CV_64F, ksize=1).var())


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of the angle between two descriptor vectors (1: same direction, NaN if either is zero or NaN)."""
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / norm) if norm > 0 else math.nan


def ratio(late: float, early: float) -> float:
    """late / early, NaN when early is 0 or either is NaN (drift: 1.0 = no change over time)."""
    return late / early if early and math.isfinite(early) and math.isfinite(late) else math.nan


def _boundary_energy(image: np.ndarray, landmarks: np.ndarray, band: int) -> np.ndarray:
    """Squared Sobel gradient magnitude of the grey image on a band of `band` px around the face oval."""
    grey = image.astype(np.float32)
    if grey.ndim == 3:
        grey = grey @ np.array([0.299, 0.587, 0.114], np.float32)
    energy = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3) ** 2 + cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3) ** 2
    outline = np.zeros(grey.shape, np.uint8)
    oval = np.round(np.asarray(landmarks)[list(topo.FACE_OVAL), :2]).astype(np.int32)
    cv2.polylines(outline, [oval], True, 255, thickness=2 * band + 1)
    return energy[outline > 0]


def tear_score(frame: np.ndarray, frame_landmarks: np.ndarray, portrait: np.ndarray,
               portrait_landmarks: np.ndarray, band: int = 3, factor: float = 3.0) -> float:
    """Share of the face boundary's pixels in `frame` whose gradient energy exceeds `factor` times the mean
    of the portrait's own face boundary: saw-tooth tears and loose edges score high, a clean warp near 0."""
    own = _boundary_energy(portrait, portrait_landmarks, band)
    seen = _boundary_energy(frame, frame_landmarks, band)
    if not own.size or not seen.size or not np.isfinite(frame_landmarks).all():
        return math.nan
    return float((seen > factor * own.mean()).mean())
