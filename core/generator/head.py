"""The rings of points that carry hair, ears and neck with the head, and the still image border.

The face mesh ends at the face oval, but a turning head also moves the hair, the ears and part
of the neck. Rings of control points outside the oval follow the 3D head motion fitted on the
rigid parts of the face (full motion near the face, partial further out, none at the outer
ring; set back in depth like the skull's outline), so the warp moves the whole head coherently
and leaves the background still. Just under the chin a few more points carry the skin there
with the chin when the jaw drops, while the neck below stays.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..landmarks.topology import FACE_OVAL, face_axes
from ..retarget.pose import Similarity

OVAL = FACE_OVAL[:-1]  # the closed polyline repeats its first point


@dataclass(frozen=True)
class Ring:
    """A ring of control points around the face oval, one per oval landmark."""
    reach: tuple[float, float, float]  # distance from the oval in oval radii: at the sides,
                                       # extra above (hair rises), extra below (the neck)
    share: tuple[float, float]         # share of the head motion taken: at the sides, below
    depth: float                       # oval radii behind the oval point it hangs from
    border: float                      # reaches at most this share of the way to the border


# The head's outline (hair, ears) lies behind the face oval, about the skull's middle depth,
# so a turning head swings the face across it while it barely shifts, as a real skull does.
# The second ring (loose hair, the neck) half follows the head, the outer one not at all;
# where the moving head uncovers what was head, the background comes from the plate (matte.py).
RINGS = (
    Ring((0.15, 0.35, 0.12), (1.0, 0.5), 0.6, 0.55),  # hair, ears, top of the neck
    Ring((0.45, 0.60, 0.35), (0.5, 0.2), 0.6, 0.78),  # loose hair, neck, shoulders
    Ring((1.00, 1.00, 0.65), (0.0, 0.0), 0.6, 0.92),  # background: still
)
# The skin under the chin: a point below each oval point around the chin (whose direction
# from the oval's centre is within about 37 degrees of straight down), part of the way to
# the first ring.
CHIN_SKIN_SPREAD = 0.8  # cosine of the largest angle from straight down
CHIN_SKIN_REACH = 0.3   # share of the way from the oval point to its first-ring point
BORDER_POINTS_PER_SIDE = 8


def _distance_to_border(points: np.ndarray, directions: np.ndarray, width: int,
                        height: int) -> np.ndarray:
    """Distance (N,) from points inside the image along unit directions to the image edge."""
    lo = np.array([-0.5, -0.5])
    hi = np.array([width - 0.5, height - 0.5])
    with np.errstate(divide="ignore"):
        to_hi = np.where(directions > 1e-9, (hi - points) / directions, np.inf)
        to_lo = np.where(directions < -1e-9, (lo - points) / directions, np.inf)
    return np.maximum(np.minimum(to_hi, to_lo).min(axis=1), 0.0)


@dataclass(frozen=True)
class HeadRings:
    """Control points around the head: positions (K, 3) in the source and motion shares (K,):
    the rings of RINGS in order, one point per oval landmark each, then the skin under the chin."""
    points: np.ndarray    # (K, 3) x, y (pixel indices), z (pixels)
    share: np.ndarray     # (K,) 1 = moves with the head, 0 = still
    anchors: np.ndarray   # (K,) the face-oval landmark each ring point hangs from
    follow: np.ndarray    # (K,) share of the anchor's own (non-rigid) motion it copies

    def ring(self, index: int) -> np.ndarray:
        """(len(OVAL), 3) the points of ring `index` of RINGS, in the oval's order."""
        return self.points[index * len(OVAL):(index + 1) * len(OVAL)]


