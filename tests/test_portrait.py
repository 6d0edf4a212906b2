"""Portrait loading: real images in, one clear sentence for every bad input."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from engine.errors import InvalidImageError, NoFaceFoundError
from engine.face.portrait import load_portrait
from tests.conftest import PORTRAITS, read_rgb


def test_loads_the_default_portrait_with_its_landmarks(default_portrait):
    assert default_portrait.image.shape == (512, 512, 3) and default_portrait.image.dtype == np.uint8
    assert default_portrait.landmarks.shape == (478, 3)
    assert default_portrait.name == "astronaut"


def test_text_file_is_not_an_image(tmp_path, face_tracker):
    path = tmp_path / "notes.png"
    path.write_text("not a picture")
    with pytest.raises(InvalidImageError, match="not an image"):
        load_portrait(path, face_tracker)


def test_missing_file_is_reported(tmp_path, face_tracker):
    with pytest.raises(InvalidImageError, match="does not exist"):
        load_portrait(tmp_path / "nope.jpg", face_tracker)


def test_truncated_jpeg_is_reported(tmp_path, face_tracker):
    data = (PORTRAITS / "obama.jpg").read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidImageError, match="truncated"):
        load_portrait(path, face_tracker)


def test_tiny_image_is_rejected(tmp_path, face_tracker):
    path = tmp_path / "tiny.png"
    cv2.imwrite(str(path), cv2.resize(cv2.imread(str(PORTRAITS / "obama.jpg")), (40, 50)))
    with pytest.raises(InvalidImageError, match="at least 64"):
        load_portrait(path, face_tracker)


def test_faceless_image_raises_no_face_found(tmp_path, face_tracker):
    path = tmp_path / "wall.png"
    cv2.imwrite(str(path), np.full((300, 300, 3), 90, dtype=np.uint8))
    with pytest.raises(NoFaceFoundError):
        load_portrait(path, face_tracker)


def test_grayscale_becomes_rgb(tmp_path, face_tracker):
    path = tmp_path / "grey.png"
    cv2.imwrite(str(path), cv2.imread(str(PORTRAITS / "obama.jpg"), cv2.IMREAD_GRAYSCALE))
    portrait = load_portrait(path, face_tracker)
    assert portrait.image.shape == (720, 576, 3)
    assert np.array_equal(portrait.image[..., 0], portrait.image[..., 2])


def test_transparent_background_is_composited_on_white(tmp_path, face_tracker):
    rgb = read_rgb(PORTRAITS / "obama.jpg")
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)
    rgba[:40, :40, 3] = 0
    path = tmp_path / "cutout.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    portrait = load_portrait(path, face_tracker)
    assert (portrait.image[:40, :40] == 255).all()


def test_huge_image_is_shrunk_to_1024(tmp_path, face_tracker):
    big = cv2.resize(cv2.imread(str(PORTRAITS / "obama.jpg")), (4000, 5000), interpolation=cv2.INTER_LINEAR)
    path = tmp_path / "big.jpg"
    cv2.imwrite(str(path), big)
    portrait = load_portrait(path, face_tracker)
    assert max(portrait.image.shape[:2]) == 1024
    assert portrait.landmarks[:, 1].max() < 1024


def test_array_input_and_name(face_tracker):
    portrait = load_portrait(read_rgb(PORTRAITS / "biden.jpg"), face_tracker, name="joe")
    assert portrait.name == "joe" and portrait.image.shape == (720, 317, 3)


def test_file_name_without_extension_is_the_default_name(tmp_path, face_tracker):
    path = tmp_path / "someone.jpg"
    shutil.copy(PORTRAITS / "obama.jpg", path)
    assert load_portrait(path, face_tracker).name == "someone"


def test_photo_with_two_faces_animates_the_largest_and_counts_both(tmp_path, face_tracker):
    from tests.conftest import two_face_photo

    photo, (ox, oy, ow, oh), (bx, by, bw, bh) = two_face_photo()
    faces = face_tracker.detect_faces(photo)
    assert len(faces) == 2
    centres = [f[:, :2].mean(axis=0) for f in faces]
    assert ox < centres[0][0] < ox + ow and oy < centres[0][1] < oy + oh  # largest first: obama, full size
    assert bx < centres[1][0] < bx + bw and by < centres[1][1] < by + bh  # then biden, half size
    path = tmp_path / "two.png"
    cv2.imwrite(str(path), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    portrait = load_portrait(path, face_tracker)
    assert portrait.faces_found == 2
    assert np.allclose(portrait.landmarks, faces[0], atol=2.0)
