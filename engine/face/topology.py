"""Index sets of the 478 mediapipe face-mesh landmarks, as ordered contours and edge lists.

Taken from mediapipe's `face_mesh_connections` (0.10.21) and ordered into contours once, so that the warp,
the retargeter and the motion map share one definition without importing mediapipe. "Left" and "right"
are the subject's: LEFT_EYE is on the image's right in an unmirrored photo.
"""

from __future__ import annotations

NUM_LANDMARKS = 478

# Closed loop from the top of the forehead (10).
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)

# Eyes: corner to corner along the upper lid, then back along the lower lid.
RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_EYE_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)
RIGHT_EYE = RIGHT_EYE_UPPER + RIGHT_EYE_LOWER[-2:0:-1]
LEFT_EYE = LEFT_EYE_UPPER + LEFT_EYE_LOWER[-2:0:-1]

# Iris: centre first, then four points around it.
RIGHT_IRIS = (468, 469, 470, 471, 472)
LEFT_IRIS = (473, 474, 475, 476, 477)

RIGHT_EYEBROW_UPPER = (70, 63, 105, 66, 107)
RIGHT_EYEBROW_LOWER = (46, 53, 52, 65, 55)
LEFT_EYEBROW_UPPER = (300, 293, 334, 296, 336)
LEFT_EYEBROW_LOWER = (276, 283, 282, 295, 285)

# Lips: mouth corner to mouth corner (right corner 61/78 first).
OUTER_LIP_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
OUTER_LIP_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
INNER_LIP_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
INNER_LIP_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
OUTER_LIPS = OUTER_LIP_UPPER + OUTER_LIP_LOWER[-2:0:-1]
INNER_LIPS = INNER_LIP_UPPER + INNER_LIP_LOWER[-2:0:-1]
# The lips' two middle rings: every landmark inside the outer lip contour that is on neither contour (inside it
# in each of 120 frames of franck's held-out tail, smiling, talking and shut; the lip band's own points)
LIP_BAND_INSIDE = (11, 12, 15, 16, 38, 41, 42, 62, 72, 73, 74, 76, 77, 85, 86, 89, 90, 96, 179, 180, 183, 184, 268,
                   271, 272, 292, 302, 303, 304, 306, 307, 315, 316, 319, 320, 325, 403, 404, 407, 408)

NOSE_EDGES = ((1, 19), (2, 326), (4, 1), (4, 45), (5, 4), (6, 197), (19, 94), (45, 220), (48, 64), (64, 98),
              (94, 2), (97, 2), (98, 97), (115, 48), (168, 6), (195, 5), (197, 195), (220, 115), (275, 4),
              (278, 344), (294, 278), (326, 327), (327, 294), (344, 440), (440, 275))

# Points that move with the skull but not with expression: forehead, nose bridge and tip, eye corners,
# temples. Head pose is solved on these only, so a smile or a jaw drop never reads as a head movement.
RIGID = (10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 109, 67, 103, 338, 297, 332, 54, 284, 21, 251,
         33, 133, 362, 263, 127, 356, 162, 389, 234, 454, 98, 327, 193, 417, 122, 351, 245, 465)

# Left/right pairs among the rigid points (subject's right first), for the anatomical head frame.
SYMMETRIC_RIGID_PAIRS = ((33, 263), (133, 362), (127, 356), (162, 389), (234, 454), (67, 297), (103, 332),
                         (54, 284), (21, 251), (98, 327), (193, 417), (122, 351), (245, 465), (109, 338))
FOREHEAD = 10
NOSE_BRIDGE = 168
CHIN = 152


def loop_edges(loop: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """Edges of a closed contour."""
    return tuple((loop[i], loop[(i + 1) % len(loop)]) for i in range(len(loop)))


def path_edges(path: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """Edges of an open polyline."""
    return tuple((path[i], path[i + 1]) for i in range(len(path) - 1))
