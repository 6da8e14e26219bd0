"""Sidebar text wrapping (blender_addon/text.py, no bpy): the missing-package hint must be
readable at the default sidebar width, not cut mid-word."""
from blender_addon.text import CHAR_WIDTH_PX, DEFAULT_CHARS, wrap_for_width

HINT = ('mediapipe: needed for finding the face when adding a portrait. install it into '
        'Blender\'s Python: /usr/lib/blender/python/bin/python3.11 -m pip install "mediapipe>=1.2"')


def test_the_hint_wraps_to_the_default_sidebar_width_and_keeps_every_word():
    width = 300  # Blender's sidebar at its default width, in pixels at UI scale 1
    lines = wrap_for_width(HINT, width)
    chars = int((width - 20) / CHAR_WIDTH_PX)
    assert len(lines) > 2 and all(len(line) <= chars for line in lines)
    assert "".join(lines).replace(" ", "") == HINT.replace(" ", "")
    # Words shorter than a line are never cut.
    for word in HINT.split():
        if len(word) <= chars:
            assert any(word in line.split() for line in lines), word


def test_a_larger_ui_scale_means_fewer_characters_a_line():
    assert len(wrap_for_width(HINT, 300, ui_scale=2.0)) > len(wrap_for_width(HINT, 300))


def test_without_a_region_the_lines_have_the_default_length():
    lines = wrap_for_width(HINT, None)
    assert max(len(line) for line in lines) <= DEFAULT_CHARS
    assert wrap_for_width("", 300) == [""]
