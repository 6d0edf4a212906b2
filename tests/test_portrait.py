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
    assert (portrait.image[1:30, 1:30] == 255).all()  # (the outermost lines are softened: soften_edges)


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


def test_soften_edges_blurs_only_the_outermost_lines_along_their_length(default_portrait):
    from engine.face.portrait import soften_edges

    image = read_rgb(PORTRAITS / "obama.jpg")  # a flag and a curtain at the sides: busy edge lines
    out = soften_edges(image)
    assert np.array_equal(out[1:-1, 1:-1], image[1:-1, 1:-1]) and out.dtype == np.uint8

    def roughness(line):
        return np.abs(np.diff(line.astype(np.int16), axis=0)).mean()

    for got, was in ((out[0], image[0]), (out[-1], image[-1]), (out[:, 0], image[:, 0]), (out[:, -1], image[:, -1])):
        assert roughness(got) < 0.5 * roughness(was)
    assert np.array_equal(default_portrait.image, soften_edges(read_rgb(PORTRAITS / "astronaut.png")))  # as loaded


def test_a_head_moved_down_from_a_photos_cut_edge_shows_no_streaks_above_it(face_tracker):
    from engine.face.portrait import load_portrait
    from engine.warp import build_mesh, warp_with_mesh

    full = read_rgb(PORTRAITS / "obama.jpg")
    lm = face_tracker.detect(full)
    face = lm[152, 1] - lm[10, 1]
    raw = np.ascontiguousarray(full[int(lm[10, 1] - 0.2 * face):])  # the photo's top edge cuts through the hair
    portrait = load_portrait(raw, face_tracker)
    down = portrait.landmarks[:, :2] + [0.0, 0.15 * face]  # the head moves down, off that edge
    x0, x1 = int(portrait.landmarks[:, 0].min()), int(portrait.landmarks[:, 0].max())
    strip = slice(0, int(0.1 * face))  # what the move reveals above the head comes from beyond the edge

    def streaks(image):
        out = warp_with_mesh(image, build_mesh(portrait.landmarks[:, :2], image.shape[:2]), down)
        return np.abs(np.diff(out[strip, x0:x1].astype(np.int16), axis=1)).mean()

    assert streaks(portrait.image) < 0.4 * streaks(raw)
