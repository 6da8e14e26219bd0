"""Sampled curves -> motion tracks: resampling, keyframe reduction, the motion-JSON layout.

Every motion source produces dense samples (one value per scene frame); these helpers turn them
into the keyed tracks of the motion format ({"jawOpen": [[frame, value], ...], "head.yaw": ...}).
"""
from __future__ import annotations

import numpy as np

from ..rig.names import ARKIT_NAMES

HEAD_TRACKS = ("head.yaw", "head.pitch", "head.roll")


def dense_tracks(frames: np.ndarray, curves: dict[str, np.ndarray],
                 digits: int = 8) -> dict[str, list[list[float]]]:
    """Key every sample: frames (T,) and name -> values (T,) -> name -> [[frame, value], ...].

    Values are rounded to `digits` decimals so the JSON is compact and byte-stable.
    """
    frames = np.asarray(frames, np.float64)
    return {name: [[_plain(frame), round(float(value), digits)]
                   for frame, value in zip(frames, np.asarray(values, np.float64))]
            for name, values in curves.items()}


def _plain(frame: float) -> float | int:
    """Integral frames as ints (as Blender shows them), others as floats."""
    return int(frame) if float(frame).is_integer() else float(frame)


def simplify_indices(frames: np.ndarray, values: np.ndarray, tolerance: float) -> np.ndarray:
    """Indices of the samples to keep so linear interpolation stays within `tolerance`.

    Ramer-Douglas-Peucker on (frame, value) with the error measured vertically (in value units,
    not as a perpendicular distance), so the bound holds for every sampled frame: a curve
    rebuilt by linear interpolation between the kept keys differs from every dropped sample by
    at most `tolerance`. The first and last samples are always kept.
    """
    frames = np.asarray(frames, np.float64)
    values = np.asarray(values, np.float64)
    keep = np.zeros(len(values), bool)
    keep[[0, -1]] = True
    stack = [(0, len(values) - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        inner = slice(first + 1, last)
        fraction = (frames[inner] - frames[first]) / (frames[last] - frames[first])
        line = values[first] + fraction * (values[last] - values[first])
        errors = np.abs(values[inner] - line)
        worst = int(np.argmax(errors))
        if errors[worst] > tolerance:
            split = first + 1 + worst
            keep[split] = True
            stack += [(first, split), (split, last)]
    return np.flatnonzero(keep)


def reduced_tracks(frames: np.ndarray, curves: dict[str, np.ndarray], tolerances: dict[str, float],
                   digits: int = 8) -> dict[str, list[list[float]]]:
    """Like dense_tracks, but each curve keeps only the keys its tolerance needs (linear)."""
    frames = np.asarray(frames, np.float64)
    tracks = {}
    for name, values in curves.items():
        values = np.asarray(values, np.float64)
        kept = simplify_indices(frames, values, tolerances[name])
        tracks.update(dense_tracks(frames[kept], {name: values[kept]}, digits))
    return tracks


def weight_curves(weights: np.ndarray, names=ARKIT_NAMES) -> dict[str, np.ndarray]:
    """(T, 52) weights -> name -> (T,) in ARKit order."""
    return {name: weights[:, index] for index, name in enumerate(names)}


def head_curves(angles: np.ndarray) -> dict[str, np.ndarray]:
    """(T, 3) yaw, pitch, roll degrees -> head.yaw/head.pitch/head.roll -> (T,)."""
    return {name: angles[:, index] for index, name in enumerate(HEAD_TRACKS)}


def motion_dict(name: str, fps: float, tracks: dict[str, list[list[float]]],
                interpolation: str = "BEZIER") -> dict:
    """The motion-JSON document; frame_start/frame_end span the keys of all tracks."""
    frames = [key[0] for keys in tracks.values() for key in keys]
    return {"name": name, "fps": float(fps),
            "frame_start": _plain(float(np.floor(min(frames)))),
            "frame_end": _plain(float(np.ceil(max(frames)))),
            "tracks": tracks, "interpolation": interpolation}
