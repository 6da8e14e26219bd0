"""Landmarks as JSON: what `python -m core detect --json` prints and `--landmarks` reads back.

This lets a machine without mediapipe (e.g. a Python 3.13 Blender) animate a portrait whose
landmarks were detected elsewhere.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import PortraitError
from ..validate import LANDMARK_MARGIN, MAX_IMAGE_SIDE, float_array, integer, within
from .detect import Face
from .topology import NUM_LANDMARKS


def faces_to_json(faces: list[Face], image_size: tuple[int, int], source: str = "") -> dict:
    return {
        "image": source,
        "size": list(image_size),
        "faces": [{"box": [round(v, 2) for v in face.box],
                   "landmarks": np.round(face.landmarks, 3).tolist()} for face in faces],
    }


def load_landmarks_json(path: str | Path, face: int = 0) -> tuple[np.ndarray, tuple[int, int]]:
    """(478, 3) landmarks of face `face` and the image size they were detected at.

    Every number is checked here: a size of whole pixels, landmarks finite and near the image.
    """
    path = Path(path)
    not_ours = f"{path}: not a landmarks file from 'python -m core detect --json'"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise PortraitError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        raise PortraitError(not_ours) from None
    if not (isinstance(data, dict) and isinstance(data.get("faces"), list)
            and isinstance(data.get("size"), list) and len(data["size"]) == 2):
        raise PortraitError(not_ours)
    size = tuple(integer(value, f"{path}: size[{axis}]", 1, MAX_IMAGE_SIDE)
                 for axis, value in enumerate(data["size"]))
    faces = data["faces"]
    if not 0 <= face < len(faces):
        raise PortraitError(f"{path}: face {face} requested but the file has {len(faces)}")
    if not isinstance(faces[face], dict) or "landmarks" not in faces[face]:
        raise PortraitError(f"{path}: faces[{face}] has no 'landmarks'")
    where = f"{path}: faces[{face}].landmarks"
    landmarks = float_array(faces[face]["landmarks"], where, (NUM_LANDMARKS, 3))
    for axis, extent in enumerate((size[0], size[1], size[0])):  # z is in x's pixels
        within(landmarks[:, axis], where, -LANDMARK_MARGIN * extent,
               (1 + LANDMARK_MARGIN) * extent, "xyz"[axis])
    return landmarks.astype(np.float32), size


def read_or_detect_landmarks(image: np.ndarray, landmarks_path: str | Path | None = None,
                       face: int = 0) -> np.ndarray:
    """Landmarks (478, 3) of `image`: read from a `detect --json` file if given, else detected."""
    from .detect import detect_landmarks

    if not landmarks_path:
        return detect_landmarks(image, face=face)
    landmarks, size = load_landmarks_json(landmarks_path, face)
    if size != (image.shape[1], image.shape[0]):
        raise PortraitError(f"{landmarks_path}: landmarks are for a {size[0]}x{size[1]} image, "
                            f"the portrait is {image.shape[1]}x{image.shape[0]}")
    return landmarks
