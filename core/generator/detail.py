"""The driver's expression creases on the portrait, after Averbuch-Elor et al. 2017 ("Bringing
Portraits to Life"): the fine detail a smile or raised brows add to the driver's face, relative
to the driver's own neutral frame, moved onto the target face and added to the frame.

A face's detail is the band of its log-luminance between a blur of FINE face sizes (the
camera's grain) and one of COARSE face sizes (the face's shading): creases, folds, dimples. The
driver frame's detail and its neutral frame's, each warped piecewise-affinely from its own
landmarks onto the target's, differ by what the expression added. That difference goes on the
target's skin only: inside the face's outline (feathered inwards), not on the eyes, the mouth's
inside nor the nostrils (whose dark holes the landmarks place too loosely), and not near strong
detail of the neutral frame (glasses' rims, hair over the forehead: things that move against
the landmarks, which would leave ghosts of themselves on another face). Clipped (creases
darken; a strong lightening is a glint) and scaled by a gain, it is added to the frame's
log-luminance: each pixel's colour is multiplied by exp(detail), so hue and saturation stay.
Identical driver and neutral frames add nothing, bit for bit.
"""
from __future__ import annotations

import numpy as np

from ..landmarks.topology import (FACE_OVAL, INNER_LIP_CONTOUR, LEFT_EYE_CONTOUR,
                                  MESH_POINT_INDICES, NOSE_BASE, RIGHT_EYE_CONTOUR, face_size)
from ..smoothing import smoothstep
from .composite import Box, bounding_box
from .palette import LUMA
from .references import Reference
from .resample import pixel_positions
from .warp import lattice, node_displacement, triangulate

GAIN = 1.0  # the driver's change in log-luminance, as it is: a crease as deep as the driver's
FINE = 1 / 300  # sigma of the blur taking out the grain, in face sizes (about a pixel at 300 px)
COARSE = 1 / 30  # sigma of the blur taking out the shading: folds up to about this wide stay
# Log-luminance changes are clipped to these: creases darken the skin; lightening beyond a
# little is a glint (on glasses, on wet lips) or a thing the landmarks lost, not skin.
MAX_DARKEN, MAX_LIGHTEN = 0.5, 0.1
# Where the neutral frame itself has strong detail within MISALIGNED face sizes (glasses' rims,
# hair over the forehead, the lashes: things the landmarks do not carry exactly), the difference
# is mostly that thing moved, not a crease: the detail fades out between these strengths.
MISALIGNED = 0.03
STRONG = (0.06, 0.15)
DARK_FLOOR = 8.0  # levels added before the log, so the noise of black pixels does not count
FEATHER = 0.04  # the mask's soft edge inside the face's outline, in face sizes
PART_MARGIN = 0.03  # the eyes, the mouth's inside, the nostrils: left alone this far around
CELLS = 64  # lattice cells across the face for the warps (a pixel and a half at 100 px)


def fine_sigma(size: float, target_size: float) -> float:
    """The fine blur's sigma in pixels for a face of `size` pixels shown at target_size: FINE
    face sizes, and at least half a target pixel, so a big driver on a small portrait does not
    alias (to a tenth of a pixel, so that it is one value for a whole shot)."""
    return round(max(FINE * size, 0.5 * size / max(target_size, 1.0)), 1)


def detail_band(face: Reference, fine: float) -> tuple[np.ndarray, Box]:
    """A face's detail (h, w) float32 over the box around its landmarks (and that box, in its
    pixels): log-luminance blurred by `fine` pixels minus blurred by COARSE face sizes."""
    import cv2

    size = face_size(face.points)
    height, width = face.image.shape[:2]
    box = bounding_box(face.points[:, :2], 3 * COARSE * size, width, height)
    x0, y0, x1, y1 = box
    luma = face.image[y0:y1, x0:x1].astype(np.float32) @ LUMA
    log = np.log(luma + np.float32(DARK_FLOOR))
    band = cv2.GaussianBlur(log, (0, 0), fine) - cv2.GaussianBlur(log, (0, 0), COARSE * size)
    return band, box


def skin_coverage(target: np.ndarray, box: Box, size: float) -> np.ndarray:
    """Coverage (h, w) float32 of box: 1 on the target's skin (landmarks (478, 2+), pixel
    indices), fading to 0 over FEATHER face sizes inside the face's outline and around the
    eyes, the mouth's inside and the nostrils, which are 0."""
    import cv2

    x0, y0, x1, y1 = box
    origin = np.array([x0, y0])
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)

    def polygon(indices):
        return np.round(target[indices, :2] - origin).astype(np.int32)

    cv2.fillPoly(mask, [polygon(FACE_OVAL)], 255)
    feather = max(1, int(round(FEATHER * size)))
    mask = cv2.erode(mask, np.ones((2 * feather + 1, 2 * feather + 1), np.uint8))
    parts = np.zeros_like(mask)
    cv2.fillPoly(parts, [polygon(RIGHT_EYE_CONTOUR), polygon(LEFT_EYE_CONTOUR),
                         polygon(INNER_LIP_CONTOUR)], 255)
    cv2.fillConvexPoly(parts, cv2.convexHull(polygon(NOSE_BASE)), 255)
    margin = max(1, int(round(PART_MARGIN * size))) + feather
    parts = cv2.dilate(parts, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
    mask[parts > 0] = 0
    return cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), feather / 2)


