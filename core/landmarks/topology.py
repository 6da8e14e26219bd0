"""The 478-point MediaPipe face mesh: its part polylines, named points, regions and face axes.

The one owner of landmark definitions: every module takes indices from here. Written out (not
read from mediapipe) so that sketches, the generator and the rig work in a Blender whose Python
lacks mediapipe. "Left"/"right" are the subject's own, as in MediaPipe: the subject's right eye
is on the image's left.
"""
from __future__ import annotations

import numpy as np

NUM_LANDMARKS = 478

# Named single points.
NOSE_TIP = 1
CHIN_TIP = 152
FOREHEAD = 10

FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67,
             109, 10]

RIGHT_EYE_UPPER = [33, 246, 161, 160, 159, 158, 157, 173, 133]
RIGHT_EYE_LOWER = [33, 7, 163, 144, 145, 153, 154, 155, 133]
LEFT_EYE_UPPER = [263, 466, 388, 387, 386, 385, 384, 398, 362]
LEFT_EYE_LOWER = [263, 249, 390, 373, 374, 380, 381, 382, 362]
# The lower lid's skin, a little below its margin and away from the corners: lit as the eye is.
RIGHT_EYE_UNDER_LID = [110, 24, 23, 22, 26]
LEFT_EYE_UNDER_LID = [339, 254, 253, 252, 256]

RIGHT_BROW_UPPER = [70, 63, 105, 66, 107]
RIGHT_BROW_LOWER = [46, 53, 52, 65, 55]
LEFT_BROW_UPPER = [300, 293, 334, 296, 336]
LEFT_BROW_LOWER = [276, 283, 282, 295, 285]

RIGHT_IRIS_CENTER = 468
RIGHT_IRIS = [469, 470, 471, 472, 469]
LEFT_IRIS_CENTER = 473
LEFT_IRIS = [474, 475, 476, 477, 474]
# Every point of an iris: its centre, then its edge.
RIGHT_IRIS_POINTS = [RIGHT_IRIS_CENTER, *RIGHT_IRIS[:-1]]
LEFT_IRIS_POINTS = [LEFT_IRIS_CENTER, *LEFT_IRIS[:-1]]
IRIS_POINT_INDICES = sorted(RIGHT_IRIS_POINTS + LEFT_IRIS_POINTS)
# The face mesh without the irises (the warps' control points; the eyes move the irises
# themselves). MediaPipe numbers the iris points last, so a mesh point's index is also its
# place in this array.
MESH_POINT_INDICES = np.arange(min(IRIS_POINT_INDICES))

NOSE_BRIDGE = [168, 6, 197, 195, 5, 4, 1]
NOSE_BASE = [48, 64, 98, 97, 2, 326, 327, 294, 278]
# Points that move with the skull, not with expressions: forehead, upper face oval, the nose
# bridge above the tip (the upper lip pulls the tip and the base), eye corners. Head pose is
# fitted on them.
SKULL_POINTS = sorted({10, 151, 9, 8, 109, 67, 103, 54, 21, 162, 127, 234, 338, 297, 332, 284,
                       251, 389, 356, 454, *NOSE_BRIDGE[:4], RIGHT_EYE_UPPER[0],
                       RIGHT_EYE_UPPER[-1], LEFT_EYE_UPPER[0], LEFT_EYE_UPPER[-1]})

OUTER_LIP_UPPER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
OUTER_LIP_LOWER = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291]
INNER_LIP_UPPER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
INNER_LIP_LOWER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
UPPER_LIP_INNER_MIDDLE = INNER_LIP_UPPER[5]  # the upper lip's inner edge on the midline

# Part name -> polylines. The keys are the sketch styles' part names.
PARTS = {
    "face_oval": [FACE_OVAL],
    "right_brow": [RIGHT_BROW_UPPER, RIGHT_BROW_LOWER],
    "left_brow": [LEFT_BROW_UPPER, LEFT_BROW_LOWER],
    "right_eye": [RIGHT_EYE_UPPER, RIGHT_EYE_LOWER],
    "left_eye": [LEFT_EYE_UPPER, LEFT_EYE_LOWER],
    "right_iris": [RIGHT_IRIS],
    "left_iris": [LEFT_IRIS],
    "nose": [NOSE_BRIDGE, NOSE_BASE],
    "outer_lips": [OUTER_LIP_UPPER, OUTER_LIP_LOWER],
    "inner_lips": [INNER_LIP_UPPER, INNER_LIP_LOWER],
}