def head_rings(landmarks: np.ndarray, width: int, height: int) -> HeadRings:
    """Rings of control points around the face oval of source landmarks (478, 3) (x, y in
    pixel indices), kept inside the image of the given size, and the skin under the chin."""
    oval = landmarks[OVAL].astype(np.float64)
    centre = oval[:, :2].mean(axis=0)
    radial = oval[:, :2] - centre
    radius = np.hypot(radial[:, 0], radial[:, 1])
    mean_radius = float(radius.mean())
    directions = radial / np.maximum(radius, 1e-6)[:, None]
    _, down = face_axes(landmarks)
    downness = np.clip(directions @ down, 0.0, 1.0)
    upness = np.clip(-(directions @ down), 0.0, 1.0)
    # Rings start at the oval point; for an oval point outside the image, from its projection.
    start = np.clip(oval[:, :2], [-0.5, -0.5], [width - 0.5, height - 0.5])
    room = _distance_to_border(start, directions, width, height)

    points, shares, follows = [], [], []
    for ring in RINGS:
        (base, up_extra, down_extra), (side_share, chin_share) = ring.reach, ring.share
        reach = mean_radius * (base + up_extra * upness + down_extra * downness)
        reach = np.minimum(reach, ring.border * room)
        xy = start + directions * reach[:, None]
        points.append(np.column_stack([xy, oval[:, 2] + ring.depth * mean_radius]))
        share = side_share + (chin_share - side_share) * downness
        shares.append(share)
        # The tracked outline is the best cue for the silhouette: a ring also copies what its
        # anchor does beyond the head motion, except under the jaw (the neck stays when the
        # jaw drops).
        follows.append(share * (1.0 - downness))
    anchors = np.tile(np.asarray(OVAL), len(RINGS))

    # A dropping chin would squeeze the band between it and the first ring (the neck, which
    # stays) into a hard line: a seam along the jaw with a second chin line below it. The
    # skin just under the chin is the chin's: it goes down with all of the chin's own motion,
    # its shading intact, and the neck takes up the difference, covered by the chin as a real
    # neck is. For the head's motion these points sit in the band and move as it would there.
    chin = downness > CHIN_SKIN_SPREAD
    oval_points = np.column_stack([start, oval[:, 2]])
    skin = oval_points + CHIN_SKIN_REACH * (points[0] - oval_points)
    points.append(skin[chin])
    shares.append(1.0 - CHIN_SKIN_REACH * (1.0 - shares[0][chin]))
    follows.append(np.ones(int(chin.sum())))
    anchors = np.concatenate([anchors, np.asarray(OVAL)[chin]])
    return HeadRings(np.concatenate(points), np.concatenate(shares), anchors,
                     np.concatenate(follows))


def border_points(width: int, height: int, per_side: int = BORDER_POINTS_PER_SIDE) -> np.ndarray:
    """(4 * per_side, 2) still points around the image edge (pixel indices)."""
    steps = np.linspace(0.0, 1.0, per_side, endpoint=False)
    x0, y0, x1, y1 = -0.5, -0.5, width - 0.5, height - 0.5
    top = np.column_stack([x0 + steps * (x1 - x0), np.full_like(steps, y0)])
    right = np.column_stack([np.full_like(steps, x1), y0 + steps * (y1 - y0)])
    bottom = np.column_stack([x1 - steps * (x1 - x0), np.full_like(steps, y1)])
    left = np.column_stack([np.full_like(steps, x0), y1 - steps * (y1 - y0)])
    return np.concatenate([top, right, bottom, left])


def ring_targets(rings: HeadRings, motion: Similarity, source: np.ndarray,
                 target: np.ndarray) -> np.ndarray:
    """Where the ring points go (K, 3) (x, y, depth) when the landmarks move from source to
    target (478, 3).

    Each point moves by its share of the fitted head motion, plus a fraction of what its oval
    anchor does beyond that motion (the tracked outline). Motions under a thousandth of a
    pixel are snapped to zero so an unmoved head leaves the background bit-exact.
    """
    rigid = motion.apply(rings.points) - rings.points
    anchor_rest = motion.apply(source[rings.anchors].astype(np.float64))
    anchor_own = target[rings.anchors] - anchor_rest
    offset = rings.share[:, None] * rigid + rings.follow[:, None] * anchor_own
    offset[np.abs(offset) < 1e-3] = 0.0
    return rings.points + offset
