"""CropBox: square face boxes, crops with replicated borders, exact point mapping."""

from __future__ import annotations

import numpy as np

from engine.face.crop import CropBox, median_box


def test_box_contains_the_face_with_room_to_move(default_portrait):
    box = CropBox.from_landmarks(default_portrait.landmarks, scale=1.8)
    lm = default_portrait.landmarks[:, :2]
    face_side = (lm.max(axis=0) - lm.min(axis=0)).max()
    assert box.side >= 1.7 * face_side
    pts = box.to_crop(lm, 100)
    assert (pts > 15).all() and (pts < 85).all()


def test_points_map_to_crop_and_back_exactly(default_portrait):
    box = CropBox(100.3, 80.7, 151.2)
    pts = np.random.default_rng(0).uniform(0, 300, (50, 2))
    np.testing.assert_allclose(box.to_image(box.to_crop(pts, 64), 64), pts, atol=1e-3)


def test_crop_pixels_sit_where_to_crop_says():
    image = np.zeros((200, 300, 3), dtype=np.uint8)
    image[120, 170] = 255  # one bright pixel
    box = CropBox(150.0, 100.0, 100.0)
    crop = box.crop(image, 100)  # 1:1 scale
    y, x = np.unravel_index(crop[..., 0].argmax(), crop.shape[:2])
    np.testing.assert_allclose(box.to_crop(np.array([[170.0, 120.0]]), 100)[0], [x, y], atol=0.01)


def test_crop_outside_the_image_replicates_the_border():
    image = np.zeros((50, 50, 3), dtype=np.uint8)
    image[:, -1] = 200
    crop = CropBox(60.0, 25.0, 40.0).crop(image, 40)
    assert crop[:, -5:].min() == 200


def test_crop_has_the_requested_size_when_shrinking_a_lot(default_portrait):
    crop = CropBox.from_landmarks(default_portrait.landmarks).crop(default_portrait.image, 32)
    assert crop.shape == (32, 32, 3) and crop.dtype == np.uint8


def test_a_clip_box_is_the_median_frame_box_so_the_face_keeps_the_size_the_app_crops_it_at():
    boxes = [CropBox(100 + i, 100 - 2 * i, 80 + i) for i in range(9)] + [CropBox(400, 400, 300)]  # one outlier
    clip = median_box(boxes)
    assert (clip.cx, clip.cy, clip.side) == (104.5, 93.0, 84.5)  # the outlier moves nothing
