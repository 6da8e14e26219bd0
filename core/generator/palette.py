"""Colours measured on the portrait, so synthesized teeth, sclera and mouth match its palette."""
from __future__ import annotations

import numpy as np

from .composite import sample

# Cheeks, forehead and chin: skin away from eyes, brows and lips.
SKIN_POINTS = [50, 280, 101, 330, 151, 108, 337, 199, 207, 427]
LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # Rec. 601 luma weights


def luminance(rgb: np.ndarray) -> float:
    """Luma of one RGB colour (3,)."""
    return float(np.dot(rgb, LUMA))


def median_colour(planes: np.ndarray, x: np.ndarray, y: np.ndarray, mask: np.ndarray,
                  brightest: float = 1.0) -> np.ndarray | None:
    """Median RGB (3,) of a planar image (3, H, W) at the pixel positions x, y (...) where mask
    (...) holds, among the `brightest` share of them (by luminance); None for an empty mask.
    The median shrugs off lashes, specks and reflections."""
    if not mask.any():
        return None
    colours = sample(planes, x[mask], y[mask]).T
    if brightest < 1.0:
        light = colours @ LUMA
        colours = colours[light >= np.quantile(light, 1.0 - brightest)]
    return np.median(colours, axis=0)


def skin_colour(planes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Median skin RGB (3,) of a planar image (3, H, W) at a few cheek, forehead and chin
    landmarks (pixel indices)."""
    return np.median(sample(planes, *landmarks[SKIN_POINTS, :2].T), axis=1)
