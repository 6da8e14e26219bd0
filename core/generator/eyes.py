"""Eyes: the eyeball seen through the target lids, with the iris moved for the gaze.

The warp alone squeezes the iris when the lids close and cannot move the iris inside a still
eye. Here the eyeball follows the eye corners rigidly (the lids slide over it, so a closing
lid covers the iris instead of squashing it), the iris disc is moved to the target iris
centre, and the sclera is filled where the iris was. The lid itself comes from the warp, which
`Eye.lid_controls` steers so a blink stretches lid skin, not the lashes and iris, over the eye.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..landmarks.topology import (LEFT_EYE_LOWER, LEFT_EYE_UNDER_LID, LEFT_EYE_UPPER, LEFT_IRIS,
                                  LEFT_IRIS_CENTER, RIGHT_EYE_LOWER, RIGHT_EYE_UNDER_LID,
                                  RIGHT_EYE_UPPER, RIGHT_IRIS, RIGHT_IRIS_CENTER)
from .composite import Box, Layer, bounding_box, pixel_axes, sample
from .palette import luminance, median_colour
from ..smoothing import smoothstep
from .region import Opening, between, opening


@dataclass(frozen=True)
class EyeParts:
    upper: list[int]     # upper lid margin, corner to corner
    lower: list[int]     # lower lid margin, corner to corner
    iris_centre: int
    iris_edge: list[int]
    lid_fold: list[int]  # the ring just above the upper margin (MediaPipe "EyeUpper1")
    lid_skin: list[int]  # the next ring up ("EyeUpper2"), under the brow
    under_lid: list[int]  # the lower lid's skin

    @cached_property
    def lids(self) -> np.ndarray:
        """Landmarks of both lid margins, upper then lower."""
        return np.array(self.upper + self.lower)

    @cached_property
    def tracked(self) -> np.ndarray:
        """Landmarks of both lid margins and the iris centre: what shows an eye's own motion."""
        return np.append(self.lids, self.iris_centre)

    @cached_property
    def lid_rings(self) -> np.ndarray:
        """(3, 7) landmarks: the upper margin between the corners, the fold ring, the skin
        ring."""
        return np.array([self.upper[1:-1], self.lid_fold, self.lid_skin])


RIGHT_EYE = EyeParts(RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_IRIS_CENTER, RIGHT_IRIS[:-1],
                     [247, 30, 29, 27, 28, 56, 190], [113, 225, 224, 223, 222, 221, 189],
                     RIGHT_EYE_UNDER_LID)
LEFT_EYE = EyeParts(LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_IRIS_CENTER, LEFT_IRIS[:-1],
                    [467, 260, 259, 257, 258, 286, 414], [342, 445, 444, 443, 442, 441, 413],
                    LEFT_EYE_UNDER_LID)
EYE_PARTS = (RIGHT_EYE, LEFT_EYE)

LASH_SHARE = 0.4  # the lash band: this share of the way from the upper margin to the fold ring
# Least share of the upper margin's closing taken by the fold ring and by the skin ring.
LID_FOLLOW = np.array([[0.9], [0.5]])
STILL = 1e-3      # pixels: lid ring motions below this are none (keeps the rest bit-exact)
RESHAPED = 0.25   # pixels: an eye whose lids and iris move less than this relative to its
                  # corners only rides with the face, which the warp alone renders
FOLDING = 0.5     # an eye opened less than this share of the portrait's opening folds the warp
SCLERA_FLOOR = 0.8  # eye whites are at least this share of the eye's skin's luminance
WHITE = np.array([1.0, 0.96, 0.92])


