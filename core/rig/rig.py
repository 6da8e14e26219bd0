"""FaceRig: the portrait's landmarks as a blendshape rig with a head pose, in plain numpy.

This is the reference the Blender rig must match (see the contract in the rig's Blender code):
    points = R @ (rest - pivot + sum_k w_k * delta_k) + pivot + translation   (portrait space)
    landmarks_px = portrait_to_image(points)
with R = Rz(yaw) @ Ry(roll) @ Rx(pitch) (Blender Euler 'XYZ' of rotation_euler = (pitch, roll,
yaw)). Sign conventions (core.rig.pose): positive yaw turns the face towards image right (the
subject's own left), positive pitch nods the chin down, positive roll tilts the top of the head
towards image right.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ..errors import PortraitError
from ..landmarks.topology import FACE_OVAL, NOSE_TIP, NUM_LANDMARKS
from .basis import FaceFrame, build_basis
from .names import ARKIT_NAMES, NUM_SHAPES, SHAPE_INDEX
from .pose import HeadPose, rotation_matrix
from .space import image_to_portrait, portrait_to_image

PIVOT_BEHIND_NOSE = 0.6  # head pivot depth behind the nose tip, in face widths


def weights_vector(weights) -> np.ndarray:
    """(52,) float64 from a (52,) array or a {ARKit name: value} mapping (unlisted = 0)."""
    if isinstance(weights, Mapping):
        vector = np.zeros(NUM_SHAPES)
        for name, value in weights.items():
            if name not in SHAPE_INDEX:
                raise PortraitError(f"unknown blendshape {name!r} (expected an ARKit name such as 'jawOpen')")
            vector[SHAPE_INDEX[name]] = float(value)
        return vector
    vector = np.asarray(weights, np.float64)
    if vector.shape != (NUM_SHAPES,):
        raise PortraitError(f"expected {NUM_SHAPES} blendshape weights, got shape {vector.shape}")
    return vector


def head_pivot(rest: np.ndarray) -> np.ndarray:
    """(3,) the head's rotation centre in portrait space: behind the face, at the face's middle.

    Laterally and vertically the centre of the face oval; in depth the nose tip pushed back by
    PIVOT_BEHIND_NOSE face widths, roughly where the neck turns the head.
    """
    frame = FaceFrame.of(rest)
    oval = frame.to_local(rest[FACE_OVAL])
    face_width = np.ptp(oval[:, 0])
    nose_depth = frame.to_local(rest[NOSE_TIP])[1]
    centre = np.array([(oval[:, 0].min() + oval[:, 0].max()) / 2,
                       nose_depth + PIVOT_BEHIND_NOSE * face_width,
                       (oval[:, 2].min() + oval[:, 2].max()) / 2])
    return frame.to_portrait(centre)


class FaceRig:
    """Rest landmarks + 52 blendshape deltas + a head pivot, all in portrait space.

    image_size (W, H); rest (478, 3); pivot (3,); deltas (52, 478, 3).
    """

    def __init__(self, rest: np.ndarray, deltas: np.ndarray, pivot: np.ndarray, image_size):
        self.rest = np.asarray(rest, np.float64)
        self.deltas = np.asarray(deltas, np.float64)
        self.pivot = np.asarray(pivot, np.float64)
        self.image_size = (int(image_size[0]), int(image_size[1]))

    @classmethod
    def from_landmarks(cls, landmarks_px: np.ndarray, image_size) -> "FaceRig":
        """The rig of a portrait from its landmarks (478, 3) in pixels of a (W, H) image."""
        landmarks_px = np.asarray(landmarks_px, np.float64)
        if landmarks_px.shape != (NUM_LANDMARKS, 3):
            raise PortraitError(f"expected {NUM_LANDMARKS} landmarks (478, 3), got {landmarks_px.shape}")
        if not np.isfinite(landmarks_px).all():
            raise PortraitError("the landmarks contain NaN or infinite values")
        rest = image_to_portrait(landmarks_px, image_size)
        return cls(rest, build_basis(rest), head_pivot(rest), image_size)

    @property
    def names(self) -> list[str]:
        return list(ARKIT_NAMES)

    def shaped(self, weights) -> np.ndarray:
        """Rest + weighted deltas before the head pose: (52,) or (T, 52) -> (478, 3) or (T, 478, 3)."""
        return self.rest + np.tensordot(weights, self.deltas, axes=(-1, 0))

    def evaluate_portrait(self, weights, head: HeadPose | None = None) -> np.ndarray:
        """Weights and head pose -> (478, 3) points in portrait space."""
        head = head or HeadPose()
        rotation = rotation_matrix(head.angles)
        local = self.shaped(weights_vector(weights)) - self.pivot
        return local @ rotation.T + self.pivot + np.asarray(head.translation, np.float64)

    def evaluate(self, weights, head: HeadPose | None = None) -> np.ndarray:
        """Weights ((52,) or {name: value}) and head pose -> landmarks (478, 3) in image pixels."""
        return portrait_to_image(self.evaluate_portrait(weights, head), self.image_size)

    def evaluate_batch(self, weights: np.ndarray, heads: np.ndarray | None = None,
                       translations: np.ndarray | None = None) -> np.ndarray:
        """Weights (T, 52), head angles (T, 3) yaw/pitch/roll deg, translations (T, 3) portrait
        units -> landmarks (T, 478, 3) in image pixels."""
        weights = np.asarray(weights, np.float64)
        if weights.ndim != 2 or weights.shape[1] != NUM_SHAPES:
            raise PortraitError(f"expected weights of shape (T, {NUM_SHAPES}), got {weights.shape}")
        count = len(weights)
        heads = np.zeros((count, 3)) if heads is None else np.asarray(heads, np.float64)
        translations = np.zeros((count, 3)) if translations is None else np.asarray(translations, np.float64)
        if heads.shape != (count, 3) or translations.shape != (count, 3):
            raise PortraitError(f"expected head angles and translations of shape ({count}, 3), "
                                f"got {heads.shape} and {translations.shape}")
        local = self.shaped(weights) - self.pivot
        points = np.einsum("tij,tnj->tni", rotation_matrix(heads), local)
        points += (self.pivot + translations)[:, None]
        return portrait_to_image(points, self.image_size)
