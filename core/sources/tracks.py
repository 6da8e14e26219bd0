"""Sampled curves -> the keyed tracks of a core.rig Motion: keyframe reduction and layout.

Every motion source produces dense samples (one value per scene frame); these helpers turn them
into Motion tracks ({"jawOpen": keys (K, 2) frame, value, "head.yaw": ...}).
"""
from __future__ import annotations

import numpy as np

from ..rig.motion import HEAD_ANGLE_TRACKS, HEAD_TRANSLATION_TRACKS, Motion
from ..rig.names import ARKIT_NAMES

DIGITS = 8  # values are rounded so motion JSON is compact and byte-stable (float32 keeps ~7)


def keyed(frames: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Frames (K,) and values (K,) -> keys (K, 2) with values rounded to DIGITS decimals."""
    return np.stack([np.asarray(frames, np.float64),
                     np.round(np.asarray(values, np.float64), DIGITS)], axis=1)


def dense_tracks(frames: np.ndarray, curves: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Key every sample: frames (T,) and name -> values (T,) -> name -> keys (T, 2)."""
    return {name: keyed(frames, values) for name, values in curves.items()}


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


def reduced_tracks(frames: np.ndarray, curves: dict[str, np.ndarray],
                   tolerances: dict[str, float]) -> dict[str, np.ndarray]:
    """Like dense_tracks, but each curve keeps only the keys its tolerance needs (linear)."""
    frames = np.asarray(frames, np.float64)
    tracks = {}
    for name, values in curves.items():
        values = np.asarray(values, np.float64)
        kept = simplify_indices(frames, values, tolerances[name])
        tracks[name] = keyed(frames[kept], values[kept])
    return tracks


def weight_curves(weights: np.ndarray) -> dict[str, np.ndarray]:
    """(T, 52) weights -> ARKit name -> (T,)."""
    return {name: weights[:, index] for index, name in enumerate(ARKIT_NAMES)}


def head_curves(angles: np.ndarray) -> dict[str, np.ndarray]:
    """(T, 3) yaw, pitch, roll degrees -> head.yaw/head.pitch/head.roll -> (T,)."""
    return {name: angles[:, index] for index, name in enumerate(HEAD_ANGLE_TRACKS)}


def translation_curves(translations: np.ndarray) -> dict[str, np.ndarray]:
    """(T, 3) head translation in portrait units -> head.x/head.y/head.z -> (T,)."""
    return {name: translations[:, index] for index, name in enumerate(HEAD_TRANSLATION_TRACKS)}


def make_motion(name: str, fps: float, tracks: dict[str, np.ndarray],
                interpolation: str = "BEZIER",
                frame_range: tuple[float, float] | None = None) -> Motion:
    """A Motion of these tracks; without frame_range it spans their keys."""
    if frame_range is None:
        frames = np.concatenate([keys[:, 0] for keys in tracks.values()])
        frame_range = (float(np.floor(frames.min())), float(np.ceil(frames.max())))
    return Motion(name, float(fps), float(frame_range[0]), float(frame_range[1]), tracks,
                  interpolation)


def key_count(motion: Motion) -> int:
    return sum(len(keys) for keys in motion.tracks.values())
