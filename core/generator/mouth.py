"""The mouth interior, painted inside the target inner-lip contour when the lips part.

A closed mouth in the portrait has no pixels for the inside of the mouth, so the warp can only
smear the lip line. This paints a dark cavity with a tongue and the two rows of teeth, shaped
in the mouth's own frame (u along the lips, v down across them) and coloured from the
portrait's own lips and eye whites, so it matches a painting as well as a photo. The teeth are
fixed in the head and the lips uncover them: lips drawn back (a smile, a wide "ee") bare them,
rounded ones ("oh") cover them, an upper lip raised far bares the gum above them, and the upper
lip shades what hangs right under it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..landmarks.topology import (INNER_LIP_LOWER, INNER_LIP_UPPER, OUTER_LIP_LOWER,
                                  OUTER_LIP_UPPER, UPPER_LIP_INNER_MIDDLE)
from ..retarget.pose import Similarity
from .composite import Box, Layer, bounding_box, pixel_axes
from .palette import luminance, median_colour
from ..smoothing import smoothstep
from .region import PROFILE_U, Opening, between, opening

CAVITY_SHADE = 0.5        # the cavity is the lip colour this dark (darker still at the back)
TONGUE_SHADE = 0.95       # ... and the tongue this dark
GUM_SHADE = 1.05          # ... and the gums this light
TOOTH_ANGLE = 0.34        # radians of dental arch per tooth: teeth narrow towards the corners
LOWER_TOOTH_ANGLE = 0.26  # ... per lower tooth (the lower incisors are narrower)
UPPER_TEETH = 0.17        # visible height of the bared upper teeth, in mouth widths
LOWER_TEETH = 0.09        # ... of the lower teeth over the lower lip, when the jaw drops
OVERBITE = 0.04           # the upper teeth overlap the lower ones this far (mouth widths)
SMILE_ARC = 0.04          # the rows' edges rise this far (mouth widths) towards the corners
# How far the lips are drawn back from the teeth (rest mouth widths: the upper lip's rise on
# the skull plus LIP_STRETCH times the mouth's widening): rounded lips ("oh") cover the teeth
# at LIPS_COVER, stretched or smiling ones bare them fully from LIPS_BARE on.
LIP_STRETCH = 0.5
LIPS_COVER, LIPS_BARE = -0.1, 0.05
GUM_RISE = 0.25           # an upper lip raised this far (rest mouth widths) bares the gum ...
GUM_HEIGHT = 0.08         # ... a band at most this tall (mouth widths) above the teeth,
GUM_PAPILLA = 0.5         # ... reaching this much further down between the teeth
OPENING_RAMP = (0.03, 0.10)  # lips this far apart (in mouth widths) start / fully show the inside
TEETH_TINT = np.array([1.0, 0.97, 0.9])  # enamel: warmer than the eye whites it is measured on
TEETH_LIGHT = 1.1         # lit teeth are this much lighter than the lit skin or lips
TOOTH_NOTCH = 0.25        # share of a tooth's height its biting edge loses at its corners
TOOTH_ROUNDING = 0.3      # a tooth is this much darker at its sides than across its middle
# Per tooth from the midline (central incisor, lateral, canine, premolars): its length as a
# share of the central incisor's, and its shade (the teeth further round the arch get less light).
TOOTH_LENGTH = np.array([1.0, 0.85, 0.95, 0.85, 0.8, 0.8], np.float32)
TOOTH_SHADE = np.array([1.0, 0.95, 0.88, 0.85, 0.8, 0.8], np.float32)
TRANSLUCENT_EDGE = 0.15   # the biting edge lets this much of the dark behind it through
LIP_SHADOW = 0.35         # the teeth and gums are this much darker right under the upper lip ...
LIP_SHADOW_REACH = 0.04   # ... lightening over this many mouth widths past the lip's edge
LOWER_TEETH_SHADE = 0.8   # the lower teeth stand back, in the upper teeth's shadow
ROW_SAMPLES = 2048        # samples along the lips: finer than a pixel up to 2048 px mouths
ROW_U = np.linspace(0.0, 1.0, ROW_SAMPLES)
MAX_INTERIOR_SAMPLES = 1 << 15  # above this many pixels, the interior is shaded coarser
MIN_GAIN = 0.25           # pixels of extra opening below which the warp alone is right
INNER_LIPS = np.array(INNER_LIP_UPPER + INNER_LIP_LOWER)
# Real pixels for the interior, of the target's exact shape (the driver's own frame): (target
# inner lips, box) -> None, or planar colours (3, h, w). They replace the portrait's own open
# mouth, stretched by the warp, too.
Interior = Callable[[Opening, Box], "np.ndarray | None"]


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


def _along_the_lips() -> np.ndarray:
    """(6, ROW_SAMPLES) float32: what the mouth's parts do along the lips, at u = 0 .. 1 from
    corner to corner, the same for every mouth (so each frame looks it up instead of computing
    it per pixel). The rows, in the order `Mouth._interior` unpacks them:

    - recede: 0 at the midline .. 1 at the corners, as the dental arch curves back;
    - upper length: the upper teeth's visible length, in UPPER_TEETH (shorter towards the
      corners, per tooth, notched between neighbours);
    - notch: 0 across a tooth's middle .. 1 between two upper teeth;
    - lower drop: how far the lower teeth's edge sits below its midline level, in LOWER_TEETH
      (notched, and out of sight towards the corners, where the lower arch has turned away);
    - upper lit, lower lit: the teeth's shade, each tooth lit across its rounded front and
      darker into the gaps, the rows darker towards the corners, which are further back.
    """
    across = 2.0 * ROW_U - 1.0
    arch = np.sqrt(np.maximum(1.0 - across * across, 0.0))
    # No teeth in the dark corners of the mouth; shorter towards them. The lower arch sits
    # inside the upper one: it shows over less of the width.
    upper_row = np.sqrt(arch) * smoothstep((arch - 0.3) / 0.4)
    lower_row = smoothstep((arch - 0.45) / 0.4)
    # Tooth boundaries every TOOTH_ANGLE of the arch (LOWER_TOOTH_ANGLE below), one on the
    # midline: seen from the front, the teeth get narrower towards the corners. `crown` is 0
    # on a boundary and 1 across the middle of a tooth, round like the tooth's front; `rank`
    # counts the teeth from the midline (0: the central incisors).
    angle = np.arcsin(across * 0.98)
    crown, lower_crown = (
        np.sqrt(np.clip(4.0 * d * (1.0 - d), 0.0, 1.0))
        for d in (np.abs(p - np.round(p)) for p in (angle / TOOTH_ANGLE,
                                                    angle / LOWER_TOOTH_ANGLE)))
    rank = np.minimum(np.abs(np.floor(angle / TOOTH_ANGLE) + 0.5) - 0.5,
                      len(TOOTH_LENGTH) - 1).astype(np.intp)
    # Each tooth's biting edge is rounded at its corners: a notch between neighbours.
    notch, lower_notch = (1.0 - crown) ** 2, (1.0 - lower_crown) ** 2
    upper_length = upper_row * TOOTH_LENGTH[rank] * (1.0 - TOOTH_NOTCH * notch)
    lower_drop = TOOTH_NOTCH * lower_notch + 2.0 * (1.0 - lower_row)
    lit = (0.5 + 0.5 * arch) * TOOTH_SHADE[rank]
    upper_lit = lit * (1.0 - TOOTH_ROUNDING * (1.0 - crown))
    lower_lit = LOWER_TEETH_SHADE * lit * (1.0 - TOOTH_ROUNDING * (1.0 - lower_crown))
    return np.stack([1.0 - arch, upper_length, notch, lower_drop, upper_lit,
                     lower_lit]).astype(np.float32)


ALONG_THE_LIPS = _along_the_lips()


@dataclass(frozen=True)
class Mouth:
    """The source portrait's mouth, measured once."""
    opening: Opening     # source inner lips
    lip: np.ndarray      # (3,) RGB
    teeth: np.ndarray    # (3,) RGB
    upper_lip: np.ndarray  # (1, 3) the upper lip's inner edge on the midline (pixel indices)

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
        return cls(inner, np.asarray(lip, np.float32), teeth_colour(sclera, skin, lip),
                   landmarks[[UPPER_LIP_INNER_MIDDLE]].astype(np.float64))

    def drawn_back(self, target: np.ndarray, frame: Opening,
                   motion: Similarity) -> tuple[float, float]:
        """How far the target lips are drawn back from the teeth, and how far the upper lip
        rose, in rest mouth widths (the portrait's, moved with the head), against the
        portrait. target (478, 3) landmarks, frame its inner lips, motion the head's pose from
        the portrait to the target.

        The teeth are fixed to the skull: the upper lip's rise is measured against where the
        head carries the portrait's lip. A smile raises and widens the lips, baring the teeth;
        rounded lips ("oh") narrow and cover them.
        """
        rest = max(self.opening.length * motion.scale, 1e-6)
        carried = motion.apply(self.upper_lip)[0, :2]
        rise = float(np.dot(carried - target[UPPER_LIP_INNER_MIDDLE, :2], frame.axis_v)) / rest
        return rise + LIP_STRETCH * (frame.length / rest - 1.0), rise

    def render(self, target: np.ndarray, face_right: np.ndarray, motion: Similarity,
               width: int, height: int, real: Interior | None = None) -> Layer | None:
        """The mouth interior for target landmarks (478, 3) (pixel indices), or None when the
        lips are no further apart than in the portrait. motion: the head's pose from the
        portrait to the target; real: where the interior's pixels come from when it has them
        (the driver's frame); synthesized otherwise."""
        frame = inner_lips(target, face_right)
        scale = frame.length / max(self.opening.length, 1e-6)
        gap, source_gap = float(frame.gap.max()), float(self.opening.gap.max()) * scale
        if gap - source_gap < MIN_GAIN:
            return None
        # Barely parted lips show little of the inside (and trackers part closed lips by a
        # pixel or two); the portrait's own open mouth shows while the opening fits it, unless
        # a real interior replaces its stretched pixels.
        start, full = OPENING_RAMP
        parted = min(max((gap / frame.length - start) / (full - start), 0.0), 1.0)
        if parted <= 0.0:
            return None
        box = bounding_box(target[INNER_LIPS, :2], 2, width, height)
        if box is None:
            return None
        colour = None if real is None else real(frame, box)
        strength = parted if colour is not None else \
            parted * min((gap - source_gap) / (0.5 * gap), 1.0)
        if strength <= 0.0:
            return None
        u, v = frame.uv(*pixel_axes(box))
        # Everything along the lips is looked up at the nearest of ROW_SAMPLES: the lips'
        # bounds (finer than a pixel, and cheaper than interpolating them at every pixel) and
        # the teeth.
        along = np.minimum(np.maximum(u * (ROW_SAMPLES - 1) + 0.5, 0),
                           ROW_SAMPLES - 1).astype(np.intp)
        top, bottom = (np.take(np.interp(ROW_U, PROFILE_U, bound).astype(np.float32), along)
                       for bound in (frame.top, frame.bottom))
        feather = max(0.75, 0.03 * frame.length)
        alpha = between(v, top, bottom, feather) * np.float32(strength)
        if colour is not None:
            return Layer(colour, alpha, box, lent=True)
        inside = alpha > 0  # about half the box: the rest needs no colour
        colour = np.zeros((3, *alpha.shape), np.float32)
        # Where the teeth are, in v at the midline: the central incisors' gum line and biting
        # edge hang from the upper lip, the lower incisors' edge rises from the lower lip up to
        # behind the upper teeth (the rows meet while the jaw is barely open).
        drawn, rise = self.drawn_back(target, frame, motion)
        bared = float(smoothstep((drawn - LIPS_COVER) / (LIPS_BARE - LIPS_COVER)))
        gum = min(max(rise - GUM_RISE, 0.0) * self.opening.length * motion.scale,
                  GUM_HEIGHT * frame.length)
        crown = UPPER_TEETH * frame.length
        lip_top, lip_bottom = (float(bound) for bound in frame.bounds(np.float32(0.5)))
        gum_line = lip_top + gum - crown * (1.0 - bared)
        lower_edge = max(gum_line + crown - OVERBITE * frame.length,
                         lip_bottom - LOWER_TEETH * frame.length * bared)
        step = math.ceil(math.sqrt(alpha.size / MAX_INTERIOR_SAMPLES)) // 2 * 2 + 1  # odd
        if step == 1:
            colour[:, inside] = self._interior(float(frame.length), along[inside], v[inside],
                                               top[inside], bottom[inside], feather, gum,
                                               gum_line, lower_edge)
            return Layer(colour, alpha, box)
        # A large mouth's interior is shaded on every step-th pixel and upsampled: its shading
        # is smooth at that scale (a tooth is tens of samples wide), while the opening's edge
        # (alpha) stays exact at every pixel.
        coarse = np.s_[step // 2::step, step // 2::step]
        rows, cols = v[coarse].shape
        shades = self._interior(float(frame.length), *(values[coarse].ravel() for values in (
            along, v, top, bottom)), feather, gum, gum_line, lower_edge)
        colour[:] = upsample(shades.reshape(3, rows, cols), step, alpha.shape)
        return Layer(colour, alpha, box)

    def _interior(self, width: float, along: np.ndarray, v: np.ndarray, top: np.ndarray,
                  bottom: np.ndarray, feather: float, gum: float, gum_line: float,
                  lower_edge: float) -> np.ndarray:
        """Cavity, tongue, gum and teeth colours (3, ...) at mouth coordinates v (...) and u
        (given as the index `along` (...) of its nearest sample in ROW_U), with the lips'
        bounds top, bottom (...) there; width: the mouth's corner-to-corner length.
        At the midline, gum_line is the v where the upper teeth leave the gum, gum how much of
        the gum above it shows (pixels), lower_edge the v of the lower teeth's biting edge.

        The rows of teeth are fixed in the head: from the front their edges arch up towards
        the corners, and the lips show what lies between them, so a lip curving up hides the
        lower teeth's sides and a narrow opening shows the rows meeting. The upper lip shades
        what hangs right under it; the tongue rises from behind the lower teeth into the dark
        cavity. Every part is a shade of the lip colour or of the teeth colour: the parts are
        painted over each other as two shade maps (...), coloured once at the end.
        """
        recede, upper_length, notch, lower_drop, upper_lit, lower_lit = np.take(
            ALONG_THE_LIPS, along, axis=1)
        rising = SMILE_ARC * width * recede  # both rows' edges rise towards the corners
        gum_here = gum_line - rising
        upper_end = gum_here + UPPER_TEETH * width * upper_length
        lower_here = lower_edge - rising
        lower_top = lower_here + LOWER_TEETH * width * lower_drop  # each tooth's edge
        jaw = max(lower_edge - gum_line - UPPER_TEETH * width, 0.0)  # the rows' gap, midline
        below_upper = v - top      # px under the upper lip

        # Cavity: darker towards the back of the mouth (just under the upper teeth) and the
        # corners.
        back = smoothstep(below_upper / np.maximum(bottom - top, 1e-3))
        lip_shade = CAVITY_SHADE * (0.65 + 0.35 * back - 0.3 * recede)
        # The tongue rises behind the lower teeth, highest in the middle, its top soft as it
        # curves away.
        tongue_height = (0.6 * jaw) * (1.0 - recede)
        on_tongue = v - lower_here + tongue_height
        tongue = smoothstep(on_tongue / (feather + 0.3 * tongue_height))
        tongue_shade = TONGUE_SHADE * (0.7 + 0.3 * np.minimum(on_tongue / (tongue_height + 1.0),
                                                              1.0))
        lip_shade += (tongue_shade - lip_shade) * tongue

        # The upper lip shades what hangs right under it, the gum and the upper teeth; the
        # upper teeth's biting edge is translucent.
        shadow = 1.0 - LIP_SHADOW * (1.0 - smoothstep(below_upper / (
            feather + LIP_SHADOW_REACH * width + 1.0)))
        biting = smoothstep((v - upper_end) / (0.25 * UPPER_TEETH * width + 1.0) + 1.0)
        upper_shade = upper_lit * shadow * (1.0 - TRANSLUCENT_EDGE * biting)
        # Painted back to front: the lower teeth, the upper teeth, the gum.
        cover = smoothstep((v - lower_top) / feather)
        lip_shade *= 1.0 - cover
        teeth_shade = lower_lit * cover
        cover = smoothstep((upper_end - v) / feather) * smoothstep((upper_end - top) / feather)
        lip_shade *= 1.0 - cover
        teeth_shade += (upper_shade - teeth_shade) * cover
        if gum > 0.0:
            gums = gum_here + GUM_PAPILLA * gum * notch  # reaching down between the teeth
            cover = smoothstep((gums - v) / feather) * np.float32(smoothstep(gum / feather))
            teeth_shade *= 1.0 - cover
            lip_shade += (GUM_SHADE * shadow - lip_shade) * cover
        return self.lip[:, None] * lip_shade + self.teeth[:, None] * teeth_shade


def upsample(coarse: np.ndarray, step: int, shape: tuple[int, int]) -> np.ndarray:
    """Values (C, h, w) sampled at every step-th pixel (step odd; sample k on pixel
    step // 2 + k * step) of a (H, W) grid, bilinearly upsampled to it: (C, H, W) float32."""
    import cv2

    height, width = shape
    channels, rows, cols = coarse.shape
    # cv2.resize by a whole odd factor puts sample k on output pixel k * step + step // 2.
    planes = cv2.resize(np.ascontiguousarray(coarse.transpose(1, 2, 0)),
                        (cols * step, rows * step), interpolation=cv2.INTER_LINEAR)
    planes = planes.reshape(rows * step, cols * step, channels)[:height, :width]
    missing = ((0, height - planes.shape[0]), (0, width - planes.shape[1]), (0, 0))
    return np.pad(planes, missing, mode="edge").transpose(2, 0, 1)
