"""The F-curve contract: how a motion track's keys play, in core and in Blender alike.

A track is keys (K, 2) (frame, value) on one F-curve with
    interpolation      INTERPOLATIONS, the same for every key of a motion
    handle types       HANDLE_TYPE on both sides of every key
    auto_smoothing     SMOOTHING on the F-curve
    extrapolation      EXTRAPOLATION
evaluate_track computes the curve with Blender's own handle rules (calchandleNurb_intern, the
F-curve end rule, BKE_fcurve_handles_recalc's smoothing), so a motion keyed onto the rig
(blender_addon/keying.py sets all four; the user's preferences for new keys and curves then do
not matter) plays in Blender as core computes it. These are the defaults of a new F-curve in
Blender.
"""
from __future__ import annotations

import numpy as np

INTERPOLATIONS = ("BEZIER", "LINEAR", "CONSTANT")  # a motion's keys all have one of these
HANDLE_TYPE = "AUTO_CLAMPED"  # both handles of every key
SMOOTHING = "CONT_ACCEL"  # fcurve.auto_smoothing, "Continuous Acceleration"
EXTRAPOLATION = "CONSTANT"  # before the first key and after the last: the end values

# Blender's auto handle length factor (calchandleNurb_intern).
_AUTO_HANDLE = 2.5614