def part_indices(name: str) -> list[int]:
    """The distinct landmark indices of a part, in first-seen order."""
    seen: dict[int, None] = {}
    for line in PARTS[name]:
        seen.update(dict.fromkeys(line))
    return list(seen)


def closed_contour(upper: list[int], lower: list[int]) -> list[int]:
    """A closed polygon from an upper and a lower polyline that share their end points."""
    return upper + lower[-2:0:-1]


RIGHT_EYE_CONTOUR = closed_contour(RIGHT_EYE_UPPER, RIGHT_EYE_LOWER)
LEFT_EYE_CONTOUR = closed_contour(LEFT_EYE_UPPER, LEFT_EYE_LOWER)
INNER_LIP_CONTOUR = closed_contour(INNER_LIP_UPPER, INNER_LIP_LOWER)
OUTER_LIP_CONTOUR = closed_contour(OUTER_LIP_UPPER, OUTER_LIP_LOWER)

# The cheeks: the face oval from the temple to the jaw's angle, then back inwards beside the
# mouth, the nose wing and under the eye (a polygon); and the mesh points inside it. What a
# head turned away from that side shows more of. Subject's right first.
RIGHT_CHEEK_OUTLINE = [127, 234, 93, 132, 58, 172, 138, 214, 212, 216, 206, 36, 101, 118, 117,
                       111, 143]
LEFT_CHEEK_OUTLINE = [356, 454, 323, 361, 288, 397, 367, 434, 432, 436, 426, 266, 330, 347, 346,
                      340, 372]
RIGHT_CHEEK_INSIDE = [34, 50, 116, 123, 137, 147, 177, 187, 192, 205, 207, 213, 215, 227]
LEFT_CHEEK_INSIDE = [264, 280, 345, 352, 366, 376, 401, 411, 416, 425, 427, 433, 435, 447]


# Regions whose motion the multipliers scale (retarget, the Blender rig), as sorted indices.
EYE_POINT_INDICES = sorted(set(RIGHT_EYE_CONTOUR + LEFT_EYE_CONTOUR + RIGHT_IRIS_POINTS
                               + LEFT_IRIS_POINTS))
BROW_POINT_INDICES = sorted(set(RIGHT_BROW_UPPER + RIGHT_BROW_LOWER + LEFT_BROW_UPPER
                                + LEFT_BROW_LOWER))
LIP_POINT_INDICES = sorted(set(OUTER_LIP_CONTOUR + INNER_LIP_CONTOUR))
CHIN_POINTS = [148, 152, 377, 176, 400, 149, 378]
MOUTH_POINT_INDICES = sorted(set(LIP_POINT_INDICES + CHIN_POINTS))

# The two ends of the eye line the face axes run along: subject's right first.
EYE_CORNERS = (RIGHT_EYE_UPPER[0], LEFT_EYE_UPPER[0])  # the outer corners
IRIS_CENTRES = (RIGHT_IRIS_CENTER, LEFT_IRIS_CENTER)


def face_size(landmarks: np.ndarray) -> float:
    """A face's size in pixels: the mean of its landmarks' (N, 2+) width and height."""
    return float(np.ptp(landmarks[:, 0]) + np.ptp(landmarks[:, 1])) / 2


def face_axes(landmarks: np.ndarray, ends: tuple[int, int] = EYE_CORNERS
              ) -> tuple[np.ndarray, np.ndarray]:
    """Unit image vectors (right, down) (2,) of landmarks (478, 2+): along the eye line from
    the subject's right `ends` point to the left one, and across it (image y points down)."""
    right = landmarks[ends[1], :2] - landmarks[ends[0], :2]
    right = right / max(float(np.hypot(*right)), 1e-6)
    return right, np.array([-right[1], right[0]])
