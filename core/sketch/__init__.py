"""Stage 2: landmarks -> landmark sketch (coloured polylines per facial part), as in the paper."""
from .draw import draw_sketch
from .styles import SketchStyle, list_styles, load_style

__all__ = ["draw_sketch", "SketchStyle", "list_styles", "load_style"]