def _auto_handles(keys: np.ndarray, smoothing: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Blender's per-key AUTO_CLAMPED handles (calchandleNurb_intern + the F-curve end rule).

    Returns left and right handles (K, 2) and which keys are locked (flat: the first, the last
    and every local extreme). The tangent is the sum of the unit-x chords to the neighbours; a
    handle that overshoots a neighbour's value is clamped to it and the other one realigned.
    """
    count = len(keys)
    left, right = keys.copy(), keys.copy()
    locked = np.zeros(count, bool)
    for k in range(count):
        point = keys[k]
        prev = keys[k - 1] if k > 0 else 2 * point - keys[k + 1]
        nxt = keys[k + 1] if k < count - 1 else 2 * point - prev
        chord_a, chord_b = point - prev, nxt - point
        len_a = chord_a[0] or 1.0
        len_b = chord_b[0] or 1.0
        tangent = chord_b / len_b + chord_a / len_a
        # with smoothing every handle spans a third of its interval: x(t) is linear
        length = 6.0 if smoothing == "CONT_ACCEL" else tangent[0] * _AUTO_HANDLE
        if smoothing != "CONT_ACCEL":
            len_a, len_b = min(len_a, 5 * len_b), min(len_b, 5 * len_a)
        left[k] = point - tangent * (len_a / length)
        right[k] = point + tangent * (len_b / length)
        if k in (0, count - 1):  # constant extrapolation: the ends are flat
            left[k, 1] = right[k, 1] = point[1]
            locked[k] = True
            continue
        rise_prev = keys[k - 1, 1] - point[1]
        rise_next = keys[k + 1, 1] - point[1]
        if (rise_prev <= 0 and rise_next <= 0) or (rise_prev >= 0 and rise_next >= 0):
            left[k, 1] = right[k, 1] = point[1]  # an extreme
            locked[k] = True
            continue
        left_violate = (keys[k - 1, 1] > left[k, 1]) if rise_prev <= 0 else (keys[k - 1, 1] < left[k, 1])
        if left_violate:
            left[k, 1] = keys[k - 1, 1]
        right_violate = (keys[k + 1, 1] < right[k, 1]) if rise_prev <= 0 else (keys[k + 1, 1] > right[k, 1])
        if right_violate:
            right[k, 1] = keys[k + 1, 1]
        if left_violate or right_violate:
            left_x, right_x = left[k, 0] - point[0], point[0] - right[k, 0]
            if left_violate:
                right[k, 1] = point[1] + (point[1] - left[k, 1]) / left_x * right_x
            else:
                left[k, 1] = point[1] + (point[1] - right[k, 1]) / right_x * left_x
    return left, right, locked


def _clamp_range(low: np.ndarray, high: np.ndarray, i: int, rise: float) -> None:
    """Auto clamp: a handle may neither reverse its key's direction nor overshoot the next key."""
    if rise > 0:
        high[i], low[i] = min(high[i], rise), 0.0
    elif rise < 0:
        high[i], low[i] = 0.0, max(low[i], rise)
    else:
        high[i] = low[i] = 0.0


def _solve_with_limits(system: np.ndarray, rhs: np.ndarray, low: np.ndarray,
                       high: np.ndarray) -> np.ndarray:
    """Solve the handle equations, pinning handles that leave [low, high] to the limit.

    Blender's tridiagonal_solve_with_limits: overshooting handles are locked at the limit they
    crossed (preferring non-zero limits), and a locked handle is released (at most twice) when
    its own equation would pull it back inside.
    """
    base_system, base_rhs = system.copy(), rhs.copy()
    count = len(rhs)
    is_locked = np.zeros(count, bool)
    unlocks = np.zeros(count, int)
    while True:
        heights = np.linalg.solve(system, rhs)
        heights[is_locked] = rhs[is_locked]  # exactly at the limit, as a tridiagonal sweep gives
        overshoot = locked = unlocked = False
        take_all = False
        while True:
            for i in range(count):
                if low[i] <= heights[i] <= high[i]:
                    continue
                overshoot = True
                target = high[i] if heights[i] > high[i] else low[i]
                if target != 0.0 or take_all:
                    is_locked[i] = True
                    system[i], rhs[i] = 0.0, target
                    system[i, i] = 1.0
                    locked = True
            take_all = True
            if not (overshoot and not locked):
                break
        if not locked:
            for i in range(count):
                if not is_locked[i] or unlocks[i] >= 2:
                    continue
                pull = -(base_system[i] @ heights - base_rhs[i]) * base_system[i, i]
                if (pull > 0 and heights[i] < high[i]) or (pull < 0 and heights[i] > low[i]):
                    system[i], rhs[i] = base_system[i], base_rhs[i]
                    is_locked[i] = False
                    unlocks[i] += 1
                    unlocked = True
        if not (overshoot or unlocked):
            return heights


def _smooth_run(keys: np.ndarray, left: np.ndarray, right: np.ndarray) -> None:
    """Continuous-acceleration handles for keys[0..n-1] between two locked keys (in place).

    Unknown h[i] = right handle height above key i (the left one is -h[i] / ratio[i], keeping
    the slope continuous); interior equations make the second derivative continuous.
    """
    count = len(keys)
    if count < 3:
        return
    dx = np.diff(keys[:, 0])            # dx[i - 1] = x[i] - x[i - 1]
    dy = np.diff(keys[:, 1])
    ratio = np.ones(count)
    ratio[1:-1] = dx[1:] / dx[:-1]
    low, high = np.full(count, -np.inf), np.full(count, np.inf)
    for i in range(1, count):
        _clamp_range(low, high, i - 1, dy[i - 1])
        _clamp_range(low, high, i, dy[i - 1] * ratio[i])
    system = np.zeros((count, count))
    rhs = np.zeros(count)
    system[0, 0] = system[-1, -1] = 1.0
    rhs[0] = right[0, 1] - keys[0, 1]
    rhs[-1] = keys[-1, 1] - left[-1, 1]
    for i in range(1, count - 1):
        system[i, i - 1] = ratio[i] ** 2
        system[i, i] = 2 * (ratio[i] + 1)
        system[i, i + 1] = 1 / ratio[i + 1]
        rhs[i] = dy[i - 1] * ratio[i] ** 2 + dy[i]
    heights = _solve_with_limits(system, rhs, low, high)
    left[1:-1, 1] = keys[1:-1, 1] - heights[1:-1] / ratio[1:-1]
    right[1:-1, 1] = keys[1:-1, 1] + heights[1:-1]


def bezier_handles(keys: np.ndarray, smoothing: str = SMOOTHING) -> tuple[np.ndarray, np.ndarray]:
    """Left and right handles (K, 2) Blender gives AUTO_CLAMPED keys (K, 2) (frame, value).

    smoothing "CONT_ACCEL" (Blender's default for new F-curves) or "NONE".
    """
    keys = np.asarray(keys, np.float64)
    if len(keys) < 2:
        return keys.copy(), keys.copy()
    left, right, locked = _auto_handles(keys, smoothing)
    if smoothing == "CONT_ACCEL":
        # smooth each run of free keys between two locked ones (the ends are always locked)
        anchors = np.flatnonzero(locked)
        for start, end in zip(anchors[:-1], anchors[1:]):
            run = slice(start, end + 1)
            run_left, run_right = left[run].copy(), right[run].copy()
            _smooth_run(keys[run], run_left, run_right)
            left[start + 1:end], right[start + 1:end] = run_left[1:-1], run_right[1:-1]
    return left, right


def _bezier(p0, p1, p2, p3, t):
    s = 1 - t
    return s ** 3 * p0 + 3 * s * s * t * p1 + 3 * s * t * t * p2 + t ** 3 * p3


def _bezier_segment_values(start, handle_out, handle_in, end, frames) -> np.ndarray:
    """Values of the Bezier segments (arrays (N, 2) of control points) at frames (N,)."""
    # Keep the handles inside the segment (BKE_fcurve_correct_bezpart): x(t) stays monotonic.
    reach_out = start[:, 0] - handle_out[:, 0]
    reach_in = end[:, 0] - handle_in[:, 0]
    total = np.abs(reach_out) + np.abs(reach_in)
    span = end[:, 0] - start[:, 0]
    factor = np.where(total > span, span / np.where(total > 0, total, 1), 1.0)[:, None]
    handle_out = start - factor * (start - handle_out)
    handle_in = end - factor * (end - handle_in)
    lo, hi = np.zeros(len(frames)), np.ones(len(frames))
    for _ in range(60):  # bisection on the monotonic x(t): exact to float64
        mid = (lo + hi) / 2
        below = _bezier(start[:, 0], handle_out[:, 0], handle_in[:, 0], end[:, 0], mid) < frames
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    t = (lo + hi) / 2
    return _bezier(start[:, 1], handle_out[:, 1], handle_in[:, 1], end[:, 1], t)


def evaluate_track(keys: np.ndarray, frames: np.ndarray, interpolation: str = "BEZIER",
                   smoothing: str = SMOOTHING) -> np.ndarray:
    """An F-curve through keys (K, 2) (frame, value), sorted by frame, at frames (N,) -> (N,)."""
    keys = np.asarray(keys, np.float64)
    frames = np.asarray(frames, np.float64)
    values = np.interp(frames, keys[:, 0], keys[:, 1])  # LINEAR, and constant outside the keys
    if len(keys) < 2 or interpolation == "LINEAR":
        return values
    segment = np.clip(np.searchsorted(keys[:, 0], frames, side="right") - 1, 0, len(keys) - 2)
    inside = (frames > keys[0, 0]) & (frames < keys[-1, 0])
    if interpolation == "CONSTANT":
        return np.where(inside, keys[segment, 1], values)
    left, right = bezier_handles(keys, smoothing)
    index = segment[inside]
    values[inside] = _bezier_segment_values(keys[index], right[index], left[index + 1],
                                            keys[index + 1], frames[inside])
    return values
