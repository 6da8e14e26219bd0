"""Motion transfer from a driver's landmark track onto a portrait's landmarks.

Relative mode (default): each driver frame is split into a head pose (similarity from the
neutral frame, on skull-fixed points) and an expression (landmark offsets in the neutral,
head-aligned frame). The offsets are rotated into the portrait's frame and scaled per facial
region by the portrait's own proportions, then the head pose is re-applied about the portrait's
head centre. Absolute mode maps the driver's landmarks onto the portrait with one similarity.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import PortraitError
from ..landmarks.topology import (BROW_POINT_INDICES, CHIN_TIP, EYE_POINT_INDICES, FACE_OVAL,
                                  IRIS_CENTRES, LEFT_EYE_CONTOUR, LIP_POINT_INDICES,
                                  MOUTH_POINT_INDICES, NOSE_TIP, NUM_LANDMARKS,
                                  RIGHT_EYE_CONTOUR, SKULL_POINTS, face_axes)
from .pose import Similarity, fit_similarity, head_pose, rotation_power


@dataclass
class Multipliers:
    """Per-region strength of the transferred motion (1.0 = as driven)."""
    head: float = 1.0
    eyes: float = 1.0
    brows: float = 1.0
    mouth: float = 1.0


def _face_axes(landmarks: np.ndarray) -> np.ndarray:
    """(2, 2) rows: the face's x axis (along the line between the iris centres) and y axis."""
    return np.stack(face_axes(landmarks, IRIS_CENTRES))


def _extent(points: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """Width and height (2,) of points (N, 2+) measured along the face axes."""
    projected = points[:, :2] @ axes.T
    return np.ptp(projected, axis=0)


def proportion_scales(driver_aligned: np.ndarray, portrait: np.ndarray) -> np.ndarray:
    """Per-landmark (478, 2) scale of expression offsets along the portrait's face axes.

    Each region's offsets are scaled by how much larger that region is on the portrait than on
    the (already similarity-aligned) driver: a long-faced driver's jaw drop becomes a shorter
    one on a round face, a wide-eyed driver's blink closes a narrow-eyed painting exactly.
    """
    axes = _face_axes(portrait)

    def ratio(indices_w, indices_h=None):
        indices_h = indices_w if indices_h is None else indices_h
        width = _extent(portrait[indices_w], axes)[0] / max(_extent(driver_aligned[indices_w], axes)[0], 1e-6)
        height = _extent(portrait[indices_h], axes)[1] / max(_extent(driver_aligned[indices_h], axes)[1], 1e-6)
        return np.clip([width, height], 0.5, 2.0)

    scales = np.tile(ratio(FACE_OVAL), (len(portrait), 1))
    scales[EYE_POINT_INDICES] = ratio(EYE_POINT_INDICES, RIGHT_EYE_CONTOUR + LEFT_EYE_CONTOUR)
    scales[BROW_POINT_INDICES] = ratio(BROW_POINT_INDICES, BROW_POINT_INDICES + EYE_POINT_INDICES)
    scales[MOUTH_POINT_INDICES] = ratio(LIP_POINT_INDICES, [NOSE_TIP, CHIN_TIP])
    return scales


def _scale_offsets(offsets: np.ndarray, scales: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """Scale the in-plane part of offsets (T, 478, 3) along the face axes; depth with the mean."""
    in_plane = offsets[..., :2] @ axes.T  # (T, 478, 2) in face axes
    scaled = np.empty_like(offsets)
    scaled[..., :2] = (in_plane * scales) @ axes
    scaled[..., 2] = offsets[..., 2] * scales.mean(axis=1)
    return scaled


def region_gains(multipliers: Multipliers, count: int = NUM_LANDMARKS) -> np.ndarray:
    """(count,) strength of each landmark's expression motion: the eyes, brows and mouth
    multipliers on their regions, 1 elsewhere (the head multiplier scales the pose instead)."""
    gains = np.ones(count)
    gains[EYE_POINT_INDICES] = multipliers.eyes
    gains[BROW_POINT_INDICES] = multipliers.brows
    gains[MOUTH_POINT_INDICES] = multipliers.mouth
    return gains


def _scaled_pose(pose: Similarity, center: np.ndarray, factor: float) -> Similarity:
    """The pose applied `factor` times as strongly, as a rotation about `center`."""
    shift = pose.apply(center[None])[0] - center
    rotation = rotation_power(pose.rotation, factor) if factor != 1.0 else pose.rotation
    scale = pose.scale ** factor
    return Similarity(scale, rotation, center + factor * shift - scale * center @ rotation.T)


def retarget(driver: np.ndarray, portrait: np.ndarray, neutral_frame: int = 0,
             multipliers: Multipliers | None = None, absolute: bool = False) -> np.ndarray:
    """Driver track (T, 478, 3) -> portrait targets (T, 478, 3) in the portrait's pixels."""
    driver = np.asarray(driver, np.float64)
    portrait = np.asarray(portrait, np.float64)
    if not 0 <= neutral_frame < len(driver):
        raise PortraitError(f"--neutral-frame {neutral_frame} is outside the driver's "
                            f"{len(driver)} frames")
    multipliers = multipliers or Multipliers()
    neutral = driver[neutral_frame]
    to_portrait = fit_similarity(neutral[SKULL_POINTS], portrait[SKULL_POINTS])
    if absolute:
        return to_portrait.apply(driver.reshape(-1, 3)).reshape(driver.shape).astype(np.float32)

    poses = [head_pose(frame, neutral) for frame in driver]
    expressions = np.stack([pose.inverse().apply(frame) for pose, frame in zip(poses, driver)])
    offsets = (expressions - neutral) @ to_portrait.rotation.T * to_portrait.scale
    scales = proportion_scales(to_portrait.apply(neutral), portrait)
    offsets = _scale_offsets(offsets, scales, _face_axes(portrait))
    offsets *= region_gains(multipliers, len(portrait))[None, :, None]

    center = portrait[SKULL_POINTS].mean(axis=0)
    from_portrait = to_portrait.inverse()
    targets = np.empty_like(driver)
    for t, pose in enumerate(poses):
        # the driver's head motion, expressed in the portrait's frame
        moved = Similarity(pose.scale, to_portrait.rotation @ pose.rotation @ from_portrait.rotation,
                           np.zeros(3))
        moved.translation = to_portrait.apply(pose.apply(from_portrait.apply(center[None])))[0] \
            - moved.scale * center @ moved.rotation.T
        targets[t] = _scaled_pose(moved, center, multipliers.head).apply(portrait + offsets[t])
    return targets.astype(np.float32)
