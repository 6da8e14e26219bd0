"""Expression presets: named sets of blendshape weights (presets/expressions/*.json).

File format: {"name": "smile", "weights": {"mouthSmileLeft": 0.8, ...}} with ARKit names and
values in 0..1.
"""
from __future__ import annotations

import json
import math

from ..errors import PortraitError
from .names import SHAPE_INDEX
from .presets import preset_names, resolve_preset


def list_expressions() -> list[str]:
    """Names of the expression presets (smile, surprise, ..., vowel_a, ...)."""
    return preset_names("expressions")


def load_expression(name: str) -> dict[str, float]:
    """{ARKit name: weight} of an expression preset (by name, or a path to a JSON file)."""
    path = resolve_preset("expressions", name)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PortraitError(f"{path}: not a readable expression JSON ({type(exc).__name__})") from None
    weights = data.get("weights") if isinstance(data, dict) else None
    if not isinstance(weights, dict):
        raise PortraitError(f"{path}: an expression needs a 'weights' object {{name: value}}")
    out = {}
    for shape, value in weights.items():
        if shape not in SHAPE_INDEX:
            raise PortraitError(f"{path}: unknown blendshape {shape!r}")
        if not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= 1:
            raise PortraitError(f"{path}: weight of {shape!r} must be a number in 0..1")
        out[shape] = float(value)
    return out