class DriverDetail:
    """The driver's neutral frame (a Reference: image and landmarks), measured once; add()
    puts the creases a driver frame shows and the neutral frame does not on a rendered frame.
    Deterministic."""

    def __init__(self, neutral: Reference, gain: float = GAIN):
        self.neutral = neutral
        self.gain = gain
        # The driver's mesh, positive on its neutral face; a frame's triangles turning their
        # back on the target (the far cheek of a turned head) are culled, the nearest wins.
        self._triangles = triangulate(neutral.points[MESH_POINT_INDICES, :2])
        self._neutral_band = (None, None)  # (fine sigma, detail_band) of the last one asked

    def add(self, frame: np.ndarray, target_landmarks: np.ndarray,
            driver: Reference, in_place: bool = False) -> np.ndarray:
        """frame (H, W, 3) uint8, rendered for target_landmarks (478, 3) in its pixels, with
        the creases of the driver's frame (a Reference of the same driver) relative to the
        neutral one added to its skin: a new frame, or frame itself when nothing is added or
        in_place (only the face's box is written)."""
        from .inputs import check_landmarks, snap_to_pixel_centres

        target = snap_to_pixel_centres(check_landmarks(target_landmarks, "target landmarks"))
        height, width = frame.shape[:2]
        size = face_size(target)
        box = bounding_box(target[FACE_OVAL, :2], 1, width, height)
        if box is None or size < 4:
            return frame
        coverage = skin_coverage(target, box, size)
        if not coverage.any():
            return frame
        cell = 2 * int(round((size / CELLS - 1) / 2)) + 1  # odd: see resample.pixel_positions
        span, shape = lattice(box, cell, width, height)
        on = (span, shape, cell, box, target[MESH_POINT_INDICES])
        driver_band = detail_band(driver, fine_sigma(face_size(driver.points), size))
        neutral = self._warped(self.neutral, self._neutral_band_for(size), on)
        added = np.clip(self._warped(driver, driver_band, on) - neutral, -MAX_DARKEN,
                        MAX_LIGHTEN)
        added *= coverage * self._not_moved(neutral, size) * np.float32(self.gain)
        if not added.any():
            return frame
        x0, y0, x1, y1 = box
        result = frame if in_place else frame.copy()
        region = result[y0:y1, x0:x1]
        scaled = region.astype(np.float32) * np.exp(added)[..., None] + np.float32(0.5)
        region[...] = np.clip(scaled, 0, 255).astype(np.uint8)  # +0.5, truncated: rounded
        return result

    @staticmethod
    def _not_moved(neutral: np.ndarray, size: float) -> np.ndarray:
        """(h, w) float32: 0 near the neutral frame's strong detail (warped onto the target,
        (h, w)), 1 away from it (see STRONG)."""
        import cv2

        reach = max(1, int(round(MISALIGNED * size)))
        strength = cv2.dilate(np.abs(neutral), np.ones((2 * reach + 1, 2 * reach + 1), np.uint8))
        low, high = STRONG
        return np.float32(1.0) - smoothstep((strength - np.float32(low))
                                            / np.float32(high - low))

    def _neutral_band_for(self, target_size: float) -> tuple[np.ndarray, Box]:
        """The neutral frame's detail_band for a target face of target_size pixels."""
        fine = fine_sigma(face_size(self.neutral.points), target_size)
        if self._neutral_band[0] != fine:
            self._neutral_band = (fine, detail_band(self.neutral, fine))
        return self._neutral_band[1]

    def _warped(self, face: Reference, band: tuple[np.ndarray, Box], on: tuple) -> np.ndarray:
        """A face's detail_band (h, w) warped from its landmarks onto the target's, on the
        target's box: on = (span, (rows, cols), cell, box, the target's MESH_POINT_INDICES (N, 3)), the
        map evaluated on the lattice over span and bilinear between its nodes; 0 beyond the
        band's own box."""
        import cv2

        span, shape, cell, box, moved = on
        pixels, (bx, by, _, _) = band
        field = node_displacement(moved, face.points[MESH_POINT_INDICES, :2], self._triangles,
                                  span[:2], cell, shape)
        # In the band's pixels: shifting the nodes shifts every upsampled position alike.
        positions = pixel_positions(field - (bx, by), span, box, cell)
        return cv2.remap(pixels, positions, None, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
