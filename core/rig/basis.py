"""The 52 ARKit blendshape deltas, sculpted on one face's own 478 MediaPipe landmarks.

Every shape is authored in the face's local frame (FaceFrame: lateral along the eye line towards
the subject's left, depth away from the camera, up) in inter-ocular units, so a tilted or turned
portrait deforms the same way. Sizes come from the rest shape itself (eye apertures, mouth width,
the jaw hinge's distance to the chin), and each shape moves a few named landmark groups
("handles") whose motion spreads to the surrounding skin with a smooth falloff over distances on
the rest mesh.

Left/Right are the subject's own, as in ARKit: the subject's left is the image's right (+lateral).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import PortraitError
from ..landmarks.topology import (CHIN_TIP, FOREHEAD, LEFT_BROW_LOWER, LEFT_BROW_UPPER,
                                  LEFT_EYE_LOWER, LEFT_EYE_UPPER, LEFT_IRIS_CENTER,
                                  LEFT_IRIS_POINTS, NOSE_TIP, NUM_LANDMARKS, RIGHT_BROW_LOWER,
                                  RIGHT_BROW_UPPER, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER,
                                  RIGHT_IRIS_CENTER, RIGHT_IRIS_POINTS)
from ..smoothing import smoothstep
from .names import ARKIT_NAMES

# The lips as four rings per lip, outermost (vermilion border) first, each running from the
# subject's right to left without the corners. Corners: outer ... inner, per side.
UPPER_LIP_RINGS = [[185, 40, 39, 37, 0, 267, 269, 270, 409],
                   [184, 74, 73, 72, 11, 302, 303, 304, 408],
                   [183, 42, 41, 38, 12, 268, 271, 272, 407],
                   [191, 80, 81, 82, 13, 312, 311, 310, 415]]
LOWER_LIP_RINGS = [[146, 91, 181, 84, 17, 314, 405, 321, 375],
                   [77, 90, 180, 85, 16, 315, 404, 320, 307],
                   [96, 89, 179, 86, 15, 316, 403, 319, 325],
                   [95, 88, 178, 87, 14, 317, 402, 318, 324]]
RIGHT_MOUTH_CORNER = [61, 76, 62, 78]
LEFT_MOUTH_CORNER = [291, 306, 292, 308]
UPPER_LIP = sum(UPPER_LIP_RINGS, [])
LOWER_LIP = sum(LOWER_LIP_RINGS, [])
LIPS = UPPER_LIP + LOWER_LIP + RIGHT_MOUTH_CORNER + LEFT_MOUTH_CORNER

# Eyes and brows per side: the subject's right (-1, image left) and left (+1, image right).
EYE_UPPER = {-1: RIGHT_EYE_UPPER, 1: LEFT_EYE_UPPER}
EYE_LOWER = {-1: RIGHT_EYE_LOWER, 1: LEFT_EYE_LOWER}
IRIS_BY_SIDE = {-1: RIGHT_IRIS_POINTS, 1: LEFT_IRIS_POINTS}
BROW = {-1: RIGHT_BROW_UPPER + RIGHT_BROW_LOWER, 1: LEFT_BROW_UPPER + LEFT_BROW_LOWER}
CHEEK = {-1: 50, 1: 280}  # cheek centres below the eyes
NOSE_WING = {-1: [129, 64, 48, 98, 102, 49], 1: [358, 294, 278, 327, 331, 279]}


@dataclass
class FaceFrame:
    """The face's own frame: origin between the irises, rows lateral/depth/up, IOD units.

    `axes` (3, 3) has rows lateral (towards the subject's left), depth (away from the camera)
    and up, in portrait space; lateral x depth = up, like portrait X x Y = Z.
    """
    origin: np.ndarray
    axes: np.ndarray
    unit: float

    @classmethod
    def of(cls, rest: np.ndarray) -> "FaceFrame":
        """The frame of rest landmarks (478, 3) in portrait space."""
        lateral = rest[LEFT_IRIS_CENTER] - rest[RIGHT_IRIS_CENTER]
        unit = float(np.linalg.norm(lateral))
        if unit < 1e-9:
            raise PortraitError("the landmarks are degenerate (both eyes at one point)")
        lateral = lateral / unit
        up = rest[FOREHEAD] - rest[CHIN_TIP]
        up = up - (up @ lateral) * lateral
        up = up / np.linalg.norm(up)
        depth = np.cross(up, lateral)
        origin = (rest[LEFT_IRIS_CENTER] + rest[RIGHT_IRIS_CENTER]) / 2
        return cls(origin, np.stack([lateral, depth, up]), unit)

    def to_local(self, points: np.ndarray) -> np.ndarray:
        """Portrait-space points (..., 3) -> local (..., 3) = (lateral, depth, up) in IOD."""
        return (points - self.origin) @ self.axes.T / self.unit

    def to_portrait(self, local: np.ndarray) -> np.ndarray:
        """Local points (..., 3) -> portrait space."""
        return local @ self.axes * self.unit + self.origin

    def delta_to_portrait(self, local_delta: np.ndarray) -> np.ndarray:
        """Local displacements (..., 3) -> portrait-space displacements."""
        return local_delta @ self.axes * self.unit


def bump(distance: np.ndarray, radius: float) -> np.ndarray:
    """Compact smooth falloff: 1 at distance 0, 0 from `radius` on, zero slope at both ends."""
    t = np.clip(np.asarray(distance) / radius, 0.0, 1.0)
    return (1 - t * t) ** 2


def rotation_about(axis: np.ndarray, angle: float) -> np.ndarray:
    """(3, 3) right-handed rotation by `angle` radians about the unit `axis` (Rodrigues)."""
    x, y, z = axis
    hat = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    return np.eye(3) + np.sin(angle) * hat + (1 - np.cos(angle)) * hat @ hat


class Sculptor:
    """Builds the shapes as local displacements (478, 3) of one rest face, in IOD units."""

    def __init__(self, local: np.ndarray):
        self.local = local
        self.lateral, self.depth, self.up = local.T
        self.mouth_half_width = (local[LEFT_MOUTH_CORNER[0], 0] - local[RIGHT_MOUTH_CORNER[0], 0]) / 2
        self.mouth_centre = (local[13] + local[14]) / 2
        mouth_corners = (local[RIGHT_MOUTH_CORNER[0]] + local[LEFT_MOUTH_CORNER[0]]) / 2
        # The jaw hinge: near the ears (the face oval's depth at the cheekbones), at the height
        # of the ear canal, a little below the nose bridge.
        self.jaw_hinge = np.array([0.0, (local[234, 1] + local[454, 1]) / 2,
                                   (local[234, 2] + local[454, 2]) / 2 - 0.1])
        self.mouth_line = mouth_corners[2]

    # --- building blocks -------------------------------------------------------------------
    def zeros(self) -> np.ndarray:
        return np.zeros_like(self.local)

    def side(self, sign: int, width: float = 0.12) -> np.ndarray:
        """(478,) 1 on the subject's `sign` side (+1 left, -1 right), 0 on the other."""
        return smoothstep(sign * self.lateral, -width, width)

    def along_mouth(self, indices) -> np.ndarray:
        """Position of lip points along the mouth: -1 at the right corner, +1 at the left."""
        return np.clip((self.lateral[indices] - self.mouth_centre[0]) / self.mouth_half_width, -1, 1)

    def spread(self, handles, deltas: np.ndarray, radius: float, anchors=()) -> np.ndarray:
        """Move `handles` by `deltas` (n, 3) and the skin around them with a smooth falloff.

        Each other point takes the inverse-distance (power 4) blend of the handles' motions,
        with `anchors` (and untouched handles) pulling it towards zero, scaled down to zero at
        `radius` from the nearest handle.
        """
        handles = np.asarray(handles)
        deltas = np.broadcast_to(np.asarray(deltas, np.float64), (len(handles), 3))
        anchors = np.setdiff1d(np.asarray(anchors, int), handles)
        sources = np.concatenate([handles, anchors]).astype(int)
        source_deltas = np.concatenate([deltas, np.zeros((len(anchors), 3))])
        distances = np.linalg.norm(self.local[:, None] - self.local[sources][None], axis=-1)
        weights = 1.0 / np.maximum(distances, 1e-6) ** 4
        blended = weights @ source_deltas / weights.sum(axis=1, keepdims=True)
        moving = np.linalg.norm(deltas, axis=1) > 0
        nearest = distances[:, :len(handles)][:, moving].min(axis=1) if moving.any() else np.inf
        out = blended * bump(nearest, radius)[:, None]
        out[handles] = deltas
        out[anchors] = 0.0
        return out

    # --- eyes ------------------------------------------------------------------------------
    def lids(self, sign: int) -> tuple[list[int], list[int], np.ndarray]:
        """Upper and lower lid points (paired, corners excluded) and their gaps (n, 3) upper - lower."""
        upper, lower = EYE_UPPER[sign][1:-1], EYE_LOWER[sign][1:-1]
        return upper, lower, self.local[upper] - self.local[lower]

    def eye_shape(self, sign: int, upper_move: np.ndarray, lower_move: np.ndarray,
                  radius: float = 0.22) -> np.ndarray:
        """Move one eye's lids (local deltas per paired lid point) with the skin around them."""
        upper, lower, _ = self.lids(sign)
        corners = [EYE_UPPER[sign][0], EYE_UPPER[sign][-1]]
        other = -sign
        anchors = (corners + IRIS_BY_SIDE[sign] + IRIS_BY_SIDE[other] + EYE_UPPER[other]
                   + EYE_LOWER[other] + BROW[sign] + [NOSE_TIP])
        return self.spread(upper + lower, np.concatenate([upper_move, lower_move]), radius, anchors)

    def blink(self, sign: int) -> np.ndarray:
        """The upper lid comes down onto the lower lid, which rises a little: aperture closed."""
        _, _, gap = self.lids(sign)
        return self.eye_shape(sign, -0.8 * gap, 0.2 * gap)

    def squint(self, sign: int) -> np.ndarray:
        _, _, gap = self.lids(sign)
        shape = self.eye_shape(sign, -0.15 * gap, 0.35 * gap)
        return shape + self.cheek_raise(sign, 0.025)

    def wide(self, sign: int) -> np.ndarray:
        _, _, gap = self.lids(sign)
        return self.eye_shape(sign, 0.45 * gap, -0.1 * gap)

    def look(self, sign: int, direction: np.ndarray, lid_follow: float) -> np.ndarray:
        """Move one iris by `direction` (local, IOD units); the upper lid follows vertical gaze."""
        _, _, gap = self.lids(sign)
        shape = self.eye_shape(sign, lid_follow * gap, 0.3 * lid_follow * gap) if lid_follow else self.zeros()
        shape[IRIS_BY_SIDE[sign]] = direction
        return shape

    def eye_width(self, sign: int) -> float:
        return float(np.linalg.norm(self.local[EYE_UPPER[sign][0]] - self.local[EYE_UPPER[sign][-1]]))

    # --- brows -----------------------------------------------------------------------------
    def brow_position(self, sign: int) -> np.ndarray:
        """Per brow point: 0 at the inner (nose) end, 1 at the outer end."""
        lateral = sign * self.lateral[BROW[sign]]
        return np.clip((lateral - lateral.min()) / np.ptp(lateral), 0, 1)

    def brow_shape(self, sign: int, deltas: np.ndarray, radius: float = 0.4) -> np.ndarray:
        anchors = (EYE_UPPER[sign] + EYE_LOWER[sign] + IRIS_BY_SIDE[sign] + BROW[-sign]
                   + [NOSE_TIP, 6, 197])
        return self.spread(BROW[sign], deltas, radius, anchors)

    def brow_down(self, sign: int) -> np.ndarray:
        inner = 1 - self.brow_position(sign)
        deltas = np.zeros((len(BROW[sign]), 3))
        deltas[:, 2] = -0.09 * (0.5 + 0.5 * inner)
        deltas[:, 0] = -sign * 0.05 * inner  # drawn towards the nose
        shape = self.brow_shape(sign, deltas)
        upper, _, gap = self.lids(sign)
        shape[upper] += -0.12 * gap  # the brow pushes the lid fold down
        return shape

    def brow_inner_up(self) -> np.ndarray:
        shape = self.zeros()
        for sign in (-1, 1):
            deltas = np.zeros((len(BROW[sign]), 3))
            deltas[:, 2] = 0.13 * (1 - self.brow_position(sign)) ** 1.5
            deltas[:, 0] = sign * 0.01 * (1 - self.brow_position(sign))
            shape += self.brow_shape(sign, deltas, radius=0.45)
        return shape

    def brow_outer_up(self, sign: int) -> np.ndarray:
        deltas = np.zeros((len(BROW[sign]), 3))
        deltas[:, 2] = 0.12 * self.brow_position(sign) ** 1.2
        return self.brow_shape(sign, deltas, radius=0.45)

    # --- cheeks and nose -------------------------------------------------------------------
    def cheek_raise(self, sign: int, amount: float, radius: float = 0.45) -> np.ndarray:
        """Lift the cheek below one eye (skin towards the eye)."""
        centre = self.local[CHEEK[sign]]
        shape = self.zeros()
        shape[:, 2] = amount * bump(np.linalg.norm(self.local - centre, axis=1), radius)
        shape[IRIS_BY_SIDE[sign]] = 0.0
        return shape

    def cheek_squint(self, sign: int) -> np.ndarray:
        """The cheek rises under the eye and pushes the lower lid up."""
        _, _, gap = self.lids(sign)
        return self.cheek_raise(sign, 0.06) + self.eye_shape(sign, np.zeros_like(gap), 0.15 * gap)

    def cheek_puff(self) -> np.ndarray:
        shape = self.zeros()
        for sign in (-1, 1):
            centre = np.array([sign * 0.7, self.local[CHEEK[sign], 1], self.mouth_line + 0.15])
            falloff = bump(np.linalg.norm(self.local - centre, axis=1), 0.55)
            shape += falloff[:, None] * np.array([sign * 0.09, -0.05, 0.0])
        shape[LIPS] *= 0.3
        return shape

    def nose_sneer(self, sign: int) -> np.ndarray:
        wing = NOSE_WING[sign]
        deltas = np.array([sign * 0.015, -0.005, 0.06])
        shape = self.spread(wing, deltas, 0.35, anchors=[NOSE_TIP, 4, 5, 195, 197, 6])
        shape[BROW[sign]] += np.array([0, 0, -0.02]) * (1 - self.brow_position(sign))[:, None]
        return shape

    # --- jaw -------------------------------------------------------------------------------
    def jaw_weight(self) -> np.ndarray:
        """(478,) how much each point follows the jaw: the chin and lower lip fully, the upper lip
        not at all, with a smooth fade over the cheeks from below the mouth line to above it."""
        weight = smoothstep(self.up, self.mouth_line + 0.12, self.mouth_line - 0.35)
        corner_fade = 1 - np.abs(self.along_mouth(LOWER_LIP)) ** 3
        weight[LOWER_LIP] = 0.5 + 0.5 * corner_fade
        weight[UPPER_LIP] = 0.0
        weight[RIGHT_MOUTH_CORNER + LEFT_MOUTH_CORNER] = 0.55
        return weight

    def jaw_rotation(self, degrees: float) -> np.ndarray:
        """Jaw rotation about the hinge's lateral axis, weighted by jaw_weight.

        MediaPipe's depth barely follows the jaw's backward swing, so the depth part is damped.
        """
        rotation = rotation_about(np.array([1.0, 0.0, 0.0]), np.radians(degrees))
        moved = (self.local - self.jaw_hinge) @ rotation.T + self.jaw_hinge
        delta = (moved - self.local) * self.jaw_weight()[:, None]
        delta[:, 1] *= 0.25
        return delta

    def jaw_open(self) -> np.ndarray:
        """The jaw swings down; the lower lip drops further than the chin as it unrolls and the
        upper lip arches (its middle rises a little, its ends follow the corners down)."""
        # A right-handed turn about +lateral takes the front of the face (-depth) downwards.
        shape = self.jaw_rotation(26.0)
        lower = self.along_mouth(LOWER_LIP)
        lips = {n: np.array([0.0, 0.0, -(0.08 + 0.1 * (1 - t * t))]) for n, t in zip(LOWER_LIP, lower)}
        lips.update({n: np.array([0.0, 0.0, 0.06 - 0.16 * t * t])
                     for n, t in zip(UPPER_LIP, self.along_mouth(UPPER_LIP))})
        anchors = [CHIN_TIP, 148, 377, 176, 400] + RIGHT_MOUTH_CORNER + LEFT_MOUTH_CORNER
        return shape + self.spread(list(lips), np.array(list(lips.values())), 0.3, anchors)

    def jaw_shift(self, direction: np.ndarray) -> np.ndarray:
        return self.jaw_weight()[:, None] * direction

    # --- mouth -----------------------------------------------------------------------------
    def mouth_shape(self, deltas: dict, radius: float = 0.45) -> np.ndarray:
        """Move lip points ({index: local delta}; unlisted lip points stay) and the skin around."""
        handles = list(deltas)
        anchors = [n for n in LIPS if n not in deltas] + [NOSE_TIP, 4, 5, 195]
        return self.spread(handles, np.array([deltas[n] for n in handles]), radius, anchors)

    def lip_deltas(self, move) -> dict:
        """{lip index: move(index, position along the mouth -1..1, is_upper, ring 0..3 or corner=-1)}."""
        out = {}
        for ring, indices in enumerate(UPPER_LIP_RINGS):
            for n, t in zip(indices, self.along_mouth(indices)):
                out[n] = move(n, t, True, ring)
        for ring, indices in enumerate(LOWER_LIP_RINGS):
            for n, t in zip(indices, self.along_mouth(indices)):
                out[n] = move(n, t, False, ring)
        for n in RIGHT_MOUTH_CORNER:
            out[n] = move(n, -1.0, None, -1)
        for n in LEFT_MOUTH_CORNER:
            out[n] = move(n, 1.0, None, -1)
        return out

    def corner_pull(self, sign: int, direction: np.ndarray, lower_follow: float = 0.5,
                    radius: float = 0.5) -> np.ndarray:
        """Pull one mouth corner by `direction`; the lips follow less and less towards the middle."""
        def move(n, t, upper, ring):
            reach = smoothstep(sign * t, -0.2, 1.0)
            follow = 1.0 if upper is None else (lower_follow if upper is False else 0.5)
            return np.asarray(direction) * reach * (1.0 if upper is None else follow)
        return self.mouth_shape(self.lip_deltas(move), radius)

    def smile(self, sign: int) -> np.ndarray:
        scale = self.mouth_half_width
        shape = self.corner_pull(sign, np.array([sign * 0.22, 0.1, 0.28]) * scale, radius=0.55)
        return shape + self.cheek_raise(sign, 0.05)

    def frown(self, sign: int) -> np.ndarray:
        return self.corner_pull(sign, np.array([sign * 0.05, 0.0, -0.25]) * self.mouth_half_width)

    def dimple(self, sign: int) -> np.ndarray:
        return self.corner_pull(sign, np.array([sign * 0.1, 0.12, 0.02]) * self.mouth_half_width)

    def stretch(self, sign: int) -> np.ndarray:
        return self.corner_pull(sign, np.array([sign * 0.22, 0.03, -0.1]) * self.mouth_half_width,
                                lower_follow=0.8)

    def lip_vertical(self, amount, radius: float = 0.45) -> np.ndarray:
        """Move lips vertically: amount(t, is_upper, ring) -> local up displacement (IOD)."""
        def move(n, t, upper, ring):
            return np.array([0.0, 0.0, amount(t, upper, ring)])
        return self.mouth_shape(self.lip_deltas(move), radius)

    def press(self, sign: int) -> np.ndarray:
        # Lips pressed together and thinned: the borders roll in towards the closed line.
        def amount(t, upper, ring):
            if upper is None:
                return 0.0
            reach = smoothstep(sign * t, -0.4, 0.6)
            thin = (0.045 if ring == 0 else 0.03 if ring == 1 else 0.015)
            return (-thin if upper else thin) * reach
        return self.lip_vertical(amount, radius=0.35)

    def upper_up(self, sign: int) -> np.ndarray:
        return self.lip_vertical(lambda t, upper, ring: 0.1 * smoothstep(sign * t, -0.3, 0.5)
                                 if upper else 0.0)

    def lower_down(self, sign: int) -> np.ndarray:
        return self.lip_vertical(lambda t, upper, ring: -0.11 * smoothstep(sign * t, -0.3, 0.5)
                                 if upper is False else 0.0)

    def roll(self, upper_lip: bool) -> np.ndarray:
        """The lip rolls in over the teeth: its outer rings move onto the inner ones and back."""
        rings = UPPER_LIP_RINGS if upper_lip else LOWER_LIP_RINGS
        deltas = {}
        for ring in range(3):
            for outer, inner in zip(rings[ring], rings[3]):
                gap = self.local[inner] - self.local[outer]
                deltas[outer] = (0.7 - 0.15 * ring) * gap + np.array([0.0, 0.04, 0.0])
        return self.mouth_shape(deltas, radius=0.3)

    def shrug(self, upper_lip: bool) -> np.ndarray:
        if upper_lip:
            return self.lip_vertical(lambda t, upper, ring: 0.05 * (1 - t * t) if upper else 0.0)
        # the chin boss pushes the lower lip up and the chin up and forward
        lips = self.lip_vertical(lambda t, upper, ring: 0.07 * (1 - t * t) if upper is False else 0.0)
        chin = smoothstep(self.up, self.mouth_line - 0.1, self.mouth_line - 0.4) * bump(
            np.abs(self.lateral), 0.7)
        chin[LIPS] = 0.0
        return lips + chin[:, None] * np.array([0.0, -0.03, 0.06])

    def mouth_side(self, sign: int) -> np.ndarray:
        """The whole mouth slides towards the subject's `sign` side, the leading corner most."""
        shift = 0.28 * self.mouth_half_width

        def move(n, t, upper, ring):
            return np.array([sign * shift * (0.85 + 0.15 * sign * t), 0.0, 0.0])
        return self.mouth_shape(self.lip_deltas(move), radius=0.5)

    def pucker(self) -> np.ndarray:
        def move(n, t, upper, ring):
            inward = -t * 0.3 * self.mouth_half_width
            forward = -0.14 * (1 - 0.5 * abs(t)) * (1.0 if ring in (0, 1, -1) else 0.8)
            vertical = 0.0 if upper is None else (-0.015 if upper else 0.015) * (1 - abs(t))
            return np.array([inward, forward, vertical])
        return self.mouth_shape(self.lip_deltas(move))

    def funnel(self) -> np.ndarray:
        def move(n, t, upper, ring):
            inward = -t * 0.18 * self.mouth_half_width
            forward = -0.12 * (1 - 0.5 * abs(t)) * (1.2 if ring == 0 else 1.0)
            opening = 0.0 if upper is None else (0.06 if upper else -0.08) * (1 - t * t)
            return np.array([inward, forward, opening])
        return self.mouth_shape(self.lip_deltas(move))

    def mouth_close(self, jaw_open: np.ndarray) -> np.ndarray:
        """Closes the lips against jawOpen: the lower lip rides 70% of the way back up and the
        upper lip comes down to meet it (each upper point onto its paired lower point)."""
        shape = self.zeros()
        shape[LOWER_LIP] = -0.7 * jaw_open[LOWER_LIP]
        shape[UPPER_LIP] = 0.3 * jaw_open[LOWER_LIP] - jaw_open[UPPER_LIP]
        return shape

    def tongue_out(self) -> np.ndarray:
        lips = self.lip_vertical(lambda t, upper, ring: 0.0 if upper is None else
                                 (0.02 if upper else -0.06) * (1 - t * t))
        return lips + 0.15 * self.jaw_open()


def sculpt(local: np.ndarray) -> np.ndarray:
    """All 52 shapes (52, 478, 3) as local displacements of a rest face given in local IOD units."""
    s = Sculptor(local)
    eye_w = {sign: s.eye_width(sign) for sign in (-1, 1)}
    jaw_open = s.jaw_open()
    shapes = {}
    for side, sign in (("Left", 1), ("Right", -1)):
        # horizontal gaze: up to a third of the eye's width, less when the iris already sits
        # near a corner (a painted sideways glance)
        corners = s.local[[EYE_UPPER[sign][0], EYE_UPPER[sign][-1]], 0]
        iris = s.local[IRIS_BY_SIDE[sign][0], 0]
        room = {side_sign: 0.6 * np.abs(corners - iris)[np.argmax(side_sign * corners)]
                for side_sign in (-1, 1)}
        look_out = min(0.32 * eye_w[sign], room[sign])
        look_in = min(0.32 * eye_w[sign], room[-sign])
        # vertical gaze is bounded by the eye's own aperture (narrow eyes move their iris less)
        look_up = 0.3 * np.linalg.norm(s.lids(sign)[2], axis=1).max()
        shapes[f"eyeBlink{side}"] = s.blink(sign)
        shapes[f"eyeLookDown{side}"] = s.look(sign, np.array([0, 0, -look_up]), -0.35)
        shapes[f"eyeLookIn{side}"] = s.look(sign, np.array([-sign * look_in, 0, 0]), 0.0)
        shapes[f"eyeLookOut{side}"] = s.look(sign, np.array([sign * look_out, 0, 0]), 0.0)
        shapes[f"eyeLookUp{side}"] = s.look(sign, np.array([0, 0, look_up]), 0.25)
        shapes[f"eyeSquint{side}"] = s.squint(sign)
        shapes[f"eyeWide{side}"] = s.wide(sign)
        shapes[f"mouthSmile{side}"] = s.smile(sign)
        shapes[f"mouthFrown{side}"] = s.frown(sign)
        shapes[f"mouthDimple{side}"] = s.dimple(sign)
        shapes[f"mouthStretch{side}"] = s.stretch(sign)
        shapes[f"mouthPress{side}"] = s.press(sign)
        shapes[f"mouthLowerDown{side}"] = s.lower_down(sign)
        shapes[f"mouthUpperUp{side}"] = s.upper_up(sign)
        shapes[f"browDown{side}"] = s.brow_down(sign)
        shapes[f"browOuterUp{side}"] = s.brow_outer_up(sign)
        shapes[f"cheekSquint{side}"] = s.cheek_squint(sign)
        shapes[f"noseSneer{side}"] = s.nose_sneer(sign)
        # mouthLeft moves the mouth towards the subject's left; jawLeft likewise.
        shapes[f"mouth{side}"] = s.mouth_side(sign)
        shapes[f"jaw{side}"] = s.jaw_shift(np.array([sign * 0.12, 0.0, 0.0]))
    shapes["jawForward"] = s.jaw_shift(np.array([0.0, -0.1, 0.02]))
    shapes["jawOpen"] = jaw_open
    shapes["mouthClose"] = s.mouth_close(jaw_open)
    shapes["mouthFunnel"] = s.funnel()
    shapes["mouthPucker"] = s.pucker()
    shapes["mouthRollLower"] = s.roll(upper_lip=False)
    shapes["mouthRollUpper"] = s.roll(upper_lip=True)
    shapes["mouthShrugLower"] = s.shrug(upper_lip=False)
    shapes["mouthShrugUpper"] = s.shrug(upper_lip=True)
    shapes["browInnerUp"] = s.brow_inner_up()
    shapes["cheekPuff"] = s.cheek_puff()
    shapes["tongueOut"] = s.tongue_out()
    assert set(shapes) == set(ARKIT_NAMES)
    return np.stack([shapes[name] for name in ARKIT_NAMES])


def build_basis(rest: np.ndarray) -> np.ndarray:
    """Blendshape deltas (52, 478, 3) in portrait space for rest landmarks (478, 3) in portrait space."""
    rest = np.asarray(rest, np.float64)
    if rest.shape != (NUM_LANDMARKS, 3):
        raise PortraitError(f"expected {NUM_LANDMARKS} landmarks (478, 3), got {rest.shape}")
    frame = FaceFrame.of(rest)
    return frame.delta_to_portrait(sculpt(frame.to_local(rest)))
