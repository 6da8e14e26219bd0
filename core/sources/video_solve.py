"""Video performance capture: a driving video solved into rig curves (52 weights + head pose).

track (core.landmarks) -> retarget onto the portrait (core.retarget) -> per-frame bounded
least-squares fit of the rig (core.rig.fit_sequence, warm-started) -> light temporal smoothing
-> resampling to the scene rate -> optional keyframe reduction within a stated tolerance.
The result is ordinary keys: every curve can be edited like hand animation.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import PortraitError
from ..rig.names import ARKIT_NAMES
from ..rig.motion import HEAD_ANGLE_TRACKS, HEAD_TRANSLATION_TRACKS, Motion
from ..smoothing import gaussian_smooth
from .tracks import (dense_tracks, head_curves, make_motion, reduced_tracks, translation_curves,
                     weight_curves)

# progress(stage, done, total): stage is "tracking" or "solving"; it may raise to cancel.
Progress = Callable[[str, int, int], None]


@dataclass
class Solve:
    """Per solved frame: weights (T, 52) in 0..1, head angles (T, 3) yaw/pitch/roll degrees,
    translations (T, 3) portrait units, fit residuals (T,) in % of inter-ocular distance."""
    weights: np.ndarray
    angles: np.ndarray
    translations: np.ndarray
    residuals: np.ndarray
    fps: float  # solved frames per second (the video's fps / the solve's stride)

    def smoothed(self, sigma_frames: float) -> "Solve":
        """Gaussian smoothing along time (sigma in solved frames; 0 = none).

        The tracker is already smoothed; this removes the frame-to-frame flicker a per-frame
        solve adds when two similar shapes trade weight. Weights stay within 0..1 (a Gaussian
        is an average).
        """
        if sigma_frames <= 0 or len(self.weights) < 3:
            return self

        def smooth(curves):
            return gaussian_smooth(curves, sigma_frames, axis=0, edges="nearest")

        return Solve(smooth(self.weights), smooth(self.angles), smooth(self.translations),
                     self.residuals, self.fps)

    def resampled(self, fps: float) -> tuple[np.ndarray, "Solve"]:
        """Scene frames (K,) from 0 and the curves sampled on them (linear between solved
        frames)."""
        if fps <= 0:
            raise PortraitError(f"scene fps must be positive, got {fps}")
        if abs(fps - self.fps) < 1e-9:
            return np.arange(len(self.weights), dtype=np.float64), self
        duration = (len(self.weights) - 1) / self.fps
        frames = np.arange(int(np.floor(duration * fps + 1e-9)) + 1, dtype=np.float64)
        source = np.arange(len(self.weights)) * fps / self.fps

        def resample(curves):
            return np.stack([np.interp(frames, source, column) for column in curves.T], axis=1)

        residuals = np.interp(frames, source, self.residuals)
        return frames, Solve(resample(self.weights), resample(self.angles),
                             resample(self.translations), residuals, fps)


class _TrackingProgress:
    """Adapts a Progress callback to the tqdm-like object track_frames updates."""

    def __init__(self, progress: Progress, total: int):
        self.progress, self.total, self.done = progress, total, 0

    def update(self, count: int) -> None:
        self.done += count
        self.progress("tracking", self.done, self.total)


def track_video(path: str | Path, progress: Progress | None = None,
                neutral_frame: int = 0) -> tuple[np.ndarray, np.ndarray, float, int]:
    """(T, 478, 3) driver landmarks in the video's pixels, the detector's blendshape scores
    (T, 52) in ARKIT_NAMES order, its fps, frames without a face. The neutral frame is kept as
    detected (smoothing never moves it)."""
    from ..landmarks import track_frames
    from ..media import VideoReader

    reader = VideoReader(path)
    try:
        bar = _TrackingProgress(progress, reader.num_frames) if progress else None
        track, scores, missing = track_frames(reader, reader.fps, progress=bar,
                                              neutral_frame=neutral_frame,
                                              with_blendshapes=True)
    finally:
        reader.close()
    if len(track) < 2:
        raise PortraitError(f"{path}: the video has {len(track)} frame; need at least 2")
    return track, scores, reader.fps, missing


def solve_targets(rig, targets: np.ndarray, fps: float, smoothing: float = 1.0,
                  progress: Progress | None = None, scores: np.ndarray | None = None,
                  prior: float = 0.0) -> Solve:
    """Fit the rig to every target frame (T, 478, 3) px of the portrait, then smooth; with
    `prior` > 0 the weights are pulled towards the driver's blendshape scores (T, 52) (see
    core.rig.fit.fit_sequence)."""
    from ..rig.fit import fit_sequence

    def report(done):
        if progress is not None:
            progress("solving", done, len(targets))

    weights, angles, translations, residuals = fit_sequence(rig, targets, progress=report,
                                                            scores=scores, prior=prior)
    return Solve(weights, angles, translations, residuals, fps).smoothed(smoothing)


def solve_video(path: str | Path, rig, portrait_landmarks: np.ndarray, smoothing: float = 1.0,
                neutral_frame: int = 0, multipliers=None, stride: int = 1,
                progress: Progress | None = None,
                prior: float = 0.0) -> tuple[Solve, np.ndarray, int]:
    """Track, retarget and solve a driving video for `rig` (built from portrait_landmarks).

    Every frame is tracked (the tracker needs them all), every `stride`-th one is solved: the
    solve's fps is the video's / stride, and resampling interpolates between solved frames.
    Returns the solve, the retargeted targets (T, 478, 3) px of all video frames, and the
    number of video frames without a face (interpolated by the tracker). `prior` > 0 pulls
    the weights towards MediaPipe's own blendshape scores of each frame; it is 0 by default
    because on the shared clips any pull raised the landmark error (README, "Video
    performance capture").
    """
    if stride < 1:  # before the tracking, which takes most of the time
        raise PortraitError(f"solve every N-th frame needs N >= 1, got {stride}")
    track, scores, fps, missing = track_video(path, progress, neutral_frame)
    solve, targets = solve_track(track, scores, fps, rig, portrait_landmarks, smoothing,
                                 neutral_frame, multipliers, stride, progress, prior)
    return solve, targets, missing


def solve_track(track: np.ndarray, scores: np.ndarray, fps: float, rig,
                portrait_landmarks: np.ndarray, smoothing: float = 1.0, neutral_frame: int = 0,
                multipliers=None, stride: int = 1, progress: Progress | None = None,
                prior: float = 0.0) -> tuple[Solve, np.ndarray]:
    """solve_video on a video already tracked (track_video's track (T, 478, 3), scores
    (T, 52) and fps): the solve and the retargeted targets (T, 478, 3)."""
    from ..retarget import retarget

    if stride < 1:
        raise PortraitError(f"solve every N-th frame needs N >= 1, got {stride}")
    targets = retarget(track, portrait_landmarks, neutral_frame=neutral_frame,
                       multipliers=multipliers)
    solve = solve_targets(rig, targets[::stride], fps / stride, smoothing / stride, progress,
                          scores[::stride], prior)
    return solve, targets


def driver_frame(scene_frame: float, frame_start: float, step: float) -> int:
    """The driving video's frame a frame of the solve's keys shows (a scene frame where the
    keys play unmoved), for a solve keyed by solve_motion from frame_start with `step` video
    frames per frame (the video's fps / the scene's): the frame nearest that frame's time (may
    be outside the video)."""
    return int(np.floor((scene_frame - frame_start) * step + 0.5 + 1e-9))


def solve_motion(solve: Solve, fps: float, frame_start: float = 1, reduce: float | None = None,
                 reduce_degrees: float = 0.25, reduce_translation: float = 0.002,
                 name: str = "performance") -> Motion:
    """A solve as a Motion at the scene's fps, keyed from frame_start.

    Without `reduce` every scene frame is keyed. With `reduce` (weight units) each curve keeps
    only the keys needed so that linear interpolation between them stays within `reduce` of
    every solved frame; head angles use `reduce_degrees`, translations `reduce_translation`
    (portrait units). Either way the keys are LINEAR, which is what makes the bound exact.
    """
    frames, sampled = solve.resampled(fps)
    frames = frames + frame_start
    curves = {**weight_curves(sampled.weights), **head_curves(sampled.angles),
              **translation_curves(sampled.translations)}
    if reduce is None:
        tracks = dense_tracks(frames, curves)
    else:
        if reduce < 0 or reduce_degrees < 0 or reduce_translation < 0:
            raise PortraitError("keyframe reduction tolerances must be >= 0")
        tolerances = {**dict.fromkeys(ARKIT_NAMES, reduce),
                      **dict.fromkeys(HEAD_ANGLE_TRACKS, reduce_degrees),
                      **dict.fromkeys(HEAD_TRANSLATION_TRACKS, reduce_translation)}
        tracks = reduced_tracks(frames, curves, tolerances)
    return make_motion(name, fps, tracks, "LINEAR", frame_range=(frames[0], np.ceil(frames[-1])))
