"""Generator: source portrait + source landmarks + target landmarks -> frame, at full size."""
from __future__ import annotations

import numpy as np

from ..landmarks.topology import MESH_POINT_INDICES, face_axes, face_size
from ..retarget.pose import Similarity, head_pose
from .composite import Box, Layer, blend
from .eyes import EYE_PARTS, Eye, eye_opening
from .head import border_points, head_rings, ring_targets
from .matte import HeadMatte
from .inputs import check_image, check_landmarks, snap_to_pixel_centres
from .mouth import Mouth
from .palette import skin_colour
from .references import (MIN_OPENING, Reference, ReferenceCheeks, ReferenceLids,
                         ReferenceMouths)
from .resample import CPU, make_resampler
from .warp import mesh_box, mesh_field, moving_triangles, triangulate

NODES_PER_FACE = 24  # lattice cells across the face: the warp's resolution (finer buys nothing)
FOLD_SUBDIVISION = 16  # lattice cells around closing lids: this many per warp cell


class Generator:
    """Animates one portrait: render(target landmarks) -> frame of the portrait's own size.

    Landmarks are (478, 3) in the portrait's pixels (x, y, and z in the same units, as
    core.landmarks returns them). The head moves as a whole (hair, ears and part of the neck
    with it, the background and image border still, filled where the head uncovers it), the
    lips part over a painted mouth interior, the lids close over the eyes and the irises follow
    the gaze. Pixels nothing moves are the portrait's own, bit for bit. References (more
    pictures of the sitter, see references.py) lend their real mouths (lips, interior and the
    skin around) where their lips are nearer the target's than the portrait's, their closed
    lids where an eye of the target closes, and the cheek a turned head shows where they are
    turned the same way.
    """

    def __init__(self, source_image: np.ndarray, source_landmarks: np.ndarray,
                 device: str = CPU, references: list[Reference] = ()):
        self._image = check_image(source_image)
        self._planes = np.ascontiguousarray(self._image.transpose(2, 0, 1))  # for the layers
        self.height, self.width = self._image.shape[:2]
        self.device = device
        self._landmarks = snap_to_pixel_centres(check_landmarks(source_landmarks,
                                                                "source landmarks"))

        source = self._landmarks
        right, _ = face_axes(source)
        self._rings = head_rings(source, self.width, self.height)
        # Where the moved head leaves a pixel that was head, the background shows.
        self._matte = HeadMatte.measure(self._image, source, self._rings)
        self._resampler = make_resampler(self._image, device)
        face_height = face_size(source)
        # Odd, so that the resampler's upsampling lands each node on a whole pixel.
        self._cell = 2 * int(round((face_height / NODES_PER_FACE - 1) / 2)) + 1
        # Around closing lids the map folds; sampled this finely there, the fold's band is at
        # most 1/FOLD_SUBDIVISION of a cell (a pixel up to 1024 px portraits).
        self._fold_cell = 2 * (self._cell // (2 * FOLD_SUBDIVISION)) + 1
        skin = skin_colour(self._planes, source)
        self._eyes = [Eye.measure(self._planes, source, parts, right, skin) for parts in EYE_PARTS]
        white = np.mean([eye.white for eye in self._eyes], axis=0)
        self._mouth = Mouth.measure(self._planes, source, right, white, skin)
        for reference in references:
            reference.check_sitter(source)
        # The portrait's skin colours, which lent pixels are matched to, are measured once and
        # only if something is lent.
        portrait = Reference(self._image, source_landmarks, "the portrait")
        self._reference_mouths = ReferenceMouths(portrait, list(references))
        self._reference_lids = ReferenceLids(portrait, list(references))
        self._reference_cheeks = ReferenceCheeks(portrait, list(references))
        # The still image border, (K, 3) x, y, depth: the same in every target, behind all.
        border = border_points(self.width, self.height)
        self._border = np.column_stack([border, np.full(len(border),
                                                        source[:, 2].max() + face_height)])
        # Warp control points in the source: the landmarks but the irises, the lash bands, the
        # head rings and the image border (see _control_targets).
        self._control_source = np.concatenate([source[MESH_POINT_INDICES, :2],
                                               *(eye.lash_band for eye in self._eyes),
                                               self._rings.points[:, :2], border])
        self._triangles = triangulate(self._control_source)

    def render(self, target_landmarks: np.ndarray, frame_reference: Reference | None = None,
               out: np.ndarray | None = None) -> np.ndarray:
        """The portrait moved to target landmarks (478, 3): uint8 (H, W, 3). frame_reference:
        a picture lending its mouth interior to this frame only (the driver's own frame, any
        person; colour-matched), ahead of the references. out: an (H, W, 3) uint8 array to
        render into and return (e.g. the previous frame, once written) instead of a new one: on
        Linux a new array over 32 MB (from about 3300 px square) is fresh memory from the
        system every time, and first writes to it cost (about 9 ms at 4096 px, measured here:
        a tenth of the frame)."""
        target = snap_to_pixel_centres(check_landmarks(target_landmarks, "target landmarks"))
        source = self._landmarks
        if out is not None and (out.shape != self._image.shape or out.dtype != np.uint8
                                or not out.flags.c_contiguous):
            raise ValueError(f"out must be a C-contiguous {self._image.shape} uint8 array, "
                             f"not {out.shape} {out.dtype}")
        if np.array_equal(target, source):
            return self._copy_into(out)
        right, _ = face_axes(target)
        motion = head_pose(target, source)  # source -> target
        openings = [eye_opening(target, eye.parts, right) for eye in self._eyes]
        control_target = self._control_targets(target, openings, right, motion)
        moving = moving_triangles(control_target, self._control_source, self._triangles)
        box = mesh_box(control_target, moving, 2 * self._cell, self.width, self.height)
        # Closing lids fold the map: around them it is sampled finely, in the same pass.
        folds = [fold for fold in (eye.fold_box(source, target, opening, self._cell, self.width,
                                                self.height)
                                   for eye, opening in zip(self._eyes, openings))
                 if fold is not None]
        warped = None if box is None else mesh_field(
            control_target, self._control_source, moving, box, self._cell, self.width,
            self.height, [(fold, self._fold_cell) for fold in folds])
        if warped is None:
            frame = self._copy_into(out)
        else:
            field, span, where, fine = warped
            frame = self._portrait_around(where, out)
            self._resampler.warp_into(frame, field, span, where, self._cell)
            self._matte.show_uncovered(frame, field, span, where, self._cell)
            for fold, (fine_field, fine_span) in zip(folds, fine):
                self._resampler.warp_into(frame, fine_field, fine_span, fold, self._fold_cell)
        for layer in self._layers(target, right, motion, openings, frame_reference):
            if layer is not None:
                blend(frame, layer)
        return frame

    def _layers(self, target: np.ndarray, right: np.ndarray, motion: Similarity,
                openings: list, frame_reference: Reference | None) -> list[Layer | None]:
        """What is painted over the warped frame, in order: cheeks lent by references, the
        eyeballs, lids lent by references, the mouth interior (the driver's frame's when given),
        the mouth lent by references."""
        layers = []
        if self._reference_cheeks:
            layers += self._reference_cheeks.layers(target, self.width, self.height)
        layers += [eye.render(self._planes, self._landmarks, target, opening)
                   for eye, opening in zip(self._eyes, openings)]
        if self._reference_lids:
            layers += self._reference_lids.layers(target, self.width, self.height)
        real = None
        if frame_reference is not None:
            def real(inner, box):
                return self._reference_mouths.driver_interior(frame_reference, target, box)
        layers.append(self._mouth.render(target, right, motion, self.width, self.height, real))
        # The driver's own open mouth is the target's exactly: no reference's is nearer.
        driver_open = frame_reference is not None and \
            frame_reference.inner_lips().ratio >= MIN_OPENING
        if self._reference_mouths and not driver_open:
            layers.append(self._reference_mouths.layer(target, self.width, self.height))
        return layers

    def _copy_into(self, out: np.ndarray | None) -> np.ndarray:
        """The portrait, in out or a new frame."""
        if out is None:
            return self._image.copy()
        np.copyto(out, self._image)
        return out

    def _portrait_around(self, box: Box, out: np.ndarray | None) -> np.ndarray:
        """A frame (out, or a new one) holding the portrait outside box (the inside is left to
        be filled)."""
        x0, y0, x1, y1 = box
        frame = np.empty_like(self._image) if out is None else out
        frame[:y0] = self._image[:y0]
        frame[y1:] = self._image[y1:]
        frame[y0:y1, :x0] = self._image[y0:y1, :x0]
        frame[y0:y1, x1:] = self._image[y0:y1, x1:]
        return frame

    def _control_targets(self, target: np.ndarray, openings: list, right: np.ndarray,
                         motion: Similarity) -> np.ndarray:
        """Where the warp control points go: (N, 3) x, y, depth (pixel indices), in the order
        of self._control_source. openings: the target eye openings; right: the target face's
        left-to-right axis; motion: the head's pose from the source to the target."""
        lashes = []
        for eye, opening in zip(self._eyes, openings):
            target, lash = eye.lid_controls(target, opening, right)
            lashes.append(lash)
        return np.concatenate([target[MESH_POINT_INDICES], *lashes,
                               ring_targets(self._rings, motion, self._landmarks, target),
                               self._border])
