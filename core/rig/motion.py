"""Motions: keyframed blendshape weights and head angles, as Blender would play them.

Motion JSON (presets/motions/*.json; also what the solve / mocap / lip-sync importers write):
    {"name": "...", "fps": 24.0, "frame_start": 1, "frame_end": 96,
     "tracks": {"jawOpen": [[frame, value], ...], "head.yaw": [[frame, degrees], ...], ...},
     "interpolation": "BEZIER" | "LINEAR" | "CONSTANT"}
Track names are the 52 ARKit names, "head.yaw" / "head.pitch" / "head.roll" (degrees, signs as
in core.rig.pose) and "head.x" / "head.y" / "head.z" (the head's translation, portrait units,
i.e. the rig object's location offset from its pivot). Frames are scene frames (floats allowed);
unlisted tracks stay 0; before the first key and after the last a track holds its end value.

BEZIER is Blender's default F-curve: auto-clamped handles with "Continuous Acceleration" handle
smoothing and constant extrapolation, evaluated here with Blender's own handle rules so a motion
keyed onto the rig (with fcurve.auto_smoothing = 'CONT_ACCEL') plays the same.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import PortraitError
from ..validate import (MAX_DEGREES, MAX_FRAME, MAX_OFFSET, MAX_WEIGHT, MIN_FRAME,
                        finite_array, float_array, frame_rate, frame_span, number, within)
from .names import ARKIT_NAMES, NUM_SHAPES
from .presets import preset_names, resolve_preset

INTERPOLATIONS = ("BEZIER", "LINEAR", "CONSTANT")
HEAD_ANGLE_TRACKS = ("head.yaw", "head.pitch", "head.roll")
HEAD_TRANSLATION_TRACKS = ("head.x", "head.y", "head.z")
TRACK_NAMES = tuple(ARKIT_NAMES) + HEAD_ANGLE_TRACKS + HEAD_TRANSLATION_TRACKS

# Blender's auto handle length factor (calchandleNurb_intern).
_AUTO_HANDLE = 2.5614
# Handle smoothing of new F-curves in Blender ("Continuous Acceleration"): the rig's F-curves
# must use it too (fcurve.auto_smoothing = 'CONT_ACCEL') for core and Blender to agree.
SMOOTHING = "CONT_ACCEL"


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


def _parse_keys(name: str, raw) -> np.ndarray:
    keys = float_array(raw, f"motion track {name!r}: keys [[frame, value], ...]", (-1, 2))
    if len(keys) == 0:
        raise PortraitError(f"motion track {name!r}: keys must be a non-empty [[frame, value], ...]")
    keys = keys[np.argsort(keys[:, 0], kind="stable")]
    if (np.diff(keys[:, 0]) == 0).any():
        raise PortraitError(f"motion track {name!r}: two keys on one frame")
    return keys


def track_limit(name: str) -> float:
    """The largest magnitude a track's values may have (weights, degrees, portrait units)."""
    if name in HEAD_ANGLE_TRACKS:
        return MAX_DEGREES
    return MAX_OFFSET if name in HEAD_TRANSLATION_TRACKS else MAX_WEIGHT


