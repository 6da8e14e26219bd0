"""Portrait space (the portrait plane's local space in Blender) <-> image pixels.

For a W x H portrait, S = max(W, H) / 2 pixels per unit and
    X = (x - W/2) / S     image right = +X
    Z = (H/2 - y) / S     image up = +Z
    Y = z / S             MediaPipe depth: +Y is away from a camera looking along +Y
The projection to the image is orthographic: dropping Y; z is kept for the generator.
"""
from __future__ import annotations

import numpy as np

from ..errors import PortraitError


def _check(points: np.ndarray, image_size) -> tuple[np.ndarray, float, float, float]:
    points = np.asarray(points, np.float64)
    if points.shape[-1] != 3:
        raise PortraitError(f"expected points of shape (..., 3), got {points.shape}")
    width, height = (float(v) for v in image_size)
    if width <= 0 or height <= 0:
        raise PortraitError(f"bad image size {tuple(image_size)}")
    return points, width, height, max(width, height) / 2.0


def image_to_portrait(points_px: np.ndarray, image_size) -> np.ndarray:
    """Pixels (..., 3) = (x, y, z px) of a (W, H) image -> portrait space (..., 3) = (X, Y, Z)."""
    points, width, height, scale = _check(points_px, image_size)
    return np.stack([(points[..., 0] - width / 2) / scale,
                     points[..., 2] / scale,
                     (height / 2 - points[..., 1]) / scale], axis=-1)


def portrait_to_image(points: np.ndarray, image_size) -> np.ndarray:
    """Portrait space (..., 3) = (X, Y, Z) -> pixels (..., 3) = (x, y, z px) of a (W, H) image."""
    points, width, height, scale = _check(points, image_size)
    return np.stack([points[..., 0] * scale + width / 2,
                     height / 2 - points[..., 2] * scale,
                     points[..., 1] * scale], axis=-1)
