"""Head pose: Euler angles matching Blender's rotation_mode 'XYZ' on the rig object.

The rig's rotation_euler is (pitch, roll, yaw) about portrait-space X, Y, Z, so Blender builds
R = Rz(yaw) @ Ry(roll) @ Rx(pitch). Rotations are right-handed (counter-clockwise seen from the
positive end of the axis). With the face looking towards -Y (the camera):
  yaw > 0    turns the face towards image right (the subject's own left),
  pitch > 0  nods the chin down (the nose moves down in the image),
  roll > 0   tilts the top of the head towards image right (clockwise as the camera sees it).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class HeadPose:
    """Head rotation in degrees about the rig's pivot, plus a translation in portrait units."""
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    translation: tuple[float, float, float] = field(default=(0.0, 0.0, 0.0))

    @property
    def angles(self) -> np.ndarray:
        """(3,) yaw, pitch, roll in degrees."""
        return np.array([self.yaw, self.pitch, self.roll], np.float64)


def rotation_matrix(angles_deg: np.ndarray) -> np.ndarray:
    """(..., 3) yaw, pitch, roll in degrees -> (..., 3, 3) R = Rz(yaw) @ Ry(roll) @ Rx(pitch)."""
    yaw, pitch, roll = np.moveaxis(np.radians(np.asarray(angles_deg, np.float64)), -1, 0)
    cz, sz = np.cos(yaw), np.sin(yaw)
    cy, sy = np.cos(roll), np.sin(roll)
    cx, sx = np.cos(pitch), np.sin(pitch)
    # Rz @ Ry @ Rx written out (Blender's eul_to_mat3 for order XYZ).
    rows = [[cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx],
            [sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx],
            [-sy, cy * sx, cy * cx]]
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)


def rotation_derivatives(angles_deg: np.ndarray) -> np.ndarray:
    """(3,) yaw, pitch, roll in degrees -> (3, 3, 3): dR/d(yaw, pitch, roll) per degree."""
    yaw, pitch, roll = np.radians(np.asarray(angles_deg, np.float64))

    def rx(a):
        return np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])

    def ry(a):
        return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])

    def rz(a):
        return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])

    # The derivative of a rotation by a about axis k is hat(e_k) @ R(a).
    hat_x = np.array([[0, 0, 0], [0, 0, -1], [0, 1, 0]], float)
    hat_y = np.array([[0, 0, 1], [0, 0, 0], [-1, 0, 0]], float)
    hat_z = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 0]], float)
    d_yaw = hat_z @ rz(yaw) @ ry(roll) @ rx(pitch)
    d_pitch = rz(yaw) @ ry(roll) @ hat_x @ rx(pitch)
    d_roll = rz(yaw) @ hat_y @ ry(roll) @ rx(pitch)
    return np.stack([d_yaw, d_pitch, d_roll]) * (np.pi / 180.0)


def angles_from_matrix(rotation: np.ndarray) -> np.ndarray:
    """(3, 3) R = Rz(yaw) @ Ry(roll) @ Rx(pitch) -> (3,) yaw, pitch, roll in degrees."""
    rotation = np.asarray(rotation, np.float64)
    roll = np.arcsin(np.clip(-rotation[2, 0], -1.0, 1.0))
    pitch = np.arctan2(rotation[2, 1], rotation[2, 2])
    yaw = np.arctan2(rotation[1, 0], rotation[0, 0])
    return np.degrees([yaw, pitch, roll])
