"""Smooth ramps and the Gaussian smoothing of curves along time (numpy only)."""
from __future__ import annotations

import numpy as np

TRUNCATE = 4.0  # the kernel reaches this many sigmas each side


def smoothstep(x: np.ndarray, edge0: float = 0.0, edge1: float = 1.0) -> np.ndarray:
    """0 at edge0 and before it, 1 at edge1 and after it (edge1 < edge0 reverses the ramp),
    C1-smooth in between: soft edges without a visible ramp. x (...) -> (...); with the default
    edges x's float dtype is kept (the generator's float32 masks)."""
    if (edge0, edge1) != (0.0, 1.0):
        x = (np.asarray(x, np.float64) - edge0) / (edge1 - edge0)
    x = np.minimum(np.maximum(x, 0.0), 1.0)  # np.clip's dispatch costs more on small boxes
    return x * x * (3.0 - 2.0 * x)


def gaussian_smooth(curves: np.ndarray, sigma: float, axis: int = 0,
                    edges: str = "reflect") -> np.ndarray:
    """curves (..., T, ...) smoothed along `axis` by a Gaussian of `sigma` samples: float64 of
    the same shape. Past the ends the curve is mirrored (edges="reflect": d c b a | a b c d) or
    held (edges="nearest": a a a a | a b c d), so a constant stays constant."""
    curves = np.asarray(curves, np.float64)
    if sigma <= 0:
        return curves.copy()
    radius = int(TRUNCATE * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    moved = np.moveaxis(curves, axis, -1)
    pad = [(0, 0)] * (moved.ndim - 1) + [(radius, radius)]
    # numpy's "symmetric" repeats the edge sample, which is what "reflect" means here.
    padded = np.pad(moved, pad, mode="symmetric" if edges == "reflect" else "edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, len(kernel), axis=-1)
    return np.moveaxis(windows @ kernel, -1, axis)
