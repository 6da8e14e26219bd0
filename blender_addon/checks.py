"""Checks of the scene state the operators and the preview handler depend on.

A portrait is the user's to edit: they may delete its rig's shape keys or its material's image
node, scale it to zero, type a string into a custom property. Each check raises a one-line
PortraitError naming what is wrong, before the operator changes anything.
"""
from __future__ import annotations

import numpy as np

from ..core.errors import PortraitError
from ..core.validate import MAX_IMAGE_SIDE

# A transform this close to singular maps the portrait onto a line or a point: no face left.
MIN_DETERMINANT = 1e-12


def invertible(obj, matrix, what: str = "transform"):
    """`matrix` (an object's 4x4) if finite and invertible; refuses a degenerate one."""
    array = np.array(matrix, np.float64)
    if not np.isfinite(array).all():
        raise PortraitError(f"{obj.name}: its {what} holds NaN or infinite values")
    if abs(np.linalg.det(array[:3, :3])) < MIN_DETERMINANT:
        raise PortraitError(f"{obj.name}: its {what} is degenerate (a scale of 0?); "
                            "it cannot be inverted")
    return matrix


def pivot(rig, key: str) -> np.ndarray:
    """The rig's rest pivot (3 finite numbers) from its custom property."""
    value = rig.get(key)
    try:
        array = np.array(value if value is not None else (), np.float64)
    except (TypeError, ValueError):
        array = np.empty(0)
    if array.shape != (3,) or not np.isfinite(array).all():
        raise PortraitError(f"{rig.name}: its custom property '{key}' is not 3 numbers "
                            "(it was edited or removed)")
    return array


def portrait_state(plane, num_landmarks: int, pivot_key: str) -> None:
    """What every operator on a portrait needs: its rig mesh, sizes and invertible transforms."""
    settings = plane.portrait
    rig = settings.rig
    if rig is None or rig.type != "MESH" or len(rig.data.vertices) != num_landmarks:
        raise PortraitError(f"{plane.name}: its face rig is missing or no longer has "
                            f"{num_landmarks} vertices")
    if not (0 < settings.image_width <= MAX_IMAGE_SIDE and
            0 < settings.image_height <= MAX_IMAGE_SIDE):
        raise PortraitError(f"{plane.name}: its image size {settings.image_width}x"
                            f"{settings.image_height} was edited")
    invertible(plane, plane.matrix_world)
    invertible(rig, rig.matrix_world)
    pivot(rig, pivot_key)


def shape_keys(plane, names=()):
    """The rig's shape keys datablock, refusing a rig without them or without one of `names`."""
    rig = plane.portrait.rig
    keys = rig.data.shape_keys
    if keys is None:
        raise PortraitError(f"{rig.name}: its shape keys were deleted (add the portrait again)")
    missing = [name for name in names if name not in keys.key_blocks]
    if missing:
        raise PortraitError(f"{rig.name}: shape key '{missing[0]}' is missing (renamed or "
                            "deleted?)")
    return keys


def finite_landmarks(landmarks: np.ndarray, plane) -> np.ndarray:
    """Refuse evaluated landmarks that are not finite (a NaN shape key, driver or modifier)."""
    if not np.isfinite(landmarks).all():
        raise PortraitError(f"{plane.name}: the rig evaluates to NaN or infinite landmarks at "
                            "this frame (a shape key, driver or modifier?)")
    return landmarks
