"""Landmarks as JSON: what `python -m core detect --json` prints and `--landmarks` reads back.

This lets a machine without mediapipe (e.g. a Python 3.13 Blender) animate a portrait whose
landmarks were detected elsewhere.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import PortraitError
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
    """(478, 3) landmarks of face `face` and the image size they were detected at."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        faces = data["faces"]
        size = (int(data["size"][0]), int(data["size"][1]))
    except FileNotFoundError:
        raise PortraitError(f"{path}: no such file") from None
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        raise PortraitError(f"{path}: not a landmarks file from 'python -m core detect --json'") from None
    if not 0 <= face < len(faces):
        raise PortraitError(f"{path}: face {face} requested but the file has {len(faces)}")
    landmarks = np.asarray(faces[face]["landmarks"], np.float32)
    if landmarks.shape != (NUM_LANDMARKS, 3):
        raise PortraitError(f"{path}: expected {NUM_LANDMARKS}x3 landmarks, got {landmarks.shape}")
    return landmarks, size


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
