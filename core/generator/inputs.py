"""Checking what callers pass in: one-line PortraitErrors instead of deep tracebacks."""
from __future__ import annotations

import numpy as np

from ..errors import PortraitError
from ..landmarks.topology import EYE_CORNERS, NUM_LANDMARKS

MIN_SIZE = 16


def check_image(image) -> np.ndarray:
    """A uint8 (H, W, 3) RGB portrait of at least MIN_SIZE px, as a contiguous array."""
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise PortraitError(f"the portrait must be a uint8 (H, W, 3) RGB image, got "
                            f"{array.dtype} {array.shape}")
    height, width = array.shape[:2]
    if min(height, width) < MIN_SIZE:
        raise PortraitError(f"the portrait is too small ({width}x{height}, need >= {MIN_SIZE} px)")
    return np.ascontiguousarray(array)


def check_landmarks(landmarks, what: str) -> np.ndarray:
    """(478, 3) finite landmarks in pixels, not degenerate -> float64 (478, 3)."""
    array = np.asarray(landmarks)
    if array.shape != (NUM_LANDMARKS, 3):
        raise PortraitError(f"{what} must have shape ({NUM_LANDMARKS}, 3), got {array.shape}")
    if not np.issubdtype(array.dtype, np.number) or not np.isfinite(array).all():
        raise PortraitError(f"{what} must be finite numbers")
    eye_line = array[EYE_CORNERS[1], :2] - array[EYE_CORNERS[0], :2]
    if np.hypot(*eye_line) < 1.0:
        raise PortraitError(f"{what} are degenerate: the eyes coincide")
    return array.astype(np.float64)


def snap_to_pixel_centres(landmarks: np.ndarray) -> np.ndarray:
    """Landmarks (..., 3) in MediaPipe pixels -> pixel indices (..., 3), z unchanged.

    MediaPipe pixels put pixel i's centre at i + 0.5; the sampler wants it at i.
    """
    return landmarks - np.array([0.5, 0.5, 0.0])
