"""Eyes: the eyeball seen through the target lids, with the iris moved for the gaze.

The warp alone squeezes the iris when the lids close and cannot move the iris inside a still
eye. Here the eyeball follows the eye corners rigidly (the lids slide over it, so a closing
lid covers the iris instead of squashing it), the iris disc is moved to the target iris
centre, and the sclera is filled where the iris was. The lid itself comes from the warp, which
`Eye.lid_controls` steers so a blink stretches lid skin, not the lashes and iris, over the eye.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..landmarks.topology import (LEFT_EYE_LOWER, LEFT_EYE_UPPER, LEFT_IRIS, LEFT_IRIS_CENTER,
                                  RIGHT_EYE_LOWER, RIGHT_EYE_UPPER, RIGHT_IRIS,
                                  RIGHT_IRIS_CENTER)
from .composite import Layer, bounding_box, pixel_grid, sample
from .palette import luminance, median_colour
from .region import Opening, opening, smoothstep


@dataclass(frozen=True)
class EyeParts:
    upper: list[int]     # upper lid margin, corner to corner
    lower: list[int]     # lower lid margin, corner to corner
    iris_centre: int
    iris_edge: list[int]
    lid_fold: list[int]  # the ring just above the upper margin (MediaPipe "EyeUpper1")
    lid_skin: list[int]  # the next ring up ("EyeUpper2"), under the brow


RIGHT_EYE = EyeParts(RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_IRIS_CENTER, RIGHT_IRIS[:-1],
                     [247, 30, 29, 27, 28, 56, 190], [113, 225, 224, 223, 222, 221, 189])
LEFT_EYE = EyeParts(LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_IRIS_CENTER, LEFT_IRIS[:-1],
                    [467, 260, 259, 257, 258, 286, 414], [342, 445, 444, 443, 442, 441, 413])
EYES = (RIGHT_EYE, LEFT_EYE)
IRIS_POINTS = sorted({RIGHT_IRIS_CENTER, *RIGHT_IRIS, LEFT_IRIS_CENTER, *LEFT_IRIS})

LASH_SHARE = 0.4  # the lash band: this share of the way from the upper margin to the fold ring
LID_FOLLOW = (0.9, 0.5)  # least share of the margin's closing taken by the fold and skin rings
STILL = 1e-3      # pixels: lid ring motions below this are none (keeps the rest bit-exact)
RESHAPED = 0.25   # pixels: an eye whose lids and iris move less than this relative to its
                  # corners only rides with the face, which the warp alone renders
SCLERA_FLOOR = 0.8  # eye whites are at least this share of the skin's luminance
WHITE = np.array([1.0, 0.96, 0.92])


def _whiten(measured: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """A measured eye-white colour (3,), pulled towards an off-white when it is implausibly
    dark: small eyes leave few white pixels, and lid shadow and lashes swamp them."""
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


def _apply(a_t: complex, a_s: complex, k: complex, xy: np.ndarray) -> np.ndarray:
    """The similarity p -> a_s + (p - a_t) * k on positions (..., 2)."""
    x, y = xy[..., 0] - np.float32(a_t.real), xy[..., 1] - np.float32(a_t.imag)
    kr, ki = np.float32(k.real), np.float32(k.imag)
    return np.stack([x * kr - y * ki + np.float32(a_s.real),
                     x * ki + y * kr + np.float32(a_s.imag)], axis=-1)


@dataclass(frozen=True)
class Eye:
    """One eye of the source portrait, measured once."""
    parts: EyeParts
    opening: Opening          # source lids
    iris_centre: np.ndarray   # (2,) pixel indices
    iris_radius: float        # pixels
    sclera: np.ndarray        # (2, 3) RGB on the face-left and face-right side of the iris
    iris_colour: np.ndarray   # (3,) RGB

    @classmethod
    def measure(cls, planes: np.ndarray, landmarks: np.ndarray, parts: EyeParts,
                face_right: np.ndarray, skin: np.ndarray) -> "Eye":
        """Measure an eye of a planar image (3, H, W) with landmarks (478, 3) in pixel
        indices."""
        frame = eye_opening(landmarks, parts, face_right)
        centre = landmarks[parts.iris_centre, :2].astype(np.float64)
        radius = float(np.linalg.norm(landmarks[parts.iris_edge, :2] - centre, axis=1).mean())
        height, width = planes.shape[1:]
        box = bounding_box(landmarks[parts.upper + parts.lower, :2], 1, width, height)
        sclera, iris_colour = [None, None], None
        if box is not None:
            pixels = pixel_grid(box)
            u, v = frame.uv(pixels)
            # well inside the lids: away from the lashes and their shadow
            deep = frame.inside(u, v, max(1.0, 0.2 * float(frame.gap.max()))) >= 1.0
            distance = np.linalg.norm(pixels - centre.astype(np.float32), axis=-1)
            beside_iris = deep & (distance > 1.25 * radius)
            iris_u = frame.uv(centre)[0]
            # lashes and their shadow reach into the white: its lighter half is the white
            sclera = [median_colour(planes, pixels, beside_iris & (u < iris_u), 0.5),
                      median_colour(planes, pixels, beside_iris & (u >= iris_u), 0.5)]
            iris_colour = median_colour(planes, pixels, deep & (distance < 0.7 * radius))
        fallback = sclera[0] if sclera[0] is not None else sclera[1]
        if fallback is None:  # eyes shut in the portrait: an off-white tinted by the skin
            fallback = 0.55 * 235.0 + 0.45 * skin
        sclera = np.stack([_whiten(s if s is not None else fallback, skin) for s in sclera])
        if iris_colour is None:
            iris_colour = 0.3 * skin
        return cls(parts, frame, centre, radius, sclera.astype(np.float32),
                   np.asarray(iris_colour, np.float32))

    def lid_controls(self, source: np.ndarray, target: np.ndarray, frame: Opening,
                     face_right: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """How the upper lid steers the warp: (target (478, 3) with the lid rings moved, and
        the lash band: extra points (7, 2) in the source and (7, 3) in the target). frame is
        this eye's target opening, face_right the target face's.

        A closing lid unfolds skin hidden in the fold, which the portrait does not show, so
        the warp must stretch what it has. The band just above the margin is the wrong thing
        to stretch: it holds the lashes and, as trackers often set the margin a little low,
        the top of the iris, which would smear dark over the closed eye. So the fold ring
        follows most of the margin's closing and the ring under the brow half of it (at least
        LID_FOLLOW, beyond the eye's own motion): the stretch lands on the lid skin above the
        fold. A thin band above the margin rides with it unstretched, so the lashes keep their
        thickness.
        """
        parts = self.parts
        a_t, a_s, k = eye_similarity(self.opening, frame)

        def carried(points: np.ndarray) -> np.ndarray:  # source points moved with the eye
            moved = a_t + (points[:, 0] + 1j * points[:, 1] - a_s) / k
            return np.column_stack([moved.real, moved.imag])

        down = np.array([-face_right[1], face_right[0]])
        margin = parts.upper[1:-1]
        closing = (target[margin, :2] - carried(source[margin, :2])) @ down
        target = target.copy()
        for ring, share in zip((parts.lid_fold, parts.lid_skin), LID_FOLLOW):
            own = (target[ring, :2] - carried(source[ring, :2])) @ down
            extra = share * closing - own
            target[ring, :2] += np.where(extra > STILL, extra, 0.0)[:, None] * down

        offset = LASH_SHARE * (source[parts.lid_fold, :2] - source[margin, :2])
        turned = (offset[:, 0] + 1j * offset[:, 1]) / k
        lash_target = np.column_stack([target[margin, :2] + np.column_stack([turned.real,
                                                                              turned.imag]),
                                       target[margin, 2]])
        return target, (source[margin, :2] + offset, lash_target)

    def render(self, planes: np.ndarray, source: np.ndarray, target: np.ndarray,
               frame: Opening) -> Layer | None:
        """The eyeball inside the target lids, or None when the warp alone is right: the eye
        keeps its shape and gaze (it only rides along with the face), or it is shut.

        planes (3, H, W) the portrait; source, target (478, 3) landmarks in pixel indices;
        frame this eye's target opening.
        """
        a_t, a_s, k = eye_similarity(self.opening, frame)
        points = self.parts.upper + self.parts.lower + [self.parts.iris_centre]
        carried = a_t + (source[points, 0] + 1j * source[points, 1] - a_s) / k
        reshaped = np.abs(target[points, 0] + 1j * target[points, 1] - carried).max()
        if reshaped < RESHAPED or frame.gap.max() < 0.05:
            return None
        height, width = planes.shape[1:]
        box = bounding_box(target[self.parts.upper + self.parts.lower, :2], 2, width, height)
        if box is None:
            return None
        pixels = pixel_grid(box)
        alpha = frame.inside(*frame.uv(pixels), max(0.75, 0.035 * frame.length))

        eyeball_at = _apply(a_t, a_s, k, pixels)
        moved = a_s + (complex(*target[self.parts.iris_centre, :2]) - a_t) * k
        shift = np.array([moved.real, moved.imag], np.float32) - self.iris_centre
        if np.hypot(*shift) < 0.05:
            colour = sample(planes, eyeball_at)
        else:
            colour = self._move_iris(planes, eyeball_at, shift.astype(np.float32))
        return Layer(colour, alpha, box)

    def _move_iris(self, planes: np.ndarray, eyeball_at: np.ndarray,
                   shift: np.ndarray) -> np.ndarray:
        """Eyeball colours (3, h, w) at source positions (h, w, 2), the iris moved by shift."""
        eyeball = sample(planes, eyeball_at)
        iris_at = eyeball_at - shift
        iris = sample(planes, iris_at)
        # Iris texture hidden under the source lids: the iris' own colour stands in.
        visible = self.opening.inside(*self.opening.uv(iris_at), 0.75)
        iris_colour = self.iris_colour[:, None, None]
        iris = iris_colour + (iris - iris_colour) * visible

        centre = self.iris_centre.astype(np.float32)
        edge = max(0.6, 0.1 * self.iris_radius)
        was_iris = smoothstep((self.iris_radius + edge
                               - np.linalg.norm(eyeball_at - centre, axis=-1)) / edge)
        now_iris = smoothstep((self.iris_radius
                               - np.linalg.norm(iris_at - centre, axis=-1)) / edge + 0.5)
        # Sclera: the colours beside the iris on either side, blended across where it was,
        # in the upper lid's shadow near it.
        u, v = self.opening.uv(eyeball_at)
        iris_u = self.opening.uv(centre)[0]
        half = self.iris_radius / self.opening.length
        side = smoothstep((u - (iris_u - half)) / (2 * half))
        top, bottom = self.opening.bounds(u)
        shadow = 0.75 + 0.25 * smoothstep((v - top) / np.maximum(0.5 * (bottom - top), 1e-3))
        left, right = self.sclera[0][:, None, None], self.sclera[1][:, None, None]
        sclera = (left + (right - left) * side) * shadow
        eyeball = eyeball + (sclera - eyeball) * was_iris
        return eyeball + (iris - eyeball) * now_iris