def _whiten(measured: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """A measured eye-white colour (3,), pulled towards an off-white when it is implausibly
    dark for the light on the skin (3,) around the eye: small eyes leave few white pixels, and
    lid shadow and lashes swamp them."""
    floor = SCLERA_FLOOR * luminance(skin)
    darkness = np.clip((floor - luminance(measured)) / (0.5 * floor), 0.0, 1.0)
    white = WHITE * floor / luminance(WHITE)
    return measured + (white - measured) * darkness


def eye_opening(landmarks: np.ndarray, parts: EyeParts, face_right: np.ndarray) -> Opening:
    return opening(landmarks[parts.upper, :2], landmarks[parts.lower, :2], face_right)


def eye_similarity(source: Opening, target: Opening) -> tuple[complex, complex, complex]:
    """(a_t, a_s, k): target position p maps to the source eye at a_s + (p - a_t) * k, with
    complex numbers x + iy — the similarity taking the target corners onto the source's."""
    a_s, b_s = source.corners
    a_t, b_t = target.corners
    return a_t, a_s, (b_s - a_s) / (b_t - a_t) if b_t != a_t else 1.0


def _apply(a_t: complex, a_s: complex, k: complex, x: np.ndarray,
           y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The similarity p -> a_s + (p - a_t) * k on positions x, y (broadcastable float32)."""
    x, y = x - np.float32(a_t.real), y - np.float32(a_t.imag)
    kr, ki = np.float32(k.real), np.float32(k.imag)
    return x * kr - y * ki + np.float32(a_s.real), x * ki + y * kr + np.float32(a_s.imag)


@dataclass(frozen=True)
class Eye:
    """One eye of the source portrait, measured once."""
    parts: EyeParts
    opening: Opening          # source lids
    iris_centre: np.ndarray   # (2,) pixel indices
    iris_radius: float        # pixels
    sclera: np.ndarray        # (2, 3) RGB on the face-left and face-right side of the iris
    white: np.ndarray         # (3,) RGB: the eye white in the face's light (the teeth's hue)
    iris_colour: np.ndarray   # (3,) RGB
    rest_rings: np.ndarray    # (3, 7) complex x + iy of parts.lid_rings in the source

    @classmethod
    def measure(cls, planes: np.ndarray, landmarks: np.ndarray, parts: EyeParts,
                face_right: np.ndarray, skin: np.ndarray) -> "Eye":
        """Measure an eye of a planar image (3, H, W) with landmarks (478, 3) in pixel
        indices."""
        frame = eye_opening(landmarks, parts, face_right)
        centre = landmarks[parts.iris_centre, :2].astype(np.float64)
        radius = float(np.linalg.norm(landmarks[parts.iris_edge, :2] - centre, axis=1).mean())
        height, width = planes.shape[1:]
        box = bounding_box(landmarks[parts.lids, :2], 1, width, height)
        sclera, iris_colour = [None, None], None
        if box is not None:
            x, y = np.broadcast_arrays(*pixel_axes(box))
            u, v = frame.uv(x, y)
            # well inside the lids: away from the lashes and their shadow
            deep = frame.inside(u, v, max(1.0, 0.2 * float(frame.gap.max()))) >= 1.0
            distance = np.hypot(x - np.float32(centre[0]), y - np.float32(centre[1]))
            beside_iris = deep & (distance > 1.25 * radius)
            iris_u = frame.uv(*centre)[0]
            # lashes and their shadow reach into the white: its lighter half is the white
            sclera = [median_colour(planes, x, y, beside_iris & (u < iris_u), 0.5),
                      median_colour(planes, x, y, beside_iris & (u >= iris_u), 0.5)]
            iris_colour = median_colour(planes, x, y, deep & (distance < 0.7 * radius))
        fallback = sclera[0] if sclera[0] is not None else sclera[1]
        if fallback is None:  # eyes shut in the portrait: an off-white tinted by the skin
            fallback = 0.55 * 235.0 + 0.45 * skin
        measured = [s if s is not None else fallback for s in sclera]
        # The white painted in the eye is judged against the light on the eye: the lower
        # lid's skin, which a shaded eye socket (common in paintings) keeps darker than the
        # cheeks and forehead.
        lid_skin = np.median(sample(planes, *landmarks[parts.under_lid, :2].T), axis=1)
        light = lid_skin if luminance(lid_skin) < luminance(skin) else skin
        sclera = np.stack([_whiten(s, light) for s in measured])
        white = np.mean([_whiten(s, skin) for s in measured], axis=0)
        if iris_colour is None:
            iris_colour = 0.3 * skin
        rings = landmarks[parts.lid_rings, 0] + 1j * landmarks[parts.lid_rings, 1]
        return cls(parts, frame, centre, radius, sclera.astype(np.float32),
                   white.astype(np.float32), np.asarray(iris_colour, np.float32), rings)

    @cached_property
    def _lash_reach(self) -> np.ndarray:
        """(7,) complex: from the upper margin to the lash band, in the source."""
        return LASH_SHARE * (self.rest_rings[1] - self.rest_rings[0])

    @cached_property
    def _iris_centre32(self) -> tuple[np.float32, np.float32]:
        return tuple(self.iris_centre.astype(np.float32))

    @cached_property
    def iris_u(self) -> float:
        """u of the source iris centre in the source lids' frame."""
        return float(self.opening.uv(*self.iris_centre)[0])

    def _eye_white(self, u: np.ndarray, v: np.ndarray, edge: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where the portrait's own eye white is sampled for source positions u, v (K,) in the
        source lids' frame, where the iris used to be: x, y (K,) float32 mirrored across the
        iris' edge along the lid axis, so the same row gives the same lid shadow and the
        white's own texture; and how much of that texture to take (K,), fading where the
        mirror leaves the white (a corner or a lid is near)."""
        opening = self.opening
        reach = (2 * self.iris_radius + edge) / opening.length
        offset = u - np.float32(self.iris_u)
        side = np.where(offset < 0, np.float32(-1), np.float32(1))
        mirrored = self.iris_u + side * (reach - np.abs(offset))
        # Past a corner, the white on the other side of the iris.
        other = self.iris_u - side * (reach - np.abs(offset))
        mirrored = np.where((mirrored < 0.05) | (mirrored > 0.95), other, mirrored)
        depth = opening.inside(mirrored, v, max(1.0, 0.15 * float(opening.gap.max())))
        origin_x, origin_y = opening.origin
        along = mirrored * np.float32(opening.length)
        x = origin_x + along * opening.axis_u[0] + v * opening.axis_v[0]
        y = origin_y + along * opening.axis_u[1] + v * opening.axis_v[1]
        return x.astype(np.float32), y.astype(np.float32), depth

    @property
    def lash_band(self) -> np.ndarray:
        """(7, 2) source positions of the lash band's control points (see `lid_controls`)."""
        band = self.rest_rings[0] + self._lash_reach
        return np.column_stack([band.real, band.imag])

    def lid_controls(self, target: np.ndarray, frame: Opening,
                     face_right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """How the upper lid steers the warp: target (478, 3) with the lid rings moved, and
        the target points (7, 3) of the lash band (its source points are `lash_band`). frame
        is this eye's target opening, face_right the target face's.

        A closing lid unfolds skin hidden in the fold, which the portrait does not show, so
        the warp must stretch what it has. The band just above the margin is the wrong thing
        to stretch: it holds the lashes and, as trackers often set the margin a little low,
        the top of the iris, which would smear dark over the closed eye. So the fold ring
        follows most of the margin's closing and the ring under the brow half of it (at least
        LID_FOLLOW, beyond the eye's own motion): the stretch lands on the lid skin above the
        fold. A thin band above the margin rides with it unstretched, so the lashes keep their
        thickness.
        """
        a_t, a_s, k = eye_similarity(self.opening, frame)
        rings = self.parts.lid_rings
        moved = target[rings, 0] + 1j * target[rings, 1]  # (3, 7) x + iy
        carried = a_t + (self.rest_rings - a_s) / k  # where the rings go with the eye alone
        down = complex(-face_right[1], face_right[0])
        closing = ((moved - carried) * down.conjugate()).real  # (3, 7) beyond that, downwards
        extra = LID_FOLLOW * closing[0] - closing[1:]
        lift = np.where(extra > STILL, extra, 0.0) * down
        target = target.copy()
        target[rings[1:], 0] += lift.real
        target[rings[1:], 1] += lift.imag

        lash = moved[0] + self._lash_reach / k
        return target, np.column_stack([lash.real, lash.imag, target[rings[0], 2]])

    def reshaped(self, source: np.ndarray, target: np.ndarray, frame: Opening) -> bool:
        """Whether the lids or the iris move relative to the eye corners (more than RESHAPED),
        rather than only riding along with the face. source, target (478, 3) landmarks in
        pixel indices; frame this eye's target opening."""
        a_t, a_s, k = eye_similarity(self.opening, frame)
        points = self.parts.tracked
        carried = a_t + (source[points, 0] + 1j * source[points, 1] - a_s) / k
        return np.abs(target[points, 0] + 1j * target[points, 1] - carried).max() >= RESHAPED

    def fold_box(self, source: np.ndarray, target: np.ndarray, frame: Opening, reach: int,
                 width: int, height: int) -> Box | None:
        """The box (x0, y0, x1, y1) the warp must sample finely while the lids close,
        or None when the eye is open wide enough or only rides along with the face.

        A closing lid folds the warp's backward map: across the target margin it jumps from
        the lid to the lower lid, skipping the whole opening. The warp's lattice interpolates
        between nodes `reach` pixels apart, so across such a jump it would paint everything
        skipped, the iris above all, squeezed into a band one lattice cell wide over the lid.
        The box holds the lid rings and lower lid, grown by `reach`, as far as that band goes.
        """
        # Opened at least half as wide as in the portrait (relative to the eye's length), the
        # map is only compressed across the opening, which the lattice carries.
        opened = frame.ratio / max(self.opening.ratio, 1e-6)
        if opened >= FOLDING or not self.reshaped(source, target, frame):
            return None
        rings = target[np.concatenate([self.parts.lids, self.parts.lid_rings.ravel()]), :2]
        return bounding_box(rings, reach, width, height)

    def render(self, planes: np.ndarray, source: np.ndarray, target: np.ndarray,
               frame: Opening) -> Layer | None:
        """The eyeball inside the target lids, or None when the warp alone is right: the eye
        keeps its shape and gaze (it only rides along with the face), or it is shut.

        planes (3, H, W) the portrait; source, target (478, 3) landmarks in pixel indices;
        frame this eye's target opening.
        """
        if not self.reshaped(source, target, frame) or frame.gap.max() < 0.05:
            return None
        a_t, a_s, k = eye_similarity(self.opening, frame)
        height, width = planes.shape[1:]
        box = bounding_box(target[self.parts.lids, :2], 2, width, height)
        if box is None:
            return None
        x, y = pixel_axes(box)
        alpha = frame.inside(*frame.uv(x, y), max(0.75, 0.035 * frame.length))
        inside = alpha > 0  # between the lids: a third of the box, or nothing in a blink
        if not inside.any():
            return None

        eyeball_x, eyeball_y = (at[inside] for at in _apply(a_t, a_s, k, x, y))
        moved = a_s + (complex(*target[self.parts.iris_centre, :2]) - a_t) * k
        shift = np.array([moved.real, moved.imag], np.float32) - self.iris_centre
        colour = np.zeros((3, *alpha.shape), np.float32)
        if np.hypot(*shift) < 0.05:
            colour[:, inside] = sample(planes, eyeball_x, eyeball_y)
        else:
            colour[:, inside] = self._move_iris(planes, eyeball_x, eyeball_y,
                                                shift.astype(np.float32))
        return Layer(colour, alpha, box)

    def _move_iris(self, planes: np.ndarray, x: np.ndarray, y: np.ndarray,
                   shift: np.ndarray) -> np.ndarray:
        """Eyeball colours (3, K) at source positions x, y (K,), the iris moved by shift (2,)."""
        # All at once, (3, K): the eyeball at x, y, the iris it now shows, from shift back,
        # and the eye white that fills where the iris was. On regions this small numpy's cost
        # is per call, not per pixel.
        edge = max(0.6, 0.1 * self.iris_radius)
        at_x, at_y = np.stack([x, x - shift[0]]), np.stack([y, y - shift[1]])
        u, v = self.opening.uv(at_x, at_y)
        white_x, white_y, white_depth = self._eye_white(u[0], v[0], edge)
        colours = sample(planes, np.concatenate([at_x, white_x[None]]),
                         np.concatenate([at_y, white_y[None]]))  # (3, 3, K)
        top, bottom = self.opening.bounds(u)
        cx, cy = self._iris_centre32
        distance = np.hypot(at_x - cx, at_y - cy)

        # The soft edges, in one pass: the iris texture hidden under the source lids (where the
        # iris' own colour stands in), the iris disc where it was and where it is now, the
        # sclera's side of it and the upper lid's shadow on it.
        half = self.iris_radius / self.opening.length
        visible, was_iris, now_iris, side, shadow = smoothstep(np.stack([
            np.minimum(v[1] - top[1], bottom[1] - v[1]) / np.float32(0.75),
            (self.iris_radius + edge - distance[0]) / edge,
            (self.iris_radius - distance[1]) / edge + 0.5,
            (u[0] - (self.iris_u - half)) / (2 * half),
            (v[0] - top[0]) / np.maximum(0.5 * (bottom[0] - top[0]), 1e-3)]))
        iris_colour = self.iris_colour[:, None]
        iris = iris_colour + (colours[:, 1] - iris_colour) * visible
        # Sclera: the colours beside the iris on either side, blended across where it was,
        # under the upper lid's shadow; textured with the portrait's own eye white.
        left, right = self.sclera[0][:, None], self.sclera[1][:, None]
        sclera = (left + (right - left) * side) * (0.75 + 0.25 * shadow)
        sclera = sclera + (colours[:, 2] - sclera) * white_depth
        eyeball = colours[:, 0]
        eyeball = eyeball + (sclera - eyeball) * was_iris
        return eyeball + (iris - eyeball) * now_iris
