"""Head pose from 3D landmarks: a similarity transform (scale, rotation, translation)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..landmarks.topology import SKULL_POINTS


@dataclass
class Similarity:
    """x -> scale * rotation @ x + translation, on row vectors: (N, D) -> (N, D)."""
    scale: float
    rotation: np.ndarray  # (D, D)
    translation: np.ndarray  # (D,)

    def apply(self, points: np.ndarray) -> np.ndarray:
        return self.scale * points @ self.rotation.T + self.translation

    def inverse(self) -> "Similarity":
        return Similarity(1.0 / self.scale, self.rotation.T,
                          -(self.translation @ self.rotation) / self.scale)


def fit_similarity(source: np.ndarray, target: np.ndarray) -> Similarity:
    """Least-squares similarity mapping source (N, D) onto target (N, D) (Umeyama 1991)."""
    source = np.asarray(source, np.float64)
    target = np.asarray(target, np.float64)
    count = len(source)
    mu_s, mu_t = source.sum(axis=0) / count, target.sum(axis=0) / count
    cs, ct = source - mu_s, target - mu_t
    u, sigma, vt = np.linalg.svd(ct.T @ cs / count)
    rotation = u @ vt
    if np.linalg.det(rotation) < 0:  # a reflection is not a head pose: flip the weakest axis
        u[:, -1] = -u[:, -1]
        sigma[-1] = -sigma[-1]
        rotation = u @ vt
    variance = (cs ** 2).sum() / count
    scale = float(sigma.sum() / variance) if variance > 0 else 1.0
    return Similarity(scale, rotation, mu_t - scale * mu_s @ rotation.T)


def head_pose(landmarks: np.ndarray, reference: np.ndarray) -> Similarity:
    """Similarity taking `reference` (478, 3) onto `landmarks` (478, 3) on the skull points."""
    return fit_similarity(reference[SKULL_POINTS], landmarks[SKULL_POINTS])


def rotation_angle(rotation: np.ndarray) -> float:
    """The angle (radians) of a 3x3 rotation."""
    return float(np.arccos(np.clip((np.trace(rotation) - 1) / 2, -1.0, 1.0)))


def rotation_power(rotation: np.ndarray, factor: float) -> np.ndarray:
    """The rotation scaled in angle by `factor` about the same axis (3, 3)."""
    import cv2

    rotation_vector, _ = cv2.Rodrigues(np.asarray(rotation, np.float64))
    return cv2.Rodrigues(rotation_vector * factor)[0]