@dataclass
class Motion:
    """Keyframed tracks ({track name: keys (K, 2) frame, value}) over scene frames."""
    name: str
    fps: float
    frame_start: float
    frame_end: float
    tracks: dict[str, np.ndarray] = field(default_factory=dict)
    interpolation: str = "BEZIER"

    @classmethod
    def from_dict(cls, data: dict) -> "Motion":
        """A motion from its JSON dict; a one-line PortraitError says what is wrong."""
        if not isinstance(data, dict):
            raise PortraitError("a motion must be a JSON object with 'fps', 'frame_start', "
                                "'frame_end' and 'tracks'")
        missing = [key for key in ("fps", "frame_start", "frame_end", "tracks") if key not in data]
        if missing:
            raise PortraitError(f"motion: missing {', '.join(repr(k) for k in missing)}")
        fps = frame_rate(data["fps"], "motion: fps")
        frame_start = number(data["frame_start"], "motion: frame_start", MIN_FRAME, MAX_FRAME)
        frame_end = number(data["frame_end"], "motion: frame_end", MIN_FRAME, MAX_FRAME)
        if frame_end < frame_start:
            raise PortraitError(f"motion: frame_end ({data['frame_end']!r}) is before "
                                f"frame_start ({data['frame_start']!r})")
        interpolation = str(data.get("interpolation", "BEZIER")).upper()
        if interpolation not in INTERPOLATIONS:
            raise PortraitError(f"motion: interpolation {data.get('interpolation')!r} is not one "
                                f"of {', '.join(INTERPOLATIONS)}")
        if not isinstance(data["tracks"], dict):
            raise PortraitError("motion: 'tracks' must map track names to [[frame, value], ...]")
        tracks = {}
        for name, raw in data["tracks"].items():
            if name not in TRACK_NAMES:
                raise PortraitError(f"motion: unknown track {name!r} (expected an ARKit name such "
                                    f"as 'jawOpen' or one of {', '.join(HEAD_ANGLE_TRACKS)})")
            tracks[name] = _parse_keys(name, raw)
        motion = cls(str(data.get("name", "motion")), fps, frame_start, frame_end, tracks,
                     interpolation)
        motion.check_limits("motion")
        return motion

    def check_limits(self, where: str) -> None:
        """Refuse what Blender cannot key or the rig cannot show: non-finite numbers, frames
        outside Blender's range, weights, angles or offsets beyond their limits. Every source
        (files, solves, takes, audio, rescaling) passes here before a key is written."""
        frame_rate(self.fps, f"{where}: fps")
        frame_span(self.frame_start, self.frame_end, where)
        for name, keys in self.tracks.items():
            place = f"{where}, track {name!r}"
            finite_array(keys, place)
            frame_span(float(keys[:, 0].min()), float(keys[:, 0].max()), place)
            limit = track_limit(name)
            within(keys[:, 1], place, -limit, limit)

    def to_dict(self) -> dict:
        def number(value: float):
            return int(value) if float(value).is_integer() else float(value)

        return {"name": self.name, "fps": float(self.fps), "frame_start": number(self.frame_start),
                "frame_end": number(self.frame_end),
                "tracks": {name: [[number(f), float(v)] for f, v in keys]
                           for name, keys in self.tracks.items()},
                "interpolation": self.interpolation}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    def save(self, path: str | os.PathLike) -> None:
        """Write the motion JSON atomically."""
        from ..media import atomic_path

        path = Path(path)
        if not path.parent.is_dir():
            raise PortraitError(f"{path.parent}: output folder does not exist")
        with atomic_path(path) as tmp:
            tmp.write_text(self.to_json() + "\n")

    @property
    def duration(self) -> float:
        """Seconds from frame_start to frame_end."""
        return (self.frame_end - self.frame_start) / self.fps

    def frames(self, fps: float | None = None) -> np.ndarray:
        """Scene frames (T,) sampled at `fps` (default the motion's own) from frame_start to frame_end."""
        fps = self.fps if fps is None else float(fps)
        if not fps > 0:
            raise PortraitError(f"fps must be positive, got {fps}")
        count = int(math.floor(self.duration * fps + 1e-9)) + 1
        return self.frame_start + np.arange(count) * (self.fps / fps)

    def track(self, name: str, frames: np.ndarray) -> np.ndarray:
        """One track's values at scene frames (N,); 0 where the track is absent."""
        if name not in self.tracks:
            return np.zeros(len(frames))
        return evaluate_track(self.tracks[name], frames, self.interpolation)

    def sample(self, fps: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weights (T, 52), head angles (T, 3) yaw/pitch/roll deg, translations (T, 3) at `fps`."""
        frames = self.frames(fps)
        weights = np.stack([self.track(name, frames) for name in ARKIT_NAMES], axis=1)
        heads = np.stack([self.track(name, frames) for name in HEAD_ANGLE_TRACKS], axis=1)
        translations = np.stack([self.track(name, frames) for name in HEAD_TRANSLATION_TRACKS], axis=1)
        assert weights.shape[1] == NUM_SHAPES
        return weights, heads, translations


def list_motions() -> list[str]:
    """Names of the motion presets (presets/motions/*.json)."""
    return preset_names("motions")


def load_motion(name_or_path: str | os.PathLike) -> Motion:
    """A motion from a JSON file, or a preset by name (see list_motions())."""
    path = resolve_preset("motions", name_or_path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise PortraitError(f"{path}: cannot read the motion ({type(exc).__name__})") from None
    except json.JSONDecodeError as exc:
        raise PortraitError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except (ValueError, RecursionError) as exc:  # a number of 5000 digits, nesting 10^5 deep
        raise PortraitError(f"{path}: not a motion JSON ({type(exc).__name__})") from None
    try:
        return Motion.from_dict(data)
    except PortraitError as exc:
        raise PortraitError(f"{path}: {exc}") from None


def motion_landmarks(rig, motion: Motion, fps: float | None = None) -> np.ndarray:
    """The rig played through a motion at `fps` (default the motion's): (T, 478, 3) pixels."""
    weights, heads, translations = motion.sample(fps)
    return rig.evaluate_batch(weights, heads, translations)
