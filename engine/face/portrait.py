"""Loading a portrait: any common image file or array -> validated RGB image + detected face landmarks."""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from engine.animator import Portrait
from engine.errors import InvalidImageError
from engine.face.tracker import FaceTracker

MIN_SIDE = 64  # smaller images hold too few pixels of face to animate
MAX_SIDE = 1024  # larger ones are shrunk before tracking: no gain in detail, a large cost per frame
MAX_PIXELS = 80_000_000  # larger photos (a 108 MP phone) are decoded reduced, straight to about MAX_SIDE
MAX_HEADER_PIXELS = 400_000_000  # refused before decoding: far beyond any camera, a decompression bomb


@contextmanager
def pillow_header_limit(pixels: int):
    """Let Pillow open headers up to `pixels` (its own limit, ~179 MP, would refuse a 200 MP photo) quietly;
    our header check then decides."""
    from PIL import Image

    before = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = before


def _decode_reduced(img) -> None:
    """Decode a huge image straight to about MAX_SIDE on its longer side (JPEG decodes at 1/2..1/8 scale)."""
    img.draft("RGB", (MAX_SIDE, MAX_SIDE))
    img.thumbnail((MAX_SIDE, MAX_SIDE))


def _read_file(path: Path) -> np.ndarray:
    """Decode an image file with Pillow (which, unlike OpenCV, reports truncated files); EXIF rotation applied."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not path.is_file():
        raise InvalidImageError(f"The portrait file {path} does not exist.")
    too_large = f"{path.name} is larger than {MAX_HEADER_PIXELS // 1_000_000} megapixels; choose a smaller photo."
    try:
        with pillow_header_limit(MAX_HEADER_PIXELS), Image.open(path) as img:
            width, height = img.size  # from the header, before any pixel is decoded
            if width * height > MAX_HEADER_PIXELS:
                raise InvalidImageError(too_large)
            if width * height > MAX_PIXELS:
                _decode_reduced(img)
            img.load()
            img = ImageOps.exif_transpose(img)
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(img, dtype=np.float64)
                arr = arr / max(arr.max(), 1.0) * 255.0
                return arr.astype(np.uint8)
            if "A" in img.getbands() or (img.mode == "P" and "transparency" in img.info):
                return np.asarray(img.convert("RGBA"))
            return np.asarray(img.convert("RGB"))
    except UnidentifiedImageError as err:
        raise InvalidImageError(f"{path.name} is not an image file that can be read.") from err
    except InvalidImageError:
        raise
    except Image.DecompressionBombError as err:  # Pillow's own limit, checked as it opens the header
        raise InvalidImageError(too_large) from err
    except Exception as err:  # noqa: BLE001 - decoders fail on damaged files in many ways (OSError, EOFError,
        # struct.error, DecompressionBombError, MemoryError...): to the user each is one damaged file
        raise InvalidImageError(f"{path.name} is damaged or truncated and cannot be read.") from err


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Grayscale (H, W) / (H, W, 1), RGB or RGBA uint8 -> (H, W, 3) uint8 RGB; transparency composited on white."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise InvalidImageError("The portrait must be an 8-bit image.")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return np.repeat(image.reshape(image.shape[0], image.shape[1], 1), 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[..., 3:4].astype(np.float32) / 255.0
        rgb = image[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image)
    raise InvalidImageError(f"The portrait has an unsupported shape {image.shape}.")


def soften_edges(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> a copy whose outermost rows and columns are blurred along their length.

    A head moved away from where the photo cuts it (hair at the top edge, a shoulder at the side) shows what
    lies beyond that edge, which the warp extends from the edge's own pixels: a sharp edge line extends into
    streaks (hair drawn into a cone above the head), a blurred one into a soft continuation. The one-pixel
    lines themselves barely change the photo.
    """
    out = image.copy()
    sigma = max(4.0, 0.03 * max(image.shape[:2]))
    for line in (out[0], out[-1], out[:, 0], out[:, -1]):
        line[...] = cv2.GaussianBlur(line[None], (0, 0), sigmaX=sigma, sigmaY=0.1,
                                     borderType=cv2.BORDER_REPLICATE)[0]
    return out


def load_portrait(source: str | Path | np.ndarray, tracker: FaceTracker, name: str | None = None) -> Portrait:
    """A file path or an RGB(A)/grayscale array -> Portrait with its face's (478, 3) landmarks.

    With several faces in the photo the largest is animated (`faces_found` says how many there were).
    Raises InvalidImageError (not an image, damaged, smaller than 64 px, a header beyond 400 MP) or
    NoFaceFoundError.
    """
    if isinstance(source, np.ndarray):
        image = source
        name = name or "portrait"
    else:
        path = Path(source)
        image = _read_file(path)
        name = name or path.stem
    image = to_rgb(image)
    h, w = image.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise InvalidImageError(f"The portrait is {w}x{h} pixels; it needs to be at least {MIN_SIDE} on each side.")
    if max(h, w) > MAX_SIDE:
        f = MAX_SIDE / max(h, w)
        image = cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    image = soften_edges(image)
    # recorded and cached trackers (eval, prepare) answer `detect` only: one face, as they were recorded
    faces = tracker.detect_faces(image) if hasattr(tracker, "detect_faces") else [tracker.detect(image)]
    return Portrait(image=image, landmarks=faces[0], name=name, other_faces=tuple(faces[1:]))
