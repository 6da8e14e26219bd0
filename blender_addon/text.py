"""Text for the sidebar (no bpy): labels do not wrap, so long lines are cut into several."""
from __future__ import annotations

import textwrap

CHAR_WIDTH_PX = 7.0  # an average character of Blender's UI font at scale 1
MIN_CHARS = 16
DEFAULT_CHARS = 40  # no region to measure (a headless call)


def wrap_for_width(text: str, width_px: float | None, ui_scale: float = 1.0) -> list[str]:
    """text cut into lines that fit a sidebar width_px wide, breaking at spaces (a word longer
    than a line, such as a path, is cut where the line ends)."""
    if width_px is None:
        chars = DEFAULT_CHARS
    else:
        chars = max(MIN_CHARS, int((width_px - 20 * ui_scale) / (CHAR_WIDTH_PX * ui_scale)))
    return textwrap.wrap(text, chars, break_on_hyphens=False) or [""]
