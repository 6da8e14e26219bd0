"""References: more pictures of the sitter (or the driver's own frame) giving real pixels where
the warp has none, after Averbuch-Elor et al. 2017 ("Bringing Portraits to Life"). Lent pixels
are blended band by band (composite.blend_bands).

A reference is an image with its landmarks. Per frame, the reference whose lips (both
contours, brought back onto the portrait's head: how open, wide and raised against the teeth
they are) and head pose are nearest the target's lends its whole mouth: lips, interior and a
margin of skin, warped piecewise-affinely over the face mesh onto the target, colour-matched
to the portrait (mean and deviation per Lab channel over the face's skin, Reinhard et al.
2001), and faded in with how much nearer the target's mouth it is than the portrait's own;
never one the warp would widen much (a round mouth stretched wide). None nearer: the warped portrait and the synthesized interior. The driver's own frame lends
only its mouth interior (it may be another person's face). Likewise an eye closing in the
target takes its closed lid from a reference with that eye closed (ReferenceLids), in place
of the portrait's open lid stretched by the warp, and a head turned away from a cheek takes
that cheek from a reference turned the same way (ReferenceCheeks), in place of the
portrait's foreshortened one stretched by the warp.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..errors import PortraitError
from ..landmarks.topology import (BROW_POINT_INDICES, EYE_CORNERS, EYE_POINT_INDICES,
                                  FACE_OVAL, INNER_LIP_LOWER, INNER_LIP_UPPER,
                                  LEFT_CHEEK_INSIDE, LEFT_CHEEK_OUTLINE,
                                  LIP_POINT_INDICES, MESH_POINT_INDICES, MOUTH_POINT_INDICES,
                                  NOSE_BASE, NOSE_BRIDGE, OUTER_LIP_CONTOUR, OUTER_LIP_UPPER,
                                  RIGHT_CHEEK_INSIDE, RIGHT_CHEEK_OUTLINE, SKULL_POINTS,
                                  face_axes)
from ..landmarks.tracking import inter_ocular
from ..retarget.pose import fit_similarity, head_pose, rotation_angle
from ..smoothing import smoothstep
from .composite import Box, Layer, bounding_box
from .eyes import EYE_PARTS, EyeParts, eye_opening
from .head import OVAL, head_rings
from .inputs import check_image, check_landmarks, snap_to_pixel_centres
from .mouth import inner_lips
from .region import Opening, opening
from .resample import pixel_positions
from .warp import lattice, node_displacement, triangulate

# Skull and nose: the points expressions leave alone, so their 3D shape is the sitter's.
IDENTITY_POINTS = sorted(set(SKULL_POINTS + NOSE_BRIDGE + NOSE_BASE))
# RMS distance (in inter-ocular distances) of those points after a 3D similarity above which a
# reference is not the sitter. Measured on the shared clips (6 people, 200 frames) and
# portraits: frames of one person against their frame 0 reach 0.084 (head turns, talking);
# only 9 % of pairs of different people lie above 0.09. The landmark shape is a weak identity
# cue: this catches clearly different faces, not look-alikes.
MAX_IDENTITY_DISTANCE = 0.09
MIN_OPENING = 0.05  # a mouth opened less than this (gap / width) has no interior
# Both lip contours: what mouth_shape compares, and what carries the driver's interior warp
# (its triangles span the gap).
LIP_POINTS = np.array(LIP_POINT_INDICES)
MOUTH_MARGIN = 0.3    # the lent mouth reaches this far past the outer lips (mouth widths) ...
MOUTH_FEATHER = 0.08  # ... its edge fading over this much (mouth widths)
MOUTH_CELLS = 32  # the lent mouth's warp is computed on a lattice this many cells across it
# A reference's mouth is kept (colour-matched) with this many of its mouth widths around its
# lips: the most a lent mouth, MOUTH_FAR from it at most, draws from.
MOUTH_CROP = 1.5
# Choosing a mouth: a radian of head rotation between the reference and the target counts as
# this much lip mismatch (inter-ocular distances), as for the lids.
MOUTH_TURN_WEIGHT = 0.1
# A reference mouth this much nearer the target's than the portrait's own (1 - its mismatch
# over the portrait's) is lent fully; less near, partly; no nearer, not at all.
MOUTH_NEARER_FULL = 0.5
# ... and only while its lips are within the first of these mismatches (inter-ocular
# distances, with the turn) of the target's, none from the second on: lips warped that far
# stretch the reference's teeth and lips into shapes they never had (an "ah" baring the teeth
# made into an "oh" that covers them).
MOUTH_FAR = (0.08, 0.16)
# ... and only while the warp widens the reference's lips (the target's mouth width over the
# reference's, both brought back onto the portrait's head) less than the first of these, none
# from the second on: pursed lips and a round interior stretched wide (an "oh" made into an
# "ah") keep a puckered rim and a dark hole where the target shows teeth or tongue. Measured
# with each reference of the six shared clips lent alone on their evaluated frames: of 13
# pairs widened 1.25 times or more, 12 raised the mouth's error; of 11 widened 1.15 to 1.25
# times, 10 lowered it; narrowing (a wide mouth made round, down to 0.68) mostly lowered it.
MOUTH_WIDENED = (1.2, 1.3)
# The mouth corners' rows in LIP_POINTS (a mouth_shape's).
LIP_CORNERS = [int(np.flatnonzero(LIP_POINTS == corner)[0])
               for corner in (OUTER_LIP_UPPER[0], OUTER_LIP_UPPER[-1])]


def identity_distance(landmarks: np.ndarray, portrait_landmarks: np.ndarray) -> float:
    """RMS 3D distance of the identity points of landmarks (478, 3) to the portrait's (478, 3)
    after the best similarity, in the portrait's inter-ocular distances."""
    fit = fit_similarity(landmarks[IDENTITY_POINTS], portrait_landmarks[IDENTITY_POINTS])
    residual = fit.apply(landmarks[IDENTITY_POINTS]) - portrait_landmarks[IDENTITY_POINTS]
    return float(np.sqrt((residual ** 2).sum(axis=1).mean()) / inter_ocular(portrait_landmarks))


