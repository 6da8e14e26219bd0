"""MediaPipe FaceMesh (refined: 478 points with irises) in the original image's pixels.

Landmarks are float32 (478, 3): x and y in pixels of the image as given, z in the same pixel
units (MediaPipe's z scaled by the image width; smaller z is nearer the camera).
"""
from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass

import numpy as np

from ..errors import PortraitError
from .topology import NUM_LANDMARKS

MIN_FACE_PX = 32  # below this the mesh is too coarse to animate


@dataclass
class Face:
    landmarks: np.ndarray  # (478, 3) float32, pixels

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) around the landmarks, in pixels."""
        x0, y0 = self.landmarks[:, :2].min(axis=0)
        x1, y1 = self.landmarks[:, :2].max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)

    @property
    def width(self) -> float:
        x0, _, x1, _ = self.box
        return x1 - x0


def import_mediapipe():
    """mediapipe, quietly; a one-line error if it is missing (e.g. a Python 3.13 Blender)."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import mediapipe as mp
    except ImportError:
        raise PortraitError(
            "mediapipe is not installed: face detection needs mediapipe==0.10.21 "
            "(Python 3.9-3.12); load landmarks from 'python -m core detect --json' instead") from None
    return mp


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence MediaPipe's C++ start-up logging (written straight to fd 2, past Python)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (e.g. inside some embedding hosts)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _to_pixels(face_landmarks, width: int, height: int, x0=0, y0=0) -> np.ndarray:
    points = np.array([(p.x, p.y, p.z) for p in face_landmarks.landmark], np.float32)
    points[:, 0] = points[:, 0] * width + x0
    points[:, 1] = points[:, 1] * height + y0
    points[:, 2] *= width
    return points


def _run_mesh(image: np.ndarray, max_faces: int) -> list[np.ndarray]:
    mp = import_mediapipe()
    height, width = image.shape[:2]
    with quiet_native_stderr(), mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, refine_landmarks=True, max_num_faces=max_faces,
            min_detection_confidence=0.5) as mesh:
        result = mesh.process(np.ascontiguousarray(image))
    return [_to_pixels(f, width, height) for f in (result.multi_face_landmarks or [])]


def _overlaps(a: np.ndarray, faces: list[np.ndarray]) -> bool:
    ca = a[:, :2].mean(axis=0)
    for b in faces:
        size = np.ptp(b[:, 0])
        if np.linalg.norm(ca - b[:, :2].mean(axis=0)) < 0.5 * size:
            return True
    return False


def detect_faces(image: np.ndarray, max_faces: int = 8) -> list[Face]:
    """All faces found, largest first. Small faces in large images are found in tiles."""
    faces = _run_mesh(image, max_faces)
    height, width = image.shape[:2]
    if not faces and min(height, width) >= 512:
        # The detector sees the image at 128 px: look again at overlapping half-size tiles.
        tile = min(height, width) // 2
        step = tile // 2
        for y0 in range(0, max(height - tile, 0) + 1, step):
            for x0 in range(0, max(width - tile, 0) + 1, step):
                crop = image[y0:y0 + tile, x0:x0 + tile]
                for points in _run_mesh(crop, max_faces):
                    points = points.copy()
                    points[:, 0] += x0
                    points[:, 1] += y0
                    if not _overlaps(points, faces):
                        faces.append(points)
    found = [Face(points) for points in faces]
    found.sort(key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
    return found


def detect_landmarks(image: np.ndarray, face: int = 0) -> np.ndarray:
    """Landmarks (478, 3) of face number `face` (0 = the largest), or a one-line error."""
    faces = detect_faces(image)
    if not faces:
        raise PortraitError("no face found in the portrait")
    if face < 0 or face >= len(faces):
        raise PortraitError(f"face {face} requested but {len(faces)} face(s) found")
    chosen = faces[face]
    if chosen.width < MIN_FACE_PX:
        raise PortraitError(
            f"the face is too small ({chosen.width:.0f} px wide, need >= {MIN_FACE_PX} px)")
    assert chosen.landmarks.shape == (NUM_LANDMARKS, 3)
    return chosen.landmarks
