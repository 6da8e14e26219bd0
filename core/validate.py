"""Limits every reader checks its numbers against, once, at the boundary.

A value that is not finite, or lies outside what the rig or Blender can hold, is refused with a
one-line PortraitError naming where it came from (a file and a place in it). Nothing downstream
re-checks: a Motion, a landmarks array or a take that exists holds only values in range.
"""
from __future__ import annotations

import math

import numpy as np

from .errors import PortraitError

# Blender's animation frame range (MINAFRAME / MAXFRAME): keys, NLA strips and scene frames
# beyond it are clamped or refused by Blender, so a motion reaching past it is refused here.
MIN_FRAME, MAX_FRAME = -1048574, 1048574
MAX_SCENE_FRAME = 1048574  # a scene's frame_start / frame_end (and they start at 0)
MAX_FPS = 32767.0  # RenderSettings.fps
MIN_FPS = 0.001  # RenderSettings.fps 1 over its largest fps_base, 1000
# Shape-key weights: Blender's slider limits are -10..10 (ARKit weights are 0..1).
MAX_WEIGHT = 10.0
# Head angles in degrees: a face turned further than a full turn is not a performance.
MAX_DEGREES = 360.0
# Head translation in portrait units (the portrait spans -1..1): further is off any canvas.
MAX_OFFSET = 100.0
# Landmarks may sit a little outside their image (a face cut by the frame), never this far.
LANDMARK_MARGIN = 1.0  # in image sizes beyond each edge
MAX_IMAGE_SIDE = 65536


def number(value, where: str, low: float = -math.inf, high: float = math.inf) -> float:
    """A finite float within [low, high] from JSON or a property; refuses anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise PortraitError(f"{where}: expected a number, got {_shown(value)}")
    try:
        result = float(value)
    except OverflowError:
        raise PortraitError(f"{where}: {_shown(value)} is out of range") from None
    if not math.isfinite(result):
        raise PortraitError(f"{where}: {_shown(value)} is not a finite number")
    if not low <= result <= high:
        raise PortraitError(f"{where}: {_shown(value)} is outside {low:g}..{high:g}")
    return result


def integer(value, where: str, low: int, high: int) -> int:
    """An integer within [low, high] (a float with no fraction counts)."""
    result = number(value, where, low, high)
    if not result.is_integer():
        raise PortraitError(f"{where}: expected a whole number, got {_shown(value)}")
    return int(result)


def float_array(values, where: str, shape: tuple | None = None) -> np.ndarray:
    """A float64 array of finite numbers (optionally of `shape`, -1 = any length)."""
    try:
        array = np.array(values, np.float64)
    except (TypeError, ValueError, OverflowError):
        raise PortraitError(f"{where}: expected numbers") from None
    if shape is not None and (array.ndim != len(shape) or any(
            want not in (-1, have) for want, have in zip(shape, array.shape))):
        wanted = "x".join("N" if n == -1 else str(n) for n in shape)
        raise PortraitError(f"{where}: expected {wanted} numbers, got shape {array.shape}")
    finite_array(array, where)
    return array


def finite_array(array: np.ndarray, where: str) -> None:
    """Refuse NaN and infinities, naming the first one's index."""
    bad = ~np.isfinite(np.asarray(array, np.float64))
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        place = f" at index {index[0] if len(index) == 1 else list(index)}" if index else ""
        raise PortraitError(f"{where}: holds NaN or infinite values{place}")


def within(array: np.ndarray, where: str, low: float, high: float, what: str = "values") -> None:
    """Refuse values outside [low, high], naming the first one."""
    array = np.asarray(array, np.float64)
    bad = (array < low) | (array > high)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise PortraitError(f"{where}: {what} {array[index]:g} at index "
                            f"{index[0] if len(index) == 1 else list(index)} is outside "
                            f"{low:g}..{high:g}")


def frame_span(first: float, last: float, where: str) -> None:
    """Refuse frames Blender cannot key (before allocating one sample per frame)."""
    for frame in (first, last):
        if not (math.isfinite(frame) and MIN_FRAME <= frame <= MAX_FRAME):
            raise PortraitError(f"{where}: frame {frame:g} is outside Blender's frame range "
                                f"{MIN_FRAME}..{MAX_FRAME}")


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def frame_rate(fps, where: str = "fps") -> float:
    """A frame rate Blender can hold: MIN_FPS..MAX_FPS."""
    result = number(fps, where)
    if not MIN_FPS <= result <= MAX_FPS:
        raise PortraitError(f"{where} must be within {MIN_FPS:g}..{MAX_FPS:g}, got {fps!r}")
    return result
