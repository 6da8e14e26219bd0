"""Landmark sketches: geometry, styles, scaling."""
from dataclasses import replace

import numpy as np
import pytest

from core.errors import PortraitError
from core.landmarks.topology import PARTS
from core.sketch import draw_sketch, list_styles, load_style


def test_styles_include_the_paper_and_controlnet_mediapipe_face():
    assert {"paper", "mediapipe_face"} <= set(list_styles())
    with pytest.raises(PortraitError, match="unknown sketch style"):
        load_style("no_such_style")


def test_each_part_is_drawn_in_its_colour_along_its_landmarks(default_portrait):
    image, landmarks = default_portrait
    size = (image.shape[1], image.shape[0])
    style = load_style("paper")
    full = draw_sketch(landmarks, size, style)
    assert full.shape == image.shape and full.dtype == np.uint8
    assert (full[:20, :20] == style.background).all()
    for part, color in style.parts.items():
        alone = draw_sketch(landmarks, size, replace(style, parts={part: color}))
        inked = np.argwhere(alone.sum(axis=2) > 0)[:, ::-1]  # (N, 2) x, y
        segments = [(landmarks[a, :2], landmarks[b, :2])
                    for line in PARTS[part] for a, b in zip(line[:-1], line[1:])]
        for p0, p1 in segments:  # the colour sits on every segment's midpoint
            mid = np.rint((p0 + p1) / 2).astype(int)
            assert tuple(alone[mid[1], mid[0]]) == color
        # and nowhere far from the part's polylines
        reach = style.line_width * min(size) / 2 + 1.5
        near = np.zeros(len(inked), bool)
        for p0, p1 in segments:
            d = p1 - p0
            t = np.clip(((inked - p0) @ d) / max(d @ d, 1e-9), 0, 1)
            near |= np.linalg.norm(inked - (p0 + t[:, None] * d), axis=1) <= reach
        assert near.all(), part


def test_line_width_scales_with_the_image(default_portrait):
    image, landmarks = default_portrait
    size = (image.shape[1], image.shape[0])
    small = draw_sketch(landmarks, size, "paper")
    big = draw_sketch(landmarks * 4, (size[0] * 4, size[1] * 4), "paper")
    ink = lambda sketch: (sketch.max(axis=2) > 127).mean()  # half-covered pixels or more
    assert ink(big) == pytest.approx(ink(small), rel=0.15)


def test_mediapipe_face_style_draws_pupils_and_no_nose(default_portrait):
    image, landmarks = default_portrait
    size = (image.shape[1], image.shape[0])
    style = load_style("mediapipe_face")
    sketch = draw_sketch(landmarks, size, style)
    cx, cy = np.rint(landmarks[468, :2]).astype(int)
    assert tuple(sketch[cy, cx]) == style.pupils["right_iris"]
    nose_tip = np.rint(landmarks[4, :2]).astype(int)
    assert sketch[nose_tip[1], nose_tip[0]].sum() == 0
