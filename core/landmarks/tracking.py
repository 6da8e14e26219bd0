"""Landmarks through a video: MediaPipe detection per frame, gap filling and zero-lag smoothing."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ..errors import PortraitError
from .detect import FaceLandmarker
from .topology import LEFT_IRIS_CENTER, NUM_LANDMARKS, RIGHT_IRIS_CENTER


def inter_ocular(landmarks: np.ndarray) -> np.ndarray:
    """Distance between the iris centres: (..., 478, D) -> (...)."""
    diff = landmarks[..., RIGHT_IRIS_CENTER, :2] - landmarks[..., LEFT_IRIS_CENTER, :2]
    return np.linalg.norm(diff, axis=-1)


def one_euro(signal: np.ndarray, fps: float, min_cutoff: float = 1.5, beta: float = 0.5,
             d_cutoff: float = 1.0) -> np.ndarray:
    """One Euro filter (Casiez et al. 2012) along axis 0 of (T, ...), causal.

    `signal` should be in units where 1.0 is a meaningful motion (we pass inter-ocular units),
    so `beta` does not depend on the image size.
    """
    def alpha(cutoff):
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau * fps)

    out = np.empty_like(signal)
    out[0] = signal[0]
    deriv = np.zeros_like(signal[0])
    a_d = alpha(d_cutoff)
    for t in range(1, len(signal)):
        raw_deriv = (signal[t] - out[t - 1]) * fps
        deriv = a_d * raw_deriv + (1 - a_d) * deriv
        a = alpha(min_cutoff + beta * np.abs(deriv))
        out[t] = a * signal[t] + (1 - a) * out[t - 1]
    return out


def smooth_track(track: np.ndarray, fps: float) -> np.ndarray:
    """Remove jitter without lag: a One Euro filter run forwards and backwards, averaged.

    Each pass lags by the same amount in opposite directions, so the average has no lag on
    fast motion while keeping the One Euro filter's adaptive jitter removal.
    """
    if len(track) < 3:
        return track.copy()
    scale = float(np.median(inter_ocular(track))) or 1.0
    units = track / scale
    forward = one_euro(units, fps)
    backward = one_euro(units[::-1], fps)[::-1]
    return ((forward + backward) * 0.5 * scale).astype(track.dtype)


def fill_gaps(track: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Linearly interpolate frames without a face (found False) from their neighbours."""
    if found.all():
        return track
    times = np.flatnonzero(found)
    flat = track.reshape(len(track), -1)
    filled = np.empty_like(flat)
    for column in range(flat.shape[1]):
        filled[:, column] = np.interp(np.arange(len(track)), times, flat[times, column])
    return filled.reshape(track.shape)


def track_frames(frames: Iterable[np.ndarray], fps: float, smooth: bool = True,
                 progress=None, video_mode: bool = False) -> tuple[np.ndarray, int]:
    """Track one face through frames: (T, 478, 3) pixels and the count of frames without a face.

    Each frame is detected on its own by default; video_mode lets MediaPipe track from frame
    to frame instead. Frames without a face are interpolated; a video with no face at all is
    an error.
    """
    points, found = [], []
    with FaceLandmarker(max_faces=1, video=video_mode) as landmarker:
        for index, frame in enumerate(frames):
            faces = landmarker.detect(frame, timestamp_ms=int(round(index * 1000.0 / fps)))
            if faces:
                points.append(faces[0].landmarks)
                found.append(True)
            else:
                points.append(np.zeros((NUM_LANDMARKS, 3), np.float32))
                found.append(False)
            if progress is not None:
                progress.update(1)
    found = np.array(found, bool)
    if not found.any():
        raise PortraitError("no face found in any frame of the driving video")
    track = fill_gaps(np.stack(points), found)
    if smooth:
        track = smooth_track(track, fps)
    return track.astype(np.float32), int((~found).sum())
