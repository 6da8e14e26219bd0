"""Pixel coordinates relative to an opening bounded by two lids or lips (an eye, the mouth).

An opening is an upper and a lower polyline that share their end points (the corners). Every
pixel gets `u` (0 at the first corner, 1 at the second, along the corner-to-corner axis), `v`
(pixels along the axis' normal, towards the lower polyline) and the upper and lower bounds of
the opening at that `u`, so "inside" is simply `top < v < bottom` — cheap to evaluate on a box.
Coordinates are pixel indices (pixel centres at integers). These run on small boxes in numpy:
there, torch's per-op thread hand-offs would cost more than the arithmetic.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..smoothing import smoothstep

PROFILE_SAMPLES = 65  # samples of the lid/lip curves along u; plenty for 9-11 landmark curves
PROFILE_U = np.linspace(0.0, 1.0, PROFILE_SAMPLES)


@dataclass(frozen=True)
class Opening:
    origin: np.ndarray   # (2,) the first corner
    axis_u: np.ndarray   # (2,) unit vector from the first to the second corner
    axis_v: np.ndarray   # (2,) unit normal, towards the lower polyline for an upright face
    length: float        # corner-to-corner distance, pixels
    top: np.ndarray      # (PROFILE_SAMPLES,) v of the upper polyline at u = PROFILE_U
    bottom: np.ndarray   # (PROFILE_SAMPLES,) v of the lower polyline

    @property
    def gap(self) -> np.ndarray:
        """(PROFILE_SAMPLES,) opening height along u, pixels (0 where the polylines touch)."""
        return np.maximum(self.bottom - self.top, 0.0)

    @property
    def ratio(self) -> float:
        """How open: the largest gap over the corner-to-corner length."""
        return float(self.gap.max()) / max(self.length, 1e-6)

    @cached_property
    def corners(self) -> tuple[complex, complex]:
        """The two corners as complex numbers x + iy."""
        first = complex(*self.origin)
        return first, first + complex(*(self.axis_u * self.length))

    @cached_property
    def _frame32(self) -> tuple[np.float32, ...]:
        """origin x, y, axis_u x, y, axis_v x, y and length as float32 scalars, for `uv`."""
        return tuple(np.float32(value) for value in (*self.origin, *self.axis_u,
                                                     *self.axis_v, self.length))

    def uv(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(u, v) float32 of pixel positions x, y: float32 arrays of one shape, or a box's
        columns (1, w) and rows (h, 1) (see `pixel_axes`), which broadcast to (h, w)."""
        origin_x, origin_y, ux, uy, vx, vy, length = self._frame32
        x, y = x - origin_x, y - origin_y
        return (x * ux + y * uy) / length, x * vx + y * vy

    def bounds(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """v of the upper and lower polylines at u (...), flat beyond the corners."""
        return (np.interp(u, PROFILE_U, self.top).astype(np.float32),
                np.interp(u, PROFILE_U, self.bottom).astype(np.float32))

    def inside(self, u: np.ndarray, v: np.ndarray, feather: float) -> np.ndarray:
        """Soft mask (...) in [0, 1] of positions inside the opening, ramping up over `feather`.

        The ramp lies inside the polylines (lids and lips occlude what is behind them) and a
        slit thinner than the ramp stays faint, so the mask grows continuously from a closed
        opening. Beyond the corners the bounds meet, so the mask is zero there.
        """
        return between(v, *self.bounds(u), feather)


def opening(upper: np.ndarray, lower: np.ndarray, face_right: np.ndarray) -> Opening:
    """The opening between polylines (K, 2) and (L, 2) running corner to corner.

    `face_right` (2,) is the face's left-to-right direction; the u axis is oriented along it and
    v points down the face, so a tilted or upside-down face gets the same (u, v) as an upright
    one. The polylines may run either way.
    """
    upper = np.asarray(upper, np.float64)
    lower = np.asarray(lower, np.float64)
    if np.dot(upper[-1] - upper[0], face_right) < 0:
        upper, lower = upper[::-1], lower[::-1]
    origin = upper[0]
    axis = upper[-1] - origin
    length = float(np.hypot(*axis))
    if length < 1e-6:  # corners on top of each other: fall back on the face's own axis
        axis, length = np.asarray(face_right, np.float64), 1e-6
    axis_u = axis / np.hypot(*axis)
    axis_v = np.array([-axis_u[1], axis_u[0]])  # image y points down: this is the face's "down"

    def profile(points: np.ndarray) -> np.ndarray:
        offset = points - origin
        u = np.maximum.accumulate(offset @ axis_u / length)  # np.interp needs increasing u
        return np.interp(PROFILE_U, u, offset @ axis_v)

    return Opening(origin, axis_u, axis_v, length, profile(upper), profile(lower))


def between(v: np.ndarray, top: np.ndarray, bottom: np.ndarray, feather: float) -> np.ndarray:
    """Soft mask (...) in [0, 1] of top < v < bottom, ramping up over `feather` inside."""
    return smoothstep(np.minimum(v - top, bottom - v) / np.float32(feather))

