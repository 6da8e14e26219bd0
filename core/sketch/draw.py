"""Anti-aliased polylines and pupils rasterised with numpy (no OpenCV/PIL: runs inside Blender)."""
from __future__ import annotations

import numpy as np

from ..landmarks.topology import LEFT_IRIS_CENTER, PARTS, RIGHT_IRIS_CENTER
from .styles import SketchStyle, load_style

PUPIL_CENTERS = {"right_iris": RIGHT_IRIS_CENTER, "left_iris": LEFT_IRIS_CENTER}


def _stroke_segment(canvas: np.ndarray, p0: np.ndarray, p1: np.ndarray, width: float,
                    color: np.ndarray) -> None:
    """Blend a round-capped segment of `width` px into `canvas` (H, W, 3) float, in place."""
    height, wide = canvas.shape[:2]
    reach = width / 2 + 1
    x0 = int(max(np.floor(min(p0[0], p1[0]) - reach), 0))
    x1 = int(min(np.ceil(max(p0[0], p1[0]) + reach) + 1, wide))
    y0 = int(max(np.floor(min(p0[1], p1[1]) - reach), 0))
    y1 = int(min(np.ceil(max(p0[1], p1[1]) + reach) + 1, height))
    if x0 >= x1 or y0 >= y1:
        return
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    direction = p1 - p0
    length2 = float(direction @ direction) or 1e-12
    # pixel centres sit at integer coordinates, as landmark pixels do
    t = np.clip(((xs - p0[0]) * direction[0] + (ys - p0[1]) * direction[1]) / length2, 0, 1)
    dist = np.hypot(xs - (p0[0] + t * direction[0]), ys - (p0[1] + t * direction[1]))
    alpha = np.clip(width / 2 + 0.5 - dist, 0, 1)[..., None]
    patch = canvas[y0:y1, x0:x1]
    patch += (color - patch) * alpha


def draw_sketch(landmarks: np.ndarray, size: tuple[int, int],
                style: str | SketchStyle = "paper") -> np.ndarray:
    """Landmark sketch of one face.

    Args:
        landmarks: (478, 2+) pixel coordinates.
        size: (W, H) of the canvas.
        style: a style name from presets/sketch_styles or a loaded SketchStyle.
    Returns:
        uint8 (H, W, 3).
    """
    style = load_style(style) if isinstance(style, str) else style
    width, height = size
    short = min(width, height)
    canvas = np.empty((height, width, 3), np.float32)
    canvas[:] = style.background
    line_width = max(style.line_width * short, 1.0)
    points = np.asarray(landmarks, np.float32)[:, :2]
    for part, color in style.parts.items():
        rgb = np.asarray(color, np.float32)
        for line in PARTS[part]:
            for a, b in zip(line[:-1], line[1:]):
                _stroke_segment(canvas, points[a], points[b], line_width, rgb)
    half = max(style.pupil_size * short / 2, 0.5)
    for part, color in style.pupils.items():
        cx, cy = points[PUPIL_CENTERS[part]]
        x0, x1 = int(max(round(cx - half), 0)), int(min(round(cx + half), width))
        y0, y1 = int(max(round(cy - half), 0)), int(min(round(cy + half), height))
        canvas[y0:y1, x0:x1] = color
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
