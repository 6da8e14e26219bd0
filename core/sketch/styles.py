"""Sketch styles: JSON files in presets/sketch_styles/."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PortraitError
from ..landmarks.topology import PARTS

STYLES_DIR = Path(__file__).resolve().parents[2] / "presets" / "sketch_styles"
Color = tuple[int, int, int]


@dataclass(frozen=True)
class SketchStyle:
    name: str
    background: Color
    line_width: float  # fraction of the image's shorter side
    parts: dict[str, Color]  # part name (topology.PARTS) -> line colour
    pupils: dict[str, Color] = field(default_factory=dict)  # "right_iris"/"left_iris" -> square colour
    pupil_size: float = 0.0  # square side, fraction of the shorter side


def list_styles() -> list[str]:
    return sorted(path.stem for path in STYLES_DIR.glob("*.json"))


def load_style(name_or_path: str) -> SketchStyle:
    path = Path(name_or_path)
    if not path.suffix:
        path = STYLES_DIR / f"{name_or_path}.json"
    if not path.is_file():
        raise PortraitError(f"unknown sketch style '{name_or_path}' (have: {', '.join(list_styles())})")
    try:
        data = json.loads(path.read_text())
        unknown = set(data["parts"]) - set(PARTS)
        if unknown:
            raise PortraitError(f"{path}: unknown parts {sorted(unknown)}")
        return SketchStyle(
            name=data["name"], background=tuple(data["background"]),
            line_width=float(data["line_width"]),
            parts={k: tuple(v) for k, v in data["parts"].items()},
            pupils={k: tuple(v) for k, v in data.get("pupils", {}).items()},
            pupil_size=float(data.get("pupil_size", 0.0)))
    except (KeyError, TypeError, ValueError) as exc:
        raise PortraitError(f"{path}: not a sketch style ({exc})") from None
