"""Piecewise-affine warp and the WarpAnimator, checked with the real tracker on the warped images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.animator import Motion
from engine.face import topology as topo
from engine.face.crop import CropBox
from engine.warp import WarpAnimator, build_mesh, warp_image, warp_with_mesh
from tests.conftest import PORTRAITS, read_rgb


def _open_mouth(landmarks: np.ndarray, fraction: float) -> np.ndarray:
    """A jaw drop by `fraction` of the mouth width: lower lip down, the face below the mouth line following.

    Each point's height is taken from the mouth line (between the inner lips) at its own x, so on a tilted
    head the whole lower lip drops as one piece and the upper lip stays, instead of either folding over itself.
    """
    dst = landmarks[:, :2].astype(np.float64).copy()
    drop = fraction * np.linalg.norm(dst[61] - dst[291])
    upper, lower = dst[list(topo.INNER_LIP_UPPER)], dst[list(topo.INNER_LIP_LOWER)]
    order = np.argsort(upper[:, 0])
    mouth_line = np.interp(dst[:, 0], upper[order, 0], (upper[order, 1] + lower[order, 1]) / 2)
    lower_lip = np.interp(dst[:, 0], upper[order, 0], lower[order, 1])
    weight = np.clip((dst[:, 1] - mouth_line) / np.maximum(lower_lip - mouth_line, 1.0), 0.0, 1.0)
    weight[list(topo.INNER_LIP_UPPER) + list(topo.OUTER_LIP_UPPER)] = 0.0
    weight[list(topo.INNER_LIP_LOWER[1:-1])] = 1.0
    dst[:, 1] += drop * weight
    return dst


def test_warp_to_the_same_landmarks_returns_the_image(default_portrait):
    lm = default_portrait.landmarks[:, :2]
    out = warp_image(default_portrait.image, lm, lm)
    assert out.shape == default_portrait.image.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - default_portrait.image).max() <= 1


def test_tiny_motion_changes_the_image_only_slightly(default_portrait):
    lm = default_portrait.landmarks[:, :2]
    out = warp_image(default_portrait.image, lm, lm + 0.01)
    assert np.abs(out.astype(int) - default_portrait.image).mean() < 0.5


def test_background_far_from_the_face_stays_put(default_portrait):
    lm = default_portrait.landmarks[:, :2]
    out = warp_image(default_portrait.image, lm, lm + [6.0, -4.0])
    assert np.array_equal(out[-60:], default_portrait.image[-60:])
    assert np.array_equal(out[:, :40], default_portrait.image[:, :40])


def test_mouth_opening_of_a_closed_mouth_reaches_the_tracked_output(face_tracker):
    image = read_rgb(PORTRAITS / "biden.jpg")
    lm = face_tracker.detect(image)
    dst = _open_mouth(lm, 0.25)
    out = warp_image(image, lm[:, :2], dst)
    seen = face_tracker.detect(out)

    def gap(p):
        upper, lower = list(topo.OUTER_LIP_UPPER[3:8]), list(topo.OUTER_LIP_LOWER[3:8])
        return np.linalg.norm(p[upper, :2] - p[lower, :2], axis=1).mean()

    wanted = gap(dst) - gap(lm)
    got = gap(seen) - gap(lm)
    assert got == pytest.approx(wanted, rel=0.3)


def test_open_mouth_interior_is_dark_not_torn_skin(face_tracker):
    image = read_rgb(PORTRAITS / "biden.jpg")  # closed mouth
    lm = face_tracker.detect(image)
    dst = _open_mouth(lm, 0.3)
    out = warp_image(image, lm[:, :2], dst)
    centre = ((dst[13] + dst[14]) / 2).round().astype(int)
    lips = image[int(lm[0, 1]) - 2 : int(lm[17, 1]) + 2, int(lm[61, 0]) : int(lm[291, 0])]
    assert out[centre[1], centre[0]].mean() < 0.5 * lips.reshape(-1, 3).mean()


def test_warp_works_on_a_128px_face_crop(default_portrait):
    box = CropBox.from_landmarks(default_portrait.landmarks)
    crop = box.crop(default_portrait.image, 128)
    lm = box.to_crop(default_portrait.landmarks, 128)
    dst = _open_mouth(lm, 0.2)
    out = warp_image(crop, lm, dst)
    assert out.shape == (128, 128, 3)
    assert np.abs(out.astype(int) - crop).max() > 30  # the mouth changed
    assert np.abs(out.astype(int) - crop)[:10].max() <= 1  # the top rows stay


def test_mesh_has_no_triangle_spanning_the_mouth_gap(default_portrait):
    mesh = build_mesh(default_portrait.landmarks[:, :2], default_portrait.image.shape[:2])
    upper, lower = set(topo.INNER_LIP_UPPER[1:-1]), set(topo.OUTER_LIP_LOWER)
    for tri in mesh.triangles.tolist():
        assert not (set(tri) & upper and set(tri) & lower), tri


def test_warp_animator_emits_one_frame_per_motion_with_its_timestamp(default_portrait):
    animator = WarpAnimator()
    animator.set_portrait(default_portrait)
    frames = animator.push(Motion(default_portrait.landmarks[:, :2], 1.5))
    frames += animator.push(Motion(default_portrait.landmarks[:, :2] + 2.0, 1.6))
    assert [f.index for f in frames] == [0, 1] and [f.timestamp for f in frames] == [1.5, 1.6]
    assert frames[0].image.shape == default_portrait.image.shape
    assert animator.lookahead_frames == 0 and animator.flush() == []


def test_warp_with_cached_mesh_equals_warp_image(default_portrait):
    lm = default_portrait.landmarks[:, :2]
    mesh = build_mesh(lm, default_portrait.image.shape[:2])
    dst = _open_mouth(lm, 0.1)
    cached = warp_with_mesh(default_portrait.image, mesh, dst)
    assert np.array_equal(cached, warp_image(default_portrait.image, lm, dst))


def test_moving_every_landmark_by_a_constant_translates_the_face(default_portrait):
    lm = default_portrait.landmarks[:, :2]
    out = warp_image(default_portrait.image, lm, lm + [5.0, 3.0])
    x0, y0 = lm[list(topo.FACE_OVAL)].min(axis=0).astype(int) + 20
    x1, y1 = lm[list(topo.FACE_OVAL)].max(axis=0).astype(int) - 20
    moved = out[y0 + 3 : y1 + 3, x0 + 5 : x1 + 5].astype(int)
    assert np.abs(moved - default_portrait.image[y0:y1, x0:x1]).mean() < 1.0


def _similarity(points: np.ndarray, centre: np.ndarray, degrees: float, scale: float, shift) -> np.ndarray:
    """(N, 2) points rotated by `degrees` and scaled about `centre`, then shifted."""
    a = np.radians(degrees)
    rot = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (points - centre) @ rot.T + centre + np.asarray(shift, dtype=np.float64)


def _turned(landmarks: np.ndarray, yaw: float, pitch: float) -> np.ndarray:
    """Real tracked (478, 3) landmarks rotated about their centre by yaw and pitch (degrees), projected to 2D."""
    centre = landmarks.mean(axis=0)
    y, p = np.radians(yaw), np.radians(pitch)
    yaw_m = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    pitch_m = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    return ((landmarks - centre) @ (pitch_m @ yaw_m).T + centre)[:, :2]


def test_zero_motion_returns_the_portrait_exactly(default_portrait):
    mesh = build_mesh(default_portrait.landmarks[:, :2], default_portrait.image.shape[:2])
    out = warp_with_mesh(default_portrait.image, mesh, default_portrait.landmarks[:, :2])
    assert np.array_equal(out, default_portrait.image)


def test_a_similarity_motion_moves_head_and_hair_by_that_similarity(default_portrait):
    from engine.warp import frame_motion, upsample_map
    from engine.warp.source_map import HEAD_ZONE, build_source_map

    lm = default_portrait.landmarks[:, :2].astype(np.float64)
    mesh = build_mesh(lm, default_portrait.image.shape[:2])
    centre = lm[list(topo.FACE_OVAL)].mean(axis=0)
    dst = _similarity(lm, centre, 6.0, 1.08, [5.0, -3.0])
    motion = frame_motion(mesh, dst)
    ring = _similarity(mesh.src_vertices[topo.NUM_LANDMARKS :], centre, 6.0, 1.08, [5.0, -3.0])
    assert np.abs(motion.dst_vertices[topo.NUM_LANDMARKS :] - ring).max() < 1.0  # the outer ring residual
    source = build_source_map(motion, 4)
    dense = upsample_map(source)
    x0, y0 = source.box[:2]
    hair = mesh.shape.outline(HEAD_ZONE * 0.97, 48)  # portrait points out to the edge of the rigid head zone
    h, w = default_portrait.image.shape[:2]
    inside = (hair >= 0).all(axis=1) & (hair[:, 0] < w - 1) & (hair[:, 1] < h - 1)
    moved = _similarity(hair[inside], centre, 6.0, 1.08, [5.0, -3.0])
    px = np.round(moved).astype(int)
    keep = (px[:, 0] >= x0) & (px[:, 1] >= y0) & (px[:, 0] < source.box[2]) & (px[:, 1] < source.box[3])
    back = dense[px[keep, 1] - y0, px[keep, 0] - x0]
    expected = _similarity(px[keep].astype(np.float64), *_inverse_args(centre))
    assert keep.sum() > 10 and np.abs(back - expected).max() < 1.0


def _inverse_args(centre):
    """Arguments of `_similarity` undoing a turn by 6 degrees, scale 1.08 and shift (5, -3) about `centre`."""
    shifted = centre + np.array([5.0, -3.0])
    return shifted, -6.0, 1 / 1.08, centre - shifted


def test_no_destination_triangle_folds_over_a_sweep_of_head_turns(default_portrait):
    from engine.warp import frame_motion
    from engine.warp.motion import signed_areas

    lm3 = default_portrait.landmarks.astype(np.float64)
    mesh = build_mesh(lm3[:, :2], default_portrait.image.shape[:2])
    portrait_area = signed_areas(mesh.src_vertices[mesh.triangles]) * mesh.orientation
    for yaw in range(-35, 36, 7):
        for pitch in range(-20, 21, 10):
            motion = frame_motion(mesh, _turned(lm3, yaw, pitch))
            area = signed_areas(motion.dst_vertices[mesh.triangles]) * mesh.orientation
            # A fold the tracked lip contours make between themselves is kept (the relaxation never moves them).
            on_lips = np.isin(mesh.triangles, topo.OUTER_LIPS + topo.INNER_LIPS).any(axis=1)
            folded = (area < 0) & ~mesh.collapsible & (portrait_area > 0) & ~on_lips
            assert not folded.any(), (yaw, pitch, mesh.triangles[folded])


def _dense_map(mesh, motion):
    """The frame's backward map as full-image (H, W, 2) float32 (the identity outside its box)."""
    from engine.warp import upsample_map
    from engine.warp.source_map import build_source_map

    h, w = mesh.image_size
    full = np.stack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)), axis=-1)
    source = build_source_map(motion, 4)
    x0, y0, x1, y1 = source.box
    full[y0:y1, x0:x1] = upsample_map(source)
    return full


