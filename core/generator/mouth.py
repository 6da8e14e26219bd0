"""The mouth interior, painted inside the target inner-lip contour when the lips part.

A closed mouth in the portrait has no pixels for the inside of the mouth, so the warp can only
smear the lip line. This paints a dark cavity with upper and lower teeth and a hint of tongue,
shaped in the mouth's own frame (u along the lips, v down across them) and coloured from the
portrait's own lips and eye whites, so it matches a painting as well as a photo.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..landmarks.topology import (INNER_LIP_LOWER, INNER_LIP_UPPER, OUTER_LIP_LOWER,
                                  OUTER_LIP_UPPER)
from .composite import Box, Layer, bounding_box, pixel_axes
from .palette import luminance, median_colour
from ..smoothing import smoothstep
from .region import Opening, between, opening

CAVITY_SHADE = 0.5        # the cavity is the lip colour this dark (darker still at the back)
TONGUE_SHADE = 0.95       # ... and the tongue this dark
TOOTH_ANGLE = 0.34        # radians of dental arch per tooth: teeth narrow towards the corners
UPPER_TEETH = 0.15        # visible height of the upper teeth, in mouth widths
LOWER_TEETH = 0.06        # ... of the lower teeth, once the jaw has dropped far enough
LOWER_TEETH_HIDDEN = 0.2  # the lower lip hides the lower teeth until the gap passes this
OPENING_RAMP = (0.03, 0.10)  # lips this far apart (in mouth widths) start / fully show the inside
TEETH_TINT = np.array([1.0, 0.97, 0.9])  # enamel: warmer than the eye whites it is measured on
TEETH_LIGHT = 1.1         # lit teeth are this much lighter than the lit skin or lips
TOOTH_NOTCH = 0.25        # share of a tooth's height its biting edge loses at its corners
TOOTH_ROUNDING = 0.3      # a tooth is this much darker at its sides than across its middle
LIP_SHADOW = 0.4          # the teeth are this much darker right under the lip
MIN_GAIN = 0.25           # pixels of extra opening below which the warp alone is right
INNER_LIPS = np.array(INNER_LIP_UPPER + INNER_LIP_LOWER)
# Real pixels for the interior: (target inner lips, box) -> None, or planar colours (3, h, w)
# and whether they have the target's exact shape (then they replace the portrait's own open
# mouth, stretched by the warp, too; a merely similar one only fills what the portrait lacks).
Interior = Callable[[Opening, Box], "tuple[np.ndarray, bool] | None"]


def inner_lips(landmarks: np.ndarray, face_right: np.ndarray) -> Opening:
    return opening(landmarks[INNER_LIP_UPPER, :2], landmarks[INNER_LIP_LOWER, :2], face_right)


def teeth_colour(sclera: np.ndarray, skin: np.ndarray, lip: np.ndarray) -> np.ndarray:
    """(3,) RGB of lit teeth: the eye whites' hue, as bright as clean enamel in that light.

    Measured sclera is often shaded by lids and lashes, so only its hue is kept; teeth are
    lighter than the lit skin and lips around them, within a plausible range.
    """
    hue = sclera / max(luminance(sclera), 1.0) * TEETH_TINT
    target = float(np.clip(TEETH_LIGHT * max(luminance(skin), luminance(lip)), 120.0, 230.0))
    return np.clip(hue * target, 0.0, 255.0).astype(np.float32)


@dataclass(frozen=True)
class Mouth:
    """The source portrait's mouth, measured once."""
    opening: Opening     # source inner lips
    lip: np.ndarray      # (3,) RGB
    teeth: np.ndarray    # (3,) RGB

    @classmethod
    def measure(cls, planes: np.ndarray, landmarks: np.ndarray, face_right: np.ndarray,
                sclera: np.ndarray, skin: np.ndarray) -> "Mouth":
        """Measure on a planar image (3, H, W) with landmarks (478, 3) in pixel indices;
        sclera, skin (3,) RGB."""
        inner = inner_lips(landmarks, face_right)
        outer = opening(landmarks[OUTER_LIP_UPPER, :2], landmarks[OUTER_LIP_LOWER, :2],
                        face_right)
        height, width = planes.shape[1:]
        box = bounding_box(landmarks[OUTER_LIP_UPPER + OUTER_LIP_LOWER, :2], 1, width, height)
        lip = None
        if box is not None:
            x, y = np.broadcast_arrays(*pixel_axes(box))
            band = (outer.inside(*outer.uv(x, y), 1.0) >= 1.0) & \
                   (inner.inside(*inner.uv(x, y), 1.0) <= 0.0)
            lip = median_colour(planes, x, y, band)
        if lip is None:
            lip = skin * np.array([1.0, 0.75, 0.75])
        return cls(inner, np.asarray(lip, np.float32), teeth_colour(sclera, skin, lip))

    def render(self, target: np.ndarray, face_right: np.ndarray, width: int,
               height: int, real: Interior | None = None) -> Layer | None:
        """The mouth interior for target landmarks (478, 3) (pixel indices), or None when the
        lips are no further apart than in the portrait. real: where the interior's pixels come
        from when it has them (references); synthesized otherwise."""
        frame = inner_lips(target, face_right)
        scale = frame.length / max(self.opening.length, 1e-6)
        gap, source_gap = float(frame.gap.max()), float(self.opening.gap.max()) * scale
        if gap - source_gap < MIN_GAIN:
            return None
        # Barely parted lips show little of the inside (and trackers part closed lips by a
        # pixel or two); the portrait's own open mouth shows while the opening fits it, unless
        # a real interior of the target's shape replaces its stretched pixels.
        start, full = OPENING_RAMP
        parted = min(max((gap / frame.length - start) / (full - start), 0.0), 1.0)
        if parted <= 0.0:
            return None
        box = bounding_box(target[INNER_LIPS, :2], 2, width, height)
        if box is None:
            return None
        lent = None if real is None else real(frame, box)
        colour, exact = (None, False) if lent is None else lent
        strength = parted if exact else parted * min((gap - source_gap) / (0.5 * gap), 1.0)
        if strength <= 0.0:
            return None
        u, v = frame.uv(*pixel_axes(box))
        top, bottom = frame.bounds(u)
        feather = max(0.75, 0.03 * frame.length)
        alpha = between(v, top, bottom, feather) * np.float32(strength)
        if colour is not None:
            return Layer(colour, alpha, box, lent=True)
        inside = alpha > 0  # about half the box: the rest needs no colour
        colour = np.zeros((3, *alpha.shape), np.float32)
        colour[:, inside] = self._interior(float(frame.length), u[inside], v[inside],
                                           top[inside], bottom[inside], feather)
        return Layer(colour, alpha, box)

    def _interior(self, width: float, u: np.ndarray, v: np.ndarray, top: np.ndarray,
                  bottom: np.ndarray, feather: float) -> np.ndarray:
        """Cavity, tongue and teeth colours (3, ...) at mouth coordinates u, v (...), with
        the lips' bounds top, bottom (...) there; width: the mouth's corner-to-corner length.

        Upper teeth hang from the upper lip; the lower teeth and the tongue rise from the lower
        lip and show only once the jaw has dropped past the upper teeth. Every part is a shade
        of the lip colour or of the teeth colour: the parts are painted over each other as two
        shade maps (...), coloured once at the end.
        """
        below_upper = v - top      # px under the upper lip
        above_lower = bottom - v   # px over the lower lip
        opening = np.maximum(bottom - top, 0.0)
        across = np.clip(2.0 * u - 1.0, -1.0, 1.0)
        arch = np.sqrt(np.maximum(1.0 - across * across, 0.0))  # the corners are further back
        # No teeth in the dark corners of the mouth; shorter towards them.
        dentition = np.sqrt(arch) * smoothstep((arch - 0.3) / 0.4)

        # Tooth boundaries every TOOTH_ANGLE of the arch, one on the midline: seen from the
        # front, the teeth get narrower towards the corners. `crown` is 0 on a boundary and 1
        # across the middle of a tooth, round like the tooth's front.
        angle = np.arcsin(across * 0.98)
        to_boundary = np.abs(angle / TOOTH_ANGLE - np.round(angle / TOOTH_ANGLE))  # 0 .. 0.5
        crown = np.sqrt(np.clip(4.0 * to_boundary * (1.0 - to_boundary), 0.0, 1.0))
        # Each tooth's biting edge is rounded at its corners: a notch between neighbours.
        edge = 1.0 - TOOTH_NOTCH * (1.0 - crown) ** 2
        upper_teeth = UPPER_TEETH * width * dentition * edge
        lower_teeth = np.clip(opening - upper_teeth - LOWER_TEETH_HIDDEN * width, 0.0,
                              LOWER_TEETH * width) * dentition * edge
        tongue_top = lower_teeth + 0.5 * np.maximum(opening - upper_teeth - lower_teeth, 0.0)

        # Cavity: darker towards the back of the mouth (just under the upper teeth) and the
        # corners.
        back = smoothstep(below_upper / np.maximum(opening, 1e-3))
        lip_shade = CAVITY_SHADE * (0.35 + 0.35 * back + 0.3 * arch)

        tongue = smoothstep((tongue_top - above_lower) / feather) * np.sqrt(arch)
        tongue_shade = TONGUE_SHADE * (0.6 + 0.4 * smoothstep(
            (tongue_top - above_lower) / np.maximum(0.5 * tongue_top, 1e-3)))
        lip_shade += (tongue_shade - lip_shade) * tongue

        # Each tooth is lit across its rounded front and darker into the gaps, and the
        # row darkens towards the corners, which are further back.
        tooth_shade = (0.5 + 0.5 * arch) * (1.0 - TOOTH_ROUNDING * (1.0 - crown))

        # Both rows of teeth at once, (2, ...): the lower row, then the upper one over it.
        shown = np.stack([lower_teeth, upper_teeth])
        depth = np.stack([above_lower, below_upper])
        cover = smoothstep((shown - depth) / feather) * smoothstep(shown / feather)
        lit = 1.0 - LIP_SHADOW * (1.0 - smoothstep(depth / (0.6 * shown + 1.0)))
        teeth_shade = np.zeros_like(lip_shade)
        for row_cover, row_lit in zip(cover, lit):
            lip_shade *= 1.0 - row_cover
            teeth_shade += (tooth_shade * row_lit - teeth_shade) * row_cover
        return self.lip[:, None] * lip_shade + self.teeth[:, None] * teeth_shade
