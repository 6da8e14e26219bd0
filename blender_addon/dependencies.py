"""Which run-time packages import in this Blender, and what to do about the missing ones.

The extension always registers: only the operators that need a missing package refuse to run
(with a one-line error), and the panel lists what is missing with the fix.
"""
from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import Callable

from ..core.errors import PortraitError


def _face_landmarker() -> None:
    from ..core.landmarks.detect import import_face_landmarker, model_bytes

    import_face_landmarker()
    model_bytes()


@dataclass(frozen=True)
class Package:
    module: str  # import name
    requirement: str  # pip requirement that is known to work
    needed_for: str  # what stops working without it
    probe: Callable[[], None] | None = None  # how to check it, where importing is not enough


PACKAGES = [
    Package("cv2", "opencv-python-headless", "reading portraits and rendering frames"),
    Package("mediapipe", "mediapipe>=1.2", "finding the face when adding a portrait",
            _face_landmarker),
    Package("imageio_ffmpeg", "imageio-ffmpeg", "reading driving videos and audio"),
]
BY_MODULE = {package.module: package for package in PACKAGES}

# Operator feature -> the packages it cannot run without.
FEATURES = {
    "add": ("cv2",),
    "detect": ("mediapipe", "cv2"),
    "rig": (),
    "render": ("cv2",),  # also the live preview
    "sketch": ("cv2",),
    "driver": ("mediapipe", "cv2", "imageio_ffmpeg"),  # a render's driver frames, tracked
}

_status: dict[str, str | None] = {}


def import_error(module: str) -> str | None:
    """None if `module` imports, else the reason it does not (cached until refresh())."""
    if module not in _status:
        try:
            package = BY_MODULE.get(module)
            if package is not None and package.probe is not None:
                package.probe()
            else:
                importlib.import_module(module)
            _status[module] = None
        except Exception as exc:  # a broken install raises more than ImportError
            _status[module] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return _status[module]


def refresh() -> None:
    """Forget the cached results (after installing a package)."""
    _status.clear()


def fix_hint(package: Package) -> str:
    """One line telling the user how to get `package` into this Blender's Python."""
    return (f"install it into Blender's Python: "
            f"{sys.executable} -m pip install \"{package.requirement}\"")


def missing_packages() -> list[tuple[Package, str]]:
    """(package, fix hint) for every run-time package that does not import."""
    return [(package, fix_hint(package)) for package in PACKAGES if import_error(package.module)]


def available(feature: str) -> bool:
    """Whether every package `feature` needs imports."""
    return not any(import_error(module) for module in FEATURES[feature])


def require(feature: str) -> None:
    """Raise a one-line PortraitError if a package `feature` needs does not import."""
    for module in FEATURES[feature]:
        if import_error(module):
            package = BY_MODULE[module]
            raise PortraitError(f"{package.module} is missing ({package.needed_for}): "
                                f"{fix_hint(package)}")