def _forward(dense: np.ndarray, points: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Output positions (N, 2) that the backward map `dense` sends to portrait `points` (N, 2), by a fixed
    point iteration from `start` (the map is near a translation locally)."""
    q = start.astype(np.float32).copy()
    for _ in range(12):
        back = cv2.remap(dense, q[:, None, 0].copy(), q[:, None, 1].copy(), cv2.INTER_LINEAR)[:, 0]
        q += points - back
    return q


def test_at_a_turn_the_ears_and_hair_beside_the_cheeks_move_with_the_face_outline(default_portrait):
    """A turn narrows the far cheek and widens the near one beyond the head's similarity; what lies just
    outside the outline (ears, hair) must move with it (further than the outline where the field is not
    capped: it sits further back), instead of staying on the similarity and tearing away from the cheek."""
    from engine.warp import frame_motion
    from engine.warp.source_map import HEAD_ZONE

    lm3 = default_portrait.landmarks.astype(np.float64)
    mesh = build_mesh(lm3[:, :2], default_portrait.image.shape[:2])
    oval = list(topo.FACE_OVAL)
    shape = mesh.shape
    src = mesh.src_vertices[oval]
    mouth_level = (lm3[61, :2] + lm3[291, :2]) / 2 @ shape.down
    beside = shape.centre + (src - shape.centre) * (0.95 * HEAD_ZONE / shape.radius(src))[:, None]  # ears, hair
    checked = []
    for yaw in (-25, 25):
        motion = frame_motion(mesh, _turned(lm3, yaw, 0))
        rigid = motion.head.apply(mesh.src_vertices)
        residual = motion.dst_vertices[oval] - rigid[oval]  # the outline's own motion (S, 2)
        # spokes above the mouth (the jaw line moves with the jaw, not the head) that the turn moves by pixels
        side = (np.abs(residual[:, 0]) > 3.0) & (src @ shape.down < mouth_level)
        dense = _dense_map(mesh, motion)
        moved = _forward(dense, beside[side], motion.head.apply(beside[side]))
        found = np.abs(cv2.remap(dense, moved[:, None, 0], moved[:, None, 1], cv2.INTER_LINEAR)[:, 0]
                       - beside[side]).max(axis=1) < 0.1
        extra = (moved - motion.head.apply(beside[side]))[found]  # their motion beyond the similarity
        r = residual[side][found]
        checked.append((extra * r).sum(axis=1) / (r * r).sum(axis=1))  # as a multiple of the outline's
    along = np.concatenate(checked)
    # OUTLINE_FOLLOW (1.5) times the outline's motion where the field may take it, less where its slope would
    # near a fold (OUTLINE_MAX_STEEPNESS; this portrait's 25-degree turns keep about half); a ring left on the
    # similarity gives about 0.2 here (the stretch from the moving cheek to the still ring)
    assert len(along) >= 12 and along.min() > 0.45 and 0.65 < along.mean() < 1.9, along.round(2)


def test_the_map_is_not_torn_at_the_head_ring_during_a_turn(default_portrait):
    """The ring follows the outline inside the mesh and the outside map follows it too: around the ring above
    the face's centre (beside the cheeks and over the head; the jaw line moves with the jaw, not the ring) the
    map is neither stretched between a moving cheek and a still ring (without the field: steps of 2.6-4.5 px
    per pixel at these turns) nor jumping where the two maps meet (2.8-3.9 when the outside map ignores it)."""
    from engine.warp import frame_motion
    from engine.warp.source_map import HEAD_ZONE

    lm3 = default_portrait.landmarks.astype(np.float64)
    mesh = build_mesh(lm3[:, :2], default_portrait.image.shape[:2])
    for yaw, pitch in ((30, 0), (-30, 10), (15, -15)):
        motion = frame_motion(mesh, _turned(lm3, yaw, pitch))
        assert motion.outline is not None  # the ring does follow the outline here
        dense = _dense_map(mesh, motion).astype(np.float64)
        h, w = mesh.image_size
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
        radius = mesh.shape.radius(motion.head.inverse().apply(np.stack([xs, ys], axis=-1)))
        ring = (np.abs(radius - HEAD_ZONE) < 0.1) & (ys < mesh.shape.centre[1])
        for step in (np.diff(dense, axis=1)[ring[:, 1:]], np.diff(dense, axis=0)[ring[1:]]):
            assert np.abs(step).max() < 2.5, (yaw, pitch, np.abs(step).max())


def test_an_extreme_turn_never_folds_the_map_outside_the_face(face_tracker):
    """The outline field is scaled down where it could fold the outside map (a 60-degree turn of a large face
    asks the ring to move by 50-80 px)."""
    from engine.warp import frame_motion
    from engine.warp.source_map import HEAD_ZONE

    for name in ("astronaut.png", "obama.jpg"):
        image = read_rgb(PORTRAITS / name)
        lm3 = face_tracker.detect(image).astype(np.float64)
        mesh = build_mesh(lm3[:, :2], image.shape[:2])
        for yaw, pitch in ((60, 0), (-60, 0), (45, 0), (-45, 0), (30, 25), (0, 35)):
            motion = frame_motion(mesh, _turned(lm3, yaw, pitch))
            dense = _dense_map(mesh, motion).astype(np.float64)
            dx, dy = dense[1:-1, 2:] - dense[1:-1, :-2], dense[2:, 1:-1] - dense[:-2, 1:-1]
            det = (dx[..., 0] * dy[..., 1] - dx[..., 1] * dy[..., 0]) / 4
            h, w = mesh.image_size
            ys, xs = np.mgrid[1 : h - 1, 1 : w - 1].astype(np.float64)
            outside = mesh.shape.radius(motion.head.inverse().apply(np.stack([xs, ys], axis=-1))) > HEAD_ZONE + 0.05
            assert det[outside].min() > 0.05, (name, yaw, pitch, det[outside].min())


def test_torch_warp_equals_the_cpu_warp_within_a_grey_level(default_portrait):
    import torch

    from engine.warp.torch_warp import warp_with_mesh_torch

    lm3 = default_portrait.landmarks.astype(np.float64)
    mesh = build_mesh(lm3[:, :2], default_portrait.image.shape[:2])
    for dst in (_open_mouth(_turned(lm3, 15, 5), 0.25), _turned(lm3, -25, -10) + [4.0, 2.0]):
        cpu = warp_with_mesh(default_portrait.image, mesh, dst)
        gpu_path = warp_with_mesh_torch(torch.from_numpy(default_portrait.image.copy()), mesh, dst).numpy()
        assert np.abs(cpu.astype(int) - gpu_path).mean() < 1.0


@pytest.fixture(scope="module")
def obama(face_tracker):
    """The half-body obama portrait (flags and curtains behind) and its tracked (478, 3) landmarks."""
    image = read_rgb(PORTRAITS / "obama.jpg")
    return image, face_tracker.detect(image).astype(np.float64)


def test_a_large_head_move_leaves_the_background_put_and_moves_the_head_ring(obama):
    from engine.warp import frame_motion

    image, lm3 = obama
    lm = lm3[:, :2]
    mesh = build_mesh(lm, image.shape[:2])
    centre = lm[list(topo.FACE_OVAL)].mean(axis=0)
    move = (centre, 10.0, 1.0, [25.0, 0.0])  # a real head's translation and roll
    out = warp_with_mesh(image, mesh, _similarity(lm, *move))
    h, w = image.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    from engine.warp.source_map import FALLOFF_END

    far = mesh.shape.radius(np.stack([xs, ys], axis=-1)) > FALLOFF_END  # beyond the falloff: the background
    diff = np.abs(out.astype(int) - image).mean(axis=2)
    assert far.mean() > 0.3 and diff[far].mean() < 1.0
    for corner in (diff[-60:, :60], diff[-60:, -60:]):  # the lower corners (the upper ones are near the head)
        assert corner.mean() < 1.0
    ring = mesh.src_vertices[topo.NUM_LANDMARKS :]
    assert np.abs(frame_motion(mesh, _similarity(lm, *move)).dst_vertices[topo.NUM_LANDMARKS :]
                  - _similarity(ring, *move)).max() < 1.0
    hair = mesh.shape.outline(1.2, 64)  # hair and ears just outside the face: carried along by the head
    moved = _similarity(hair, *move).astype(np.float32)
    at_moved = cv2.remap(out, moved[:, None, 0], moved[:, None, 1], cv2.INTER_LINEAR).astype(int)
    at_portrait = cv2.remap(image, hair[:, None, 0].astype(np.float32), hair[:, None, 1].astype(np.float32),
                            cv2.INTER_LINEAR).astype(int)
    assert np.abs(at_moved - at_portrait).mean() < 3.0


def test_the_background_map_never_folds_over_the_demo_clip_on_a_half_body_portrait(obama, demo_landmarks):
    from engine.face.retarget import Retargeter
    from engine.warp import frame_motion
    from engine.warp.source_map import HEAD_ZONE, build_source_map

    image, lm3 = obama
    mesh = build_mesh(lm3[:, :2], image.shape[:2])
    retargeter = Retargeter(lm3)
    worst = np.inf
    for i, driving in enumerate(demo_landmarks):
        motion = frame_motion(mesh, retargeter.retarget(driving, i / 30).landmarks)
        source = build_source_map(motion, 4)
        if source is None:
            continue
        grid = source.coarse.astype(np.float64)
        dx, dy = grid[1:-1, 2:] - grid[1:-1, :-2], grid[2:, 1:-1] - grid[:-2, 1:-1]
        det = (dx[..., 0] * dy[..., 1] - dx[..., 1] * dy[..., 0]) / (2 * 4) ** 2
        x0, y0 = source.box[:2]
        gys, gxs = np.mgrid[1 : grid.shape[0] - 1, 1 : grid.shape[1] - 1]
        px = np.stack([x0 + 4 * (gxs - 1) + 1.5, y0 + 4 * (gys - 1) + 1.5], axis=-1)
        outside = mesh.shape.radius(motion.head.inverse().apply(px)) > HEAD_ZONE + 0.05
        worst = min(worst, det[outside].min())
    assert worst > 0.1


def test_the_band_load_is_one_less_the_backward_maps_least_area_ratio_on_the_band(obama):
    from engine.warp.motion import Similarity
    from engine.warp.source_map import band_squeeze, outside_grid

    image, lm3 = obama
    shape = build_mesh(lm3[:, :2], image.shape[:2]).shape
    eps = 0.25
    for z, shift in ((1.0, (25.0, 0.0)), (0.97 * np.exp(0.17j), (10.0, -14.0)), (1.25 * np.exp(-0.3j), (-40.0, 30.0))):
        head = Similarity(complex(z), shape.centre, shape.centre + shift)
        ratios = []
        for x, y in head.apply(shape.band_points):  # the backward map's Jacobian by differences on a 2 x 2 grid
            m = outside_grid(head, shape, np.array([x, x + eps]), np.array([y, y + eps])).astype(np.float64)
            dx, dy = (m[0, 1] - m[0, 0]) / eps, (m[1, 0] - m[0, 0]) / eps
            ratios.append(dx[0] * dy[1] - dx[1] * dy[0])
        assert abs(band_squeeze(head, shape) - (1.0 - min(ratios))) < 0.003


def test_a_grey_portrait_keeps_a_grey_open_mouth(face_tracker, demo_landmarks):
    import cv2

    from engine.face.portrait import load_portrait
    from engine.face.retarget import Retargeter
    from engine.warp import WarpAnimator
    from tests.conftest import PORTRAITS

    grey = cv2.cvtColor(cv2.imread(str(PORTRAITS / "obama.jpg")), cv2.COLOR_BGR2GRAY)
    portrait = load_portrait(grey, face_tracker)
    animator, retargeter = WarpAnimator(), Retargeter(portrait.landmarks)
    animator.set_portrait(portrait)
    for t, lm in enumerate(demo_landmarks[:40]):
        for frame in animator.push(retargeter.retarget(lm, t / 30.0)):
            channels = frame.image.astype(np.int16)
            assert np.abs(channels - channels.mean(axis=2, keepdims=True)).max() <= 1  # no red tongue


def test_is_grey_tells_grey_photos_from_colour_ones_even_a_tint_only_where_it_samples(default_portrait):
    from engine.warp import is_grey

    colour = default_portrait.image
    grey = np.repeat(colour.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    tinted = grey.copy()
    tinted[::7, ::7, 0] = np.minimum(tinted[::7, ::7, 0].astype(int) + 40, 255)  # colour only where it samples
    assert [is_grey(image) for image in (colour, colour, grey, grey, tinted, colour[:, ::2], grey)] == [
        False, False, True, True, False, False, True]
    in_place = grey.copy()
    assert is_grey(in_place)
    in_place[::7, ::7, 2] = 0  # the same array changed in place: answered anew
    assert not is_grey(in_place)


def _video_frames(path, indices):
    """RGB frames at `indices` of a video file, read in order by the project's reader."""
    from engine.video import VideoFileSource

    with VideoFileSource(path) as source:
        frames = {i: frame for i, frame in zip(range(max(indices) + 1), source, strict=False) if i in indices}
    return [frames[i] for i in indices]


def test_a_smile_closing_keeps_the_lip_band_as_tracked_and_unfolded(face_tracker):
    """franck smiling with parted lips as the portrait, the same man with his lips shut as the driving face
    (frames 4200 and 4600 of the bundled clip, its held-out tail): the lips' middle rings stay where the
    tracker put them, and no triangle of the lips or the skin around them folds more than the tracker's own.
    (They used to be pulled back to the head's rigid motion, 6 px off the lips, which folded the lip corners
    into dark scraps.)"""
    from engine.assets import TRAINING_DIR
    from engine.face.portrait import load_portrait
    from engine.warp import frame_motion
    from engine.warp.motion import signed_areas

    still, shut = _video_frames(TRAINING_DIR / "franck.mp4", (4200, 4600))
    portrait = load_portrait(still, face_tracker)
    driving = face_tracker.detect(shut)[:, :2].astype(np.float64)
    mesh = build_mesh(portrait.landmarks[:, :2], portrait.image.shape[:2])
    motion = frame_motion(mesh, driving)
    band = list(topo.LIP_BAND_INSIDE + topo.OUTER_LIPS + topo.INNER_LIPS)
    head_moved = np.linalg.norm(motion.dst_vertices[band] - mesh.src_vertices[band], axis=1).mean()
    assert head_moved > 20  # the head moved down: a real test of the relaxation around the lips
    np.testing.assert_array_equal(motion.dst_vertices[band], driving[band])
    lips = np.isin(mesh.triangles, band).any(axis=1) & ~mesh.collapsible  # the lips and the skin around them
    tracked = signed_areas(driving[mesh.triangles[lips]]) * mesh.orientation[lips]
    warped = signed_areas(motion.dst_vertices[mesh.triangles[lips]]) * mesh.orientation[lips]
    assert (warped < -0.5).sum() <= (tracked < -0.5).sum() <= 1


def test_a_folded_lip_triangle_never_shows_over_its_unfolded_neighbours(default_portrait):
    """A fold the tracker makes in the lips is kept (the lip band follows it), but the warp shows the skin of
    the triangles around it, never the folded one's mirrored scrap: every lip pixel that an unfolded triangle
    covers takes an unfolded triangle's map."""
    from engine.warp import frame_motion
    from engine.warp.motion import signed_areas
    from engine.warp.raster import affine_dst_to_src

    lm = default_portrait.landmarks[:, :2].astype(np.float64)
    mesh = build_mesh(lm, default_portrait.image.shape[:2])
    dst = lm + [3.0, 2.0]
    for point, over in ((41, 37), (15, 315)):  # middle-ring points pushed past a lip contour beside them
        dst[point] = dst[over] + 2.0 * (dst[over] - dst[point])
    motion = frame_motion(mesh, dst)
    tris = mesh.triangles
    corners = motion.dst_vertices[tris]  # (T, 3, 2)
    mirrored = signed_areas(corners) * signed_areas(mesh.src_vertices[tris]) < 0
    assert mirrored[np.isin(tris, (41, 15)).any(axis=1)].sum() >= 2  # the push folded lip triangles
    dense = _dense_map(mesh, motion)
    lips = motion.dst_vertices[list(topo.OUTER_LIPS)]
    (x0, y0), (x1, y1) = np.floor(lips.min(axis=0)).astype(int), np.ceil(lips.max(axis=0)).astype(int)
    ys, xs = np.mgrid[y0:y1, x0:x1]
    pixels = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)  # (P, 2)
    near = np.isin(tris, list(topo.OUTER_LIPS + topo.INNER_LIPS + topo.LIP_BAND_INSIDE)).any(axis=1)
    ids = np.nonzero(near)[0]
    a, b, c = (corners[ids, k][None] for k in range(3))  # (1, N, 2)
    def cross(u, v):
        return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]
    p = pixels[:, None]
    s0, s1, s2 = cross(b - a, p - a), cross(c - b, p - b), cross(a - c, p - c)
    def within(margin):  # (P, N): the pixel inside the triangle (by `margin` of twice the area per edge length)
        return (((s0 >= margin) & (s1 >= margin) & (s2 >= margin))
                | ((s0 <= -margin) & (s1 <= -margin) & (s2 <= -margin)))
    inside, well_inside = within(-1e-6), within(0.5)  # on its edges too / clear of them (the raster's rounding)
    maps = affine_dst_to_src(corners[ids].reshape(-1, 6).T, mesh.src_vertices[tris[ids]].reshape(-1, 6).T)  # (6, N)
    src = np.stack([maps[0] * p[..., 0] + maps[1] * p[..., 1] + maps[2],
                    maps[3] * p[..., 0] + maps[4] * p[..., 1] + maps[5]], axis=-1)  # (P, N, 2)
    got = dense[pixels[:, 1].astype(int), pixels[:, 0].astype(int)].astype(np.float64)[:, None]  # (P, 1, 2)
    covered = (well_inside & ~mirrored[ids][None]).any(axis=1)
    by_unfolded = ((np.abs(src - got).max(axis=2) < 0.02) & inside & ~mirrored[ids][None]).any(axis=1)
    overlapped = covered & (inside & mirrored[ids][None]).any(axis=1)
    assert overlapped.sum() > 10  # the folded triangles do lie over unfolded ones
    assert by_unfolded[covered].all(), pixels[covered & ~by_unfolded][:5]
