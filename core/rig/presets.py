"""Where the motion and expression presets live: presets/ beside core/ (in the repository and
in the installed extension, whose zip carries presets/ at its root)."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import PortraitError

PRESETS_DIR = Path(__file__).resolve().parents[2] / "presets"


def preset_names(kind: str) -> list[str]:
    """Sorted names of the presets of one kind ("motions" or "expressions")."""
    return sorted(path.stem for path in (PRESETS_DIR / kind).glob("*.json"))


def resolve_preset(kind: str, name_or_path: str | os.PathLike) -> Path:
    """A preset's file from its name, or the given path to a JSON file."""
    text = str(name_or_path)
    path = Path(text)
    if path.suffix.lower() == ".json" or os.sep in text or (os.altsep and os.altsep in text):
        if not path.is_file():
            raise PortraitError(f"{path}: no such file")
        return path
    preset = PRESETS_DIR / kind / f"{text}.json"
    if not preset.is_file():
        known = ", ".join(preset_names(kind)) or "none installed"
        raise PortraitError(f"unknown {kind[:-1]} preset {text!r} (known: {known})")
    return preset
