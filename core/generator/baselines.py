"""Simple warps the generator is measured against (bench/bench_quality.py).

Same call shape as a generator frame: (source_image (H, W, 3) uint8, source_landmarks
(478, 3), target_landmarks (478, 3)) -> frame (H, W, 3) uint8, landmarks in the portrait's
pixels.
"""
from __future__ import annotations

import numpy as np

from ..retarget.pose import fit_similarity
from .head import border_points
from .inputs import check_image, check_landmarks, snap_to_pixel_centres
from .resample import OpenCVResampler
from .warp import lattice, lattice_nodes

TPS_CELL = 3          # the spline is smooth: evaluated every 3 px and upsampled
TPS_SMOOTHING = 1e-3  # keeps the system solvable when target points coincide
TPS_BORDER_POINTS = 32  # per side: dense enough that the border stays put between them


def static(source_image: np.ndarray, source_landmarks: np.ndarray,
           target_landmarks: np.ndarray) -> np.ndarray:
    """The portrait unchanged: the floor any animation must beat."""
    check_landmarks(source_landmarks, "source landmarks")
    check_landmarks(target_landmarks, "target landmarks")
    return check_image(source_image).copy()


def _warp_whole(image: np.ndarray, backward) -> np.ndarray:
    """image (H, W, 3) resampled at backward(positions (K, 2)) -> (K, 2) over a lattice."""
    height, width = image.shape[:2]
    box = (0, 0, width, height)
    span, shape = lattice(box, TPS_CELL, width, height)
    nodes = lattice_nodes(span, TPS_CELL)
    field = backward(nodes.reshape(-1, 2)).reshape(nodes.shape) - nodes
    frame = np.empty_like(image)
    OpenCVResampler(image).warp_into(frame, field, span, box, TPS_CELL)
    return frame


def similarity(source_image: np.ndarray, source_landmarks: np.ndarray,
               target_landmarks: np.ndarray) -> np.ndarray:
    """One global 2D similarity (rotation, scale, shift) fitted on all landmarks."""
    image = check_image(source_image)
    source = snap_to_pixel_centres(check_landmarks(source_landmarks, "source landmarks"))[:, :2]
    target = snap_to_pixel_centres(check_landmarks(target_landmarks, "target landmarks"))[:, :2]
    return _warp_whole(image, fit_similarity(target, source).apply)


def thin_plate_spline(source_image: np.ndarray, source_landmarks: np.ndarray,
                      target_landmarks: np.ndarray) -> np.ndarray:
    """A thin-plate spline through all 478 landmarks, with the image border held still."""
    from scipy.interpolate import RBFInterpolator  # the bench's baseline only: not a run-time need

    image = check_image(source_image)
    height, width = image.shape[:2]
    border = border_points(width, height, TPS_BORDER_POINTS)
    source = snap_to_pixel_centres(check_landmarks(source_landmarks, "source landmarks"))[:, :2]
    target = snap_to_pixel_centres(check_landmarks(target_landmarks, "target landmarks"))[:, :2]
    source, target = np.concatenate([source, border]), np.concatenate([target, border])
    spline = RBFInterpolator(target, source - target, kernel="thin_plate_spline",
                             smoothing=TPS_SMOOTHING)
    return _warp_whole(image, lambda points: points + spline(points))


BASELINES = {"static": static, "similarity": similarity, "tps": thin_plate_spline}