def skin_mask(landmarks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """bool (H, W): inside the face oval of landmarks (478, 2+), outside eyes, brows and
    mouth (their hulls), for an image of shape (H, W)."""
    import cv2

    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[FACE_OVAL, :2]).astype(np.int32)], 1)
    for part in (EYE_POINT_INDICES, BROW_POINT_INDICES, MOUTH_POINT_INDICES):
        hull = cv2.convexHull(np.round(landmarks[part, :2]).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 0)
    return mask.astype(bool)


def lab_statistics(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
    """(2, 3) mean and standard deviation of the Lab channels of image (H, W, 3) uint8 over
    its face skin (landmarks (478, 2+) in its pixels); None for a face too small to measure.
    Only the skin's box is converted (the whole of a 4096 px portrait took over a second)."""
    import cv2

    mask = skin_mask(landmarks, image.shape[:2])
    if mask.sum() < 16:
        return None
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    lab = cv2.cvtColor(image[box].astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)[mask[box]]
    return np.stack([lab.mean(axis=0), np.maximum(lab.std(axis=0), 1e-3)])


def match_colours(pixels: np.ndarray, source: np.ndarray | None,
                  target: np.ndarray | None) -> np.ndarray:
    """Pixels (h, w, 3) uint8 recoloured so that Lab statistics source (2, 3) become target
    (2, 3): planar float32 (3, h, w) RGB 0..255. Unchanged where either side could not be
    measured (None)."""
    import cv2

    if source is None or target is None:
        return pixels.astype(np.float32).transpose(2, 0, 1)
    lab = cv2.cvtColor(pixels.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    lab = (lab - source[0]) * (target[1] / source[1]) + target[0]
    rgb = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2RGB)
    return np.clip(rgb * 255.0, 0.0, 255.0).transpose(2, 0, 1)


def mouth_shape(points: np.ndarray, portrait_points: np.ndarray) -> np.ndarray:
    """(len(LIP_POINTS), 2) the lips of landmarks (478, 3) brought back onto the portrait's
    head (landmarks (478, 3); the similarity of the skulls) in its inter-ocular distances:
    how open and wide the lips are and how far they are raised or dropped against the skull
    (which bares or covers the teeth), whatever the head's place, turn and size."""
    back = head_pose(points, portrait_points).inverse().apply(points[LIP_POINTS])
    return back[:, :2] / inter_ocular(portrait_points)


def mouth_width(shape: np.ndarray) -> float:
    """The corner-to-corner width of a mouth_shape (len(LIP_POINTS), 2)."""
    return float(np.linalg.norm(shape[LIP_CORNERS[1]] - shape[LIP_CORNERS[0]]))


def lips_width(points: np.ndarray) -> float:
    """The corner-to-corner width of the lips of landmarks (478, 2+), in their pixels."""
    corners = points[[OUTER_LIP_UPPER[0], OUTER_LIP_UPPER[-1]], :2]
    return float(np.linalg.norm(corners[1] - corners[0]))


def widening_share(target_width: float, reference_width: float) -> float:
    """1 while a reference mouth reference_width wide, warped onto one target_width wide, is
    widened less than MOUTH_WIDENED[0] times, fading to 0 at MOUTH_WIDENED[1]."""
    widened = target_width / max(reference_width, 1e-6)
    return min(max((MOUTH_WIDENED[1] - widened) / (MOUTH_WIDENED[1] - MOUTH_WIDENED[0]), 0.0),
               1.0)


def mouth_outline(points: np.ndarray) -> np.ndarray:
    """(len(OUTER_LIP_CONTOUR), 2) the outer lips of landmarks (478, 2+) pushed out from the
    mouth's centre by MOUTH_MARGIN mouth widths: the lent mouth's polygon."""
    outer = points[OUTER_LIP_CONTOUR, :2]
    offset = outer - outer.mean(axis=0)
    width = lips_width(points)
    length = np.maximum(np.linalg.norm(offset, axis=1, keepdims=True), 1e-6)
    return outer + offset / length * (MOUTH_MARGIN * width)


@dataclass(frozen=True)
class Reference:
    """Another picture with a face: image (H, W, 3) uint8 and its landmarks (478, 3) in its own
    pixels (as core.landmarks returns them)."""
    image: np.ndarray
    landmarks: np.ndarray
    name: str = "reference"
    points: np.ndarray = field(init=False, repr=False)  # landmarks as pixel indices

    def __post_init__(self):
        object.__setattr__(self, "image", check_image(self.image))
        landmarks = check_landmarks(self.landmarks, f"{self.name} landmarks")
        object.__setattr__(self, "landmarks", landmarks)
        object.__setattr__(self, "points", snap_to_pixel_centres(landmarks))

    def inner_lips(self) -> Opening:
        return inner_lips(self.points, face_axes(self.points)[0])

    @cached_property
    def skin_colours(self) -> np.ndarray | None:
        """(2, 3) its face skin's Lab statistics (lab_statistics), measured once, when first
        asked for: the mouths, lids and cheeks it lends are all colour-matched from them."""
        return lab_statistics(self.image, self.points)

    def check_sitter(self, portrait_landmarks: np.ndarray) -> None:
        """One-line error unless the face looks like the portrait's (478, 3)."""
        distance = identity_distance(self.landmarks, portrait_landmarks)
        if distance > MAX_IDENTITY_DISTANCE:
            raise PortraitError(f"{self.name}: the face does not match the portrait's sitter "
                                f"(shape distance {distance:.3f} > {MAX_IDENTITY_DISTANCE})")


def load_reference(path, face: int = 0) -> Reference:
    """A reference image read from path with its face's landmarks, or a one-line error."""
    from ..landmarks import detect_landmarks
    from ..media import read_image

    image = read_image(path)
    try:
        landmarks = detect_landmarks(image, face, what="the reference")
    except PortraitError as error:
        raise PortraitError(f"{path}: {error}") from None
    return Reference(image, landmarks, str(path))


@dataclass(frozen=True)
class _ReferenceMouth:
    reference: Reference
    shape: np.ndarray       # mouth_shape against the portrait
    part: "Recoloured"      # its image around the mouth (see MOUTH_CROP)
    mesh: np.ndarray        # (len(MESH_POINT_INDICES), 2) its face mesh: the warp's source
    triangles: np.ndarray   # their Delaunay triangles


class ReferenceMouths:
    """The mouths of a set of references, for one portrait: per frame, the reference whose
    lips (mouth_shape) and head pose are nearest the target's lends its whole mouth (lips,
    interior and a margin of skin: mouth_outline), warped over the face mesh onto the target,
    colour-matched and blended band by band; it fades in with how much nearer the target it
    is than the portrait's own mouth (MOUTH_NEARER_FULL) and out as it gets far from the
    target's (MOUTH_FAR) or as the warp widens it (MOUTH_WIDENED). The driver's frame lends
    its interior only (driver_interior). The portrait is a Reference too: its skin colours
    are what lent pixels are matched to."""

    def __init__(self, portrait: Reference, references: list[Reference]):
        self._portrait = portrait
        self._portrait_shape = mouth_shape(portrait.points, portrait.points)
        self._mouths = []
        for reference in references:
            points = reference.points
            part = Recoloured.crop(reference, points[LIP_POINTS],
                                   MOUTH_CROP * lips_width(points), portrait)
            mesh = points[MESH_POINT_INDICES, :2]
            self._mouths.append(_ReferenceMouth(
                reference, mouth_shape(points, portrait.points), part, mesh,
                triangulate(mesh)))

    def __bool__(self) -> bool:
        return bool(self._mouths)

    def nearest(self, target: np.ndarray
                ) -> tuple[_ReferenceMouth, float, float, float] | None:
        """The reference mouth nearest target (478, 3) pixel indices among those the warp
        widens less than MOUTH_WIDENED[1] times, how much nearer than the portrait's
        (0 .. 1], its mismatch (inter-ocular distances) and its widening_share; None when
        none is nearer."""
        shape = mouth_shape(target, self._portrait.points)
        width = mouth_width(shape)

        def mismatch(points: np.ndarray, lips: np.ndarray) -> float:
            angle = rotation_angle(head_pose(points, target).rotation)
            return float(np.linalg.norm(lips - shape, axis=1).mean()) + MOUTH_TURN_WEIGHT * angle

        own = mismatch(self._portrait.points, self._portrait_shape)
        if not self._mouths or own <= 0.0:
            return None
        shares = [widening_share(width, mouth_width(mouth.shape)) for mouth in self._mouths]
        scores = [mismatch(mouth.reference.points, mouth.shape) if share > 0.0 else np.inf
                  for mouth, share in zip(self._mouths, shares)]
        best = int(np.argmin(scores))  # ties keep the first: deterministic
        nearer = 1.0 - scores[best] / own
        return ((self._mouths[best], nearer, scores[best], shares[best]) if nearer > 0.0
                else None)

    def layer(self, target: np.ndarray, width: int, height: int) -> Layer | None:
        """The nearest reference's mouth on target (478, 3) pixel indices in a width x height
        frame, or None when no reference mouth is nearer the target's than the portrait's (or
        near enough)."""
        found = self.nearest(target)
        if found is None:
            return None
        mouth, nearer, mismatch, widening = found
        if mismatch >= MOUTH_FAR[1]:
            return None
        size = lips_width(target)
        feather = max(1.0, MOUTH_FEATHER * size)
        covered = feathered_outline(mouth_outline(target), feather, width, height)
        if covered is None:
            return None
        alpha, box = covered
        cell = 2 * int(size / (2 * MOUTH_CELLS)) + 1
        pixels = warp_coarsely(mouth.part.pixels, mouth.mesh, target[MESH_POINT_INDICES],
                               mouth.triangles, box, cell, width, height, mouth.part.origin)
        near = min(max((MOUTH_FAR[1] - mismatch) / (MOUTH_FAR[1] - MOUTH_FAR[0]), 0.0), 1.0)
        strength = np.float32(min(nearer / MOUTH_NEARER_FULL, 1.0) * near * widening)
        return Layer(pixels.transpose(2, 0, 1).astype(np.float32), alpha * strength, box,
                     lent=True)

    def driver_interior(self, frame_reference: Reference, target: np.ndarray,
                        box: Box) -> np.ndarray | None:
        """Planar colours (3, h, w) float32 of box: the mouth of frame_reference (the
        picture the target (478, 3) pixel indices was taken from: the driver's own frame)
        warped from its lip landmarks onto the target's, colour-matched to the portrait;
        None when its lips are closed."""
        if frame_reference.inner_lips().ratio < MIN_OPENING:
            return None
        pixels = warp_onto(frame_reference.image, frame_reference.points[LIP_POINTS],
                           target[LIP_POINTS], box)
        return match_colours(pixels, frame_reference.skin_colours,
                             self._portrait.skin_colours)


def warp_onto(image: np.ndarray, source: np.ndarray, target: np.ndarray, box: Box,
              origin: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Pixels (h, w, 3) uint8 of box: image (H, W, 3) warped piecewise-affinely (triangles of
    the source points) so that its points source (N, 2+) land on target (N, 2+), all at one
    depth (pixel indices). origin (2,): where image starts in the source's pixels (a crop)."""
    import cv2

    x0, y0, x1, y1 = box
    source = source[:, :2]
    moved = np.column_stack([target[:, :2], np.zeros(len(target))])
    displacement = node_displacement(moved, source, triangulate(source), (x0, y0), 1.0,
                                     (y1 - y0, x1 - x0))
    xs = (np.arange(x0, x1)[None, :] - origin[0] + displacement[..., 0]).astype(np.float32)
    ys = (np.arange(y0, y1)[:, None] - origin[1] + displacement[..., 1]).astype(np.float32)
    return cv2.remap(image, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def warp_coarsely(image: np.ndarray, source: np.ndarray, target: np.ndarray,
                  triangles: np.ndarray, box: Box, cell: int, width: int, height: int,
                  origin: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Pixels (h, w, 3) uint8 of box in a width x height frame: image (H, W, 3) warped by
    triangles (M, 3) so that points source (N, 2+) land on target (N, 3) x, y, depth, the map
    computed on a lattice of `cell` (odd) pixels and upsampled as the generator's warp is:
    for a part as large as a cheek, where a map per pixel would cost more than the rest of
    the frame. origin (2,): where image starts in the source's pixels (a crop)."""
    import cv2

    span, shape = lattice(box, cell, width, height)
    field = node_displacement(target, source[:, :2], triangles, span[:2], cell, shape)
    field -= origin  # a constant shift, on the nodes rather than on every pixel
    positions = pixel_positions(field, span, box, cell)
    return cv2.remap(image, positions, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


@dataclass(frozen=True)
class Recoloured:
    """The part of a reference a layer samples, colour-matched to the portrait once: pixels
    (h, w, 3) uint8 and where they start in the reference ((2,) x, y pixels). Matching per
    frame would repeat the Lab round trip over the whole lent box every frame."""
    pixels: np.ndarray
    origin: tuple[float, float]

    @classmethod
    def crop(cls, reference: Reference, points: np.ndarray, margin: float,
             portrait: Reference) -> "Recoloured":
        """The box around points (N, 2+) of the reference grown by margin pixels, recoloured
        from the reference's skin colours to the portrait's (see match_colours)."""
        height, width = reference.image.shape[:2]
        x0, y0, x1, y1 = bounding_box(points[:, :2], margin, width, height) or (0, 0, width,
                                                                                height)
        pixels = reference.image[y0:y1, x0:x1]
        matched = match_colours(pixels, reference.skin_colours, portrait.skin_colours)
        return cls(np.round(matched).astype(np.uint8).transpose(1, 2, 0).copy(),
                   (float(x0), float(y0)))


# An eye is closing when its opening (gap / width) is below this share of the portrait's; a
# reference eye this closed can lend its lid. The reference lid fades in over the closing.
CLOSED_SHARE = 0.35
LID_FEATHER = 0.08  # the lid layer's soft edge, in eye widths
# Choosing a closed lid: a radian of head rotation between the reference and the target counts
# as this much lid-shape mismatch (the lid's light and texture turn with the head).
LID_TURN_WEIGHT = 0.1
# The chosen lid lends fully while its head pose is within LID_POSE[0] radians of the
# target's, and nothing from LID_POSE[1]: a lid seen from another angle has other light and
# foreshortening, and the detector reads the whole face differently around it.
LID_POSE = (np.radians(6.0), np.radians(14.0))


def eye_ratio(points: np.ndarray, parts: EyeParts) -> float:
    """An eye's opening: its largest lid gap over its width, for landmarks (478, 2+)."""
    return eye_opening(points, parts, face_axes(points)[0]).ratio


def lid_points(parts: EyeParts) -> np.ndarray:
    """The landmarks carrying a lid warp: both margins and the two rings above the upper."""
    return np.array(parts.upper + parts.lower + parts.lid_fold + parts.lid_skin)


def lid_shape(points: np.ndarray, parts: EyeParts) -> np.ndarray:
    """(N,) complex: an eye's lid points (lid_points) in the frame of its corners (one at 0,
    the other at 1): its opening and how the head's turn foreshortens it, whatever its size."""
    lid = points[lid_points(parts), 0] + 1j * points[lid_points(parts), 1]
    first = complex(*points[parts.upper[0], :2])
    last = complex(*points[parts.upper[-1], :2])
    return (lid - first) / (last - first if last != first else 1.0)


def lid_outline(parts: EyeParts) -> np.ndarray:
    """The closed lid's outline: corner, fold ring, corner, lower margin back."""
    return np.array([parts.upper[0], *parts.lid_fold, parts.upper[-1], *parts.lower[::-1]])


FEATHER_SAMPLES = 4  # a wide feather's blur runs on a grid this many cells across the feather


def feathered_outline(outline: np.ndarray, feather: float, width: int, height: int
                      ) -> tuple[np.ndarray, Box] | None:
    """Coverage (h, w) float32 of the polygon outline (N, 2), faded inwards over feather
    pixels, and its box in an image of width x height; None when nothing is covered. A wide
    feather's blur runs on the coverage averaged down by up to feather / FEATHER_SAMPLES and
    is upsampled (within about 0.01 of the full-size blur): at full size it cost more than the
    rest of a cheek's layer."""
    import cv2

    box = bounding_box(outline, 2 * feather, width, height)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.round(outline - (x0, y0)).astype(np.int32)], 255)
    inward = int(round(feather))
    mask = cv2.erode(mask, np.ones((2 * inward + 1, 2 * inward + 1), np.uint8))
    step = max(1, int(feather // FEATHER_SAMPLES))
    if step == 1:
        alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), feather / 2)
        return (alpha, box) if alpha.any() else None
    rows, cols = -(-(y1 - y0) // step), -(-(x1 - x0) // step)
    padded = np.zeros((rows * step, cols * step), np.float32)
    padded[:y1 - y0, :x1 - x0] = mask / np.float32(255.0)
    coarse = cv2.resize(padded, (cols, rows), interpolation=cv2.INTER_AREA)
    coarse = cv2.GaussianBlur(coarse, (0, 0), feather / (2 * step))
    alpha = cv2.resize(coarse, (cols * step, rows * step),
                       interpolation=cv2.INTER_LINEAR)[:y1 - y0, :x1 - x0]
    return (alpha, box) if alpha.any() else None


class ReferenceLids:
    """The closed lids of a set of references, for one portrait: when an eye of the target
    closes, the reference with that eye closed and the nearest lid shape (lid_shape: its
    opening and foreshortening) and head pose lends its lid skin and lashes, warped onto the
    target lid, colour-matched and feathered; it fades out as the reference's head pose
    departs from the target's (LID_POSE)."""

    def __init__(self, portrait: Reference, references: list[Reference]):
        self._open = [eye_ratio(portrait.points, parts) for parts in EYE_PARTS]
        self._closed = []  # per eye: [(lid_shape, reference, its lid recoloured)]
        for side, parts in enumerate(EYE_PARTS):
            closed = []
            for reference in references:
                ratio = eye_ratio(reference.points, parts)
                if ratio < CLOSED_SHARE * self._open[side]:
                    lid = reference.points[lid_points(parts)]
                    width = float(np.linalg.norm(np.subtract(
                        *reference.points[[parts.upper[0], parts.upper[-1]], :2])))
                    closed.append((lid_shape(reference.points, parts), reference,
                                   Recoloured.crop(reference, lid, width, portrait)))
            self._closed.append(closed)

    def __bool__(self) -> bool:
        return any(self._closed)

    def layers(self, target: np.ndarray, width: int, height: int) -> list[Layer]:
        """The reference lids over the closing eyes of target (478, 3) pixel indices."""
        layers = []
        for side, parts in enumerate(EYE_PARTS):
            if not self._closed[side]:
                continue
            threshold = CLOSED_SHARE * self._open[side]
            ratio = eye_ratio(target, parts)
            strength = float(smoothstep(np.float32((threshold - ratio) / (0.5 * threshold))))
            if strength <= 0.0:
                continue
            shape = lid_shape(target, parts)
            turns = [rotation_angle(head_pose(candidate[1].points, target).rotation)
                     for candidate in self._closed[side]]
            shapes = [float(np.abs(candidate[0] - shape).mean())
                      for candidate in self._closed[side]]
            best = min(range(len(turns)),  # ties keep the first: deterministic
                       key=lambda index: shapes[index] + LID_TURN_WEIGHT * turns[index])
            strength *= float(smoothstep(np.float64((LID_POSE[1] - turns[best])
                                                    / (LID_POSE[1] - LID_POSE[0]))))
            if strength <= 0.0:
                continue
            _, reference, lid = self._closed[side][best]
            corners = target[[parts.upper[0], parts.upper[-1]], :2]
            feather = max(1.0, LID_FEATHER * float(np.linalg.norm(corners[1] - corners[0])))
            covered = feathered_outline(target[lid_outline(parts), :2], feather, width, height)
            if covered is None:
                continue
            alpha, box = covered
            points = lid_points(parts)
            pixels = warp_onto(lid.pixels, reference.points[points], target[points], box,
                               lid.origin)
            layers.append(Layer(pixels.astype(np.float32).transpose(2, 0, 1),
                                alpha * np.float32(strength), box, lent=True))
        return layers


def head_yaw(points: np.ndarray, portrait_points: np.ndarray) -> float:
    """Radians the head of landmarks (478, 3) is turned about its vertical axis from the
    portrait's (478, 3): < 0 turned to its own left (the nose towards the image's right),
    showing more of its right cheek."""
    rotation = head_pose(points, portrait_points).rotation
    return float(np.arctan2(rotation[0, 2], rotation[2, 2]))


@dataclass(frozen=True)
class CheekParts:
    outline: list[int]  # the cheek's polygon
    inside: list[int]   # the mesh points inside it
    shown_by: float     # the sign of head_yaw that turns this cheek towards the viewer

    @property
    def points(self) -> np.ndarray:
        return np.array(self.outline + self.inside)


CHEEK_PARTS = (CheekParts(RIGHT_CHEEK_OUTLINE, RIGHT_CHEEK_INSIDE, -1.0),
               CheekParts(LEFT_CHEEK_OUTLINE, LEFT_CHEEK_INSIDE, 1.0))
# A target turned this far (radians of yaw from the portrait) towards showing a cheek starts /
# fully takes a lent cheek; below it the portrait's cheek, warped, is close enough.
CHEEK_TURN = (np.radians(4.0), np.radians(10.0))
CHEEK_FEATHER = 0.06  # the lent cheek's soft edge, in eye-corner distances
CHEEK_CELLS = 24  # the cheek's warp is computed on a lattice this many cells across the eyes
# Choosing a cheek: a radian of head rotation between reference and target counts as this much
# cheek-shape mismatch (in eye-corner distances), as for the lids.
CHEEK_TURN_WEIGHT = 0.1
# The lent cheek stops at the oval where the oval points this far down (the cosine between
# its direction from the oval's centre and the face's down axis; see cheek_outline).
CHEEK_NECK = 0.35
# The recoloured part of a turned reference: its first head ring's box grown by this many
# eye-corner distances (more than the lent box's feather and blend margins).
CHEEK_MARGIN = 0.5


def cheek_shape(points: np.ndarray, parts: CheekParts) -> np.ndarray:
    """(N,) complex: a cheek's points in the frame of the outer eye corners (one at 0, the
    other at 1): how far the turn shows it and how an expression moves it, whatever its size."""
    cheek = points[parts.points, 0] + 1j * points[parts.points, 1]
    first, last = (complex(*points[corner, :2]) for corner in EYE_CORNERS)
    return (cheek - first) / (last - first if last != first else 1.0)


def cheek_warp_points(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """(len(MESH_POINT_INDICES) + len(OVAL), 3) the face mesh's points and the first head ring
    around them, for landmarks (478, 3) in an image of width x height: they carry the cheek's
    warp, so that the whole box around the cheek (the blend's margin) has the reference's
    pixels."""
    ring = head_rings(points, width, height).ring(0)
    return np.concatenate([points[MESH_POINT_INDICES], ring])


def cheek_outline(warp_points: np.ndarray, parts: CheekParts) -> np.ndarray:
    """(len(outline), 2) the lent cheek's polygon, from cheek_warp_points (N, 3): its
    outline, with the face-oval points beside the head moved out to the first head ring's, so
    that the face's edge and what shows beyond it as the head turns (the ear) are lent too.
    Towards the jaw the polygon comes back to the oval (fully where the oval points
    CHEEK_NECK of the way down): below the ear lies the neck, which the reference's turn and
    jaw place differently from the target's, so lending it paints a patch of skin or collar
    where the target has hair or shadow."""
    outline = warp_points[parts.outline, :2]
    ring = [len(MESH_POINT_INDICES) + OVAL.index(index) if index in OVAL else index
            for index in parts.outline]
    oval = warp_points[OVAL, :2]
    radial = outline - oval.mean(axis=0)
    downness = (radial @ face_axes(warp_points)[1]) / np.maximum(
        np.hypot(radial[:, 0], radial[:, 1]), 1e-6)
    reach = 1.0 - smoothstep(downness, 0.0, CHEEK_NECK)
    return outline + reach[:, None] * (warp_points[ring, :2] - outline)


@dataclass(frozen=True)
class _TurnedFace:
    reference: Reference
    yaw: float              # head_yaw from the portrait
    shapes: tuple           # cheek_shape per CHEEK_PARTS
    pixels: Recoloured      # the face and its first head ring, recoloured
    warp_points: np.ndarray  # cheek_warp_points of the reference
    triangles: np.ndarray   # their Delaunay triangles


class ReferenceCheeks:
    """The cheeks of a set of turned references, for one portrait: when the target turns so
    that a cheek comes into view, the reference turned the same way (nearer the target's yaw
    than the portrait is) with the nearest cheek shape and head pose lends that cheek, warped
    piecewise-affinely over the face mesh onto the target, colour-matched and blended band by
    band; it fades in with the turn and with how much nearer in yaw the reference is."""

    def __init__(self, portrait: Reference, references: list[Reference]):
        self._portrait_points = portrait.points
        self._faces = []
        for reference in references:
            yaw = head_yaw(reference.points, portrait.points)
            if abs(yaw) < CHEEK_TURN[0]:
                continue
            height, width = reference.image.shape[:2]
            warp_points = cheek_warp_points(reference.points, width, height)
            scale = float(np.linalg.norm(np.subtract(*reference.points[list(EYE_CORNERS), :2])))
            pixels = Recoloured.crop(reference, warp_points, CHEEK_MARGIN * scale, portrait)
            self._faces.append(_TurnedFace(
                reference, yaw, tuple(cheek_shape(reference.points, parts)
                                      for parts in CHEEK_PARTS),
                pixels, warp_points, triangulate(warp_points[:, :2])))

    def __bool__(self) -> bool:
        return bool(self._faces)

    def layers(self, target: np.ndarray, width: int, height: int) -> list[Layer]:
        """The lent cheeks of target (478, 3) pixel indices turned away from the portrait."""
        yaw = head_yaw(target, self._portrait_points)
        layers = []
        for side, parts in enumerate(CHEEK_PARTS):
            shown = parts.shown_by * yaw
            turned = float(smoothstep(np.float64((shown - CHEEK_TURN[0])
                                                 / (CHEEK_TURN[1] - CHEEK_TURN[0]))))
            if turned <= 0.0:
                continue
            shape = cheek_shape(target, parts)

            def nearer(face) -> float:  # 1: the target's yaw; 0: no nearer than the portrait
                return 1.0 - abs(face.yaw - yaw) / abs(yaw)

            def mismatch(face) -> float:
                angle = rotation_angle(head_pose(face.reference.points, target).rotation)
                shape_mismatch = float(np.abs(face.shapes[side] - shape).mean())
                return shape_mismatch + CHEEK_TURN_WEIGHT * angle

            faces = [face for face in self._faces if nearer(face) > 0.0]
            if not faces:
                continue
            face = min(faces, key=mismatch)  # ties keep the first: deterministic
            corners = target[list(EYE_CORNERS), :2]
            scale = float(np.linalg.norm(corners[1] - corners[0]))
            feather = max(1.0, CHEEK_FEATHER * scale)
            warp_target = cheek_warp_points(target, width, height)
            outline = cheek_outline(warp_target, parts)
            covered = feathered_outline(outline, feather, width, height)
            if covered is None:
                continue
            alpha, box = covered
            cell = 2 * int(scale / (2 * CHEEK_CELLS)) + 1
            pixels = warp_coarsely(face.pixels.pixels, face.warp_points, warp_target,
                                   face.triangles, box, cell, width, height, face.pixels.origin)
            strength = np.float32(turned * nearer(face))
            layers.append(Layer(pixels.astype(np.float32).transpose(2, 0, 1),
                                alpha * strength, box, lent=True))
        return layers


def pick_informative_frames(track: np.ndarray, count: int) -> list[int]:
    """Indices of up to `count` frames of a track (T, 478, 3) worth keeping as references: the
    widest mouth, the most closed eyes, the strongest turn to each side, then, taking turns,
    the frame farthest from those already picked in mouth shape (mouth_shape against the
    first frame) and the one farthest in expression (all landmarks brought back onto the first
    frame's head and scaled by the inter-ocular distance): the range of mouth shapes a clip's
    speech goes through, not only its extremes, and the rest of the face (lids, brows).
    Deterministic: ties keep the earliest frame."""
    from ..landmarks.topology import (LEFT_EYE_LOWER, LEFT_EYE_UPPER, RIGHT_EYE_LOWER,
                                      RIGHT_EYE_UPPER)

    def opened(points, upper, lower):
        return opening(points[upper, :2], points[lower, :2], face_axes(points)[0]).ratio

    points = snap_to_pixel_centres(np.asarray(track, np.float64))
    mouth = np.array([opened(p, INNER_LIP_UPPER, INNER_LIP_LOWER) for p in points])
    eyes = np.array([opened(p, RIGHT_EYE_UPPER, RIGHT_EYE_LOWER)
                     + opened(p, LEFT_EYE_UPPER, LEFT_EYE_LOWER) for p in points])
    poses = [head_pose(p, points[0]) for p in points]
    yaw = np.array([np.arctan2(pose.rotation[0, 2], pose.rotation[2, 2]) for pose in poses])
    aligned = np.stack([pose.inverse().apply(p)[:, :2].ravel() / inter_ocular(p)
                        for pose, p in zip(poses, points)])
    lips = np.stack([mouth_shape(p, points[0]) for p in points])  # (T, len(LIP_POINTS), 2)
    picked: list[int] = []
    for index in (int(np.argmax(mouth)), int(np.argmin(eyes)), int(np.argmin(yaw)),
                  int(np.argmax(yaw))):
        if index not in picked and len(picked) < count:
            picked.append(index)
    shapes = (lambda i: np.linalg.norm(lips - lips[i], axis=2).mean(axis=1),
              lambda i: np.linalg.norm(aligned - aligned[i], axis=1))
    while len(picked) < min(count, len(track)):
        distance = shapes[len(picked) % 2]
        nearest = np.min([distance(i) for i in picked], axis=0)
        nearest[picked] = -np.inf  # identical frames must not pick a frame twice
        picked.append(int(np.argmax(nearest)))
    return picked


def references_from_video(path, count: int) -> list[Reference]:
    """The `count` most informative frames of a video of the sitter (pick_informative_frames)
    as references, or a one-line error. The video is read twice, tracked frame by frame and
    then for the chosen frames only, so a long video never sits in memory."""
    from ..landmarks import track_frames
    from ..media import VideoReader

    if count < 1:
        raise PortraitError(f"the number of reference frames must be at least 1, got {count}")
    reader = VideoReader(path)
    try:
        track, _ = track_frames(reader, reader.fps, smooth=False)
    except PortraitError as error:
        raise PortraitError(f"{path}: {error}") from None
    finally:
        reader.close()
    chosen = pick_informative_frames(track, count)
    wanted, images = set(chosen), {}
    reader = VideoReader(path)
    try:
        for index, frame in enumerate(reader):
            if index in wanted:
                images[index] = frame
                if len(images) == len(wanted):
                    break
    finally:
        reader.close()
    return [Reference(images[i], track[i], f"{path} frame {i}") for i in chosen]