"""Which run-time packages import in this Blender, and what to do about the missing ones.

The extension always registers: only the operators that need a missing package refuse to run
(with a one-line error), and the panel lists what is missing with the fix.
"""
from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass

from ..core.errors import PortraitError


@dataclass(frozen=True)
class Package:
    module: str  # import name
    requirement: str  # pip requirement that is known to work
    needed_for: str  # what stops working without it


PACKAGES = [
    Package("torch", "torch==2.13.0", "rendering frames and the live preview"),
    Package("mediapipe", "mediapipe==0.10.21", "finding the face when adding a portrait"),
    Package("scipy", "scipy", "the face rig and the generator's warp"),
    Package("imageio", "imageio", "reading portraits and writing frames"),
]
BY_MODULE = {package.module: package for package in PACKAGES}

# Operator feature -> the packages it cannot run without.
FEATURES = {
    "add": ("imageio", "scipy"),
    "detect": ("mediapipe",),
    "rig": ("scipy",),  # core.rig imports its solver
    "render": ("torch", "scipy", "imageio"),  # also the live preview
    "sketch": ("imageio", "scipy"),
}

_status: dict[str, str | None] = {}


def import_error(module: str) -> str | None:
    """None if `module` imports, else the reason it does not (cached until refresh())."""
    if module not in _status:
        try:
            importlib.import_module(module)
            _status[module] = None
        except Exception as exc:  # a broken install raises more than ImportError
            _status[module] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return _status[module]


def refresh() -> None:
    """Forget the cached results (after installing a package)."""
    _status.clear()


def fix_hint(package: Package, python_version: tuple[int, int] | None = None) -> str:
    """One line telling the user how to get `package` into this Blender's Python."""
    major, minor = python_version or sys.version_info[:2]
    if package.module == "mediapipe" and (major, minor) > (3, 12):
        return ("mediapipe 0.10.21 needs Python <= 3.12: detect landmarks with "
                "`python -m core detect --json` elsewhere and add with Landmarks JSON")
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
