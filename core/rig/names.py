"""The 52 ARKit blendshape names, in ARKit's order and spelling.

The order is ARFaceAnchor.BlendShapeLocation's as exported by Live Link Face; the shape keys of
the Blender rig and every (52,) weight vector in core.rig follow it.
"""
from __future__ import annotations

import numpy as np

ARKIT_NAMES = [
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawRight", "jawLeft", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthRight", "mouthLeft",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "noseSneerLeft", "noseSneerRight",
    "tongueOut",
]

NUM_SHAPES = len(ARKIT_NAMES)
SHAPE_INDEX = {name: index for index, name in enumerate(ARKIT_NAMES)}


def weights_from_scores(scores: dict[str, float]) -> np.ndarray:
    """(52,) float32 in ARKIT_NAMES order from named scores (a detector's blendshapes), names
    matched case-insensitively; shapes missing from `scores` are 0, extra names are ignored."""
    by_name = {name.lower(): float(value) for name, value in scores.items()}
    return np.array([by_name.get(name.lower(), 0.0) for name in ARKIT_NAMES], np.float32)
