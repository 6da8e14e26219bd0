"""Landmarks through a video: MediaPipe detection per frame, gap filling and noise-bounded
smoothing.

Every frame is detected on its own, so the raw track follows fast motion exactly but carries
the detector's noise. Smoothing may move a point by at most that noise (measured on the same
video): jitter on still stretches is removed, while head turns and syllables keep their peaks,
because no output point leaves the band of radius `noise` around its detection.
"""
from __future__ import annotations

import contextlib
from typing import Iterable

import numpy as np

from ..errors import PortraitError
from ..rig.names import NUM_SHAPES, weights_from_scores
from ..smoothing import gaussian_smooth
from .detect import FaceLandmarker
from .topology import LEFT_IRIS_CENTER, NUM_LANDMARKS, RIGHT_IRIS_CENTER

NOISE_STRIDE = 8  # every 8th frame is detected twice to measure the detector's noise
SMOOTH_SECONDS = 1 / 30  # the Gaussian's sigma: one frame at 30 fps
MAX_NOISE_IOD = 0.0025  # the band's radius never exceeds 0.25 % of the inter-ocular distance


def inter_ocular(landmarks: np.ndarray) -> np.ndarray:
    """Distance between the iris centres: (..., 478, D) -> (...)."""
    diff = landmarks[..., RIGHT_IRIS_CENTER, :2] - landmarks[..., LEFT_IRIS_CENTER, :2]
    return np.linalg.norm(diff, axis=-1)


def half_pixel_shift(frame: np.ndarray) -> np.ndarray:
    """frame (H, W, 3) uint8 moved by half a pixel right and down: the same picture, sampled
    differently, so a second detection on it shows the detector's own noise."""
    import cv2  # the landmark groups import without OpenCV (a Blender missing it registers)

    shift = np.float32([[1, 0, 0.5], [0, 1, 0.5]])
    return cv2.warpAffine(frame, shift, (frame.shape[1], frame.shape[0]),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def detection_noise(first: np.ndarray, second: np.ndarray) -> float:
    """The detector's noise in pixels from pairs of detections of the same frames, (N, 478, 3)
    each, the second on the half-pixel-shifted frame (already shifted back): the median point
    distance between the two, over sqrt(2) because both detections are noisy."""
    distance = np.linalg.norm(first[..., :2] - second[..., :2], axis=-1)
    return float(np.median(distance) / np.sqrt(2))


def smooth_track(track: np.ndarray, fps: float, noise: float,
                 keep: Iterable[int] = (0,)) -> np.ndarray:
    """(T, 478, 3) pixels -> the same, with jitter below `noise` pixels removed.

    A short zero-phase Gaussian proposes each point's position; the move from the detection
    is then limited to `noise` (capped at MAX_NOISE_IOD of the inter-ocular distance), so the
    output is never further from a detection than the detector's own noise and real motion
    of any speed passes. Frames in `keep` (the neutral frame) stay exactly as detected.
    """
    if len(track) < 3:
        return track.copy()
    radius = min(noise, MAX_NOISE_IOD * float(np.median(inter_ocular(track))))
    raw = track.astype(np.float64)
    proposal = gaussian_smooth(raw, SMOOTH_SECONDS * fps, axis=0, edges="nearest")
    move = proposal - raw
    length = np.linalg.norm(move, axis=-1, keepdims=True)
    move *= np.minimum(1.0, radius / np.maximum(length, 1e-12))
    move[list(keep)] = 0.0
    return (raw + move).astype(track.dtype)


def fill_gaps(track: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Linearly interpolate frames without a face (found False) from their neighbours:
    track (T, ...) per-frame values, found (T,) bool."""
    if found.all():
        return track
    times = np.flatnonzero(found)
    flat = track.reshape(len(track), -1)
    filled = np.empty_like(flat)
    for column in range(flat.shape[1]):
        filled[:, column] = np.interp(np.arange(len(track)), times, flat[times, column])
    return filled.reshape(track.shape)


def track_frames(frames: Iterable[np.ndarray], fps: float, smooth: bool = True,
                 progress=None, video_mode: bool = False, neutral_frame: int = 0,
                 with_blendshapes: bool = False):
    """Track one face through frames: (T, 478, 3) pixels and the count of frames without a face.

    Each frame is detected on its own by default; video_mode lets MediaPipe track from frame
    to frame instead. Frames without a face are interpolated; a video with no face at all is
    an error. With `smooth`, every NOISE_STRIDE-th frame is detected a second time, half a
    pixel over, to measure the noise that smoothing may remove; the neutral frame is kept as
    detected.

    With `with_blendshapes` it returns (track, scores, missing) instead: scores (T, 52) float32
    are the detector's own ARKit blendshape scores in 0..1, in ARKIT_NAMES order, interpolated
    over frames without a face like the landmarks (and not smoothed).
    """
    points, scores, found, pairs = [], [], [], []
    with contextlib.ExitStack() as stack:
        landmarker = stack.enter_context(FaceLandmarker(max_faces=1, video=video_mode))
        second_look = (stack.enter_context(FaceLandmarker(max_faces=1)) if video_mode
                       else landmarker)
        for index, frame in enumerate(frames):
            faces = landmarker.detect(frame, timestamp_ms=int(round(index * 1000.0 / fps)))
            if faces:
                points.append(faces[0].landmarks)
                if with_blendshapes:
                    scores.append(weights_from_scores(faces[0].blendshapes))
                found.append(True)
                if smooth and index % NOISE_STRIDE == 0:
                    shifted = second_look.detect(half_pixel_shift(frame))
                    if shifted:
                        pairs.append((faces[0].landmarks, shifted[0].landmarks - [0.5, 0.5, 0]))
            else:
                points.append(np.zeros((NUM_LANDMARKS, 3), np.float32))
                if with_blendshapes:
                    scores.append(np.zeros(NUM_SHAPES, np.float32))
                found.append(False)
            if progress is not None:
                progress.update(1)
    found = np.array(found, bool)
    if not found.any():
        raise PortraitError("no face found in any frame of the driving video")
    track = fill_gaps(np.stack(points), found)
    if smooth and pairs:
        first, second = (np.stack(side) for side in zip(*pairs))
        keep = [neutral_frame] if 0 <= neutral_frame < len(track) else []
        track = smooth_track(track, fps, detection_noise(first, second), keep)
    missing = int((~found).sum())
    if with_blendshapes:
        return track.astype(np.float32), fill_gaps(np.stack(scores), found), missing
    return track.astype(np.float32), missing
