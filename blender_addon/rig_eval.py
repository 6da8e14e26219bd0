"""The face rig as Blender evaluates it -> target landmarks in portrait pixels.

Reading the evaluated mesh (not the shape-key values) means whatever deforms the rig drives the
portrait: shape keys, drivers, armatures, lattices, custom shape keys, constraints on the rig.
"""
from __future__ import annotations

import bpy
import numpy as np
from mathutils import Matrix, Quaternion, Vector

from ..core.errors import PortraitError
from ..core.landmarks.topology import NUM_LANDMARKS
from ..core.retarget.transfer import Multipliers, region_gains
from . import checks
from .portrait import PIVOT_KEY, image_size


def _scaled_head(to_plane: Matrix, pivot: Vector, factor: float) -> Matrix:
    """The rig's transform with its rotation and its offset from the rest pivot times `factor`."""
    location, rotation, scale = to_plane.decompose()
    axis, angle = rotation.to_axis_angle()
    location = pivot + (location - pivot) * factor
    scale = Vector([1.0 + (s - 1.0) * factor for s in scale])
    return Matrix.LocRotScale(location, Quaternion(axis, angle * factor), scale)


def evaluate_landmarks(plane: bpy.types.Object, depsgraph) -> np.ndarray:
    """Landmarks (478, 3) float64 in portrait pixels (x, y, z px) for the depsgraph's frame."""
    settings = plane.portrait
    rig_eval = settings.rig.evaluated_get(depsgraph)
    mesh = rig_eval.to_mesh()
    try:
        if len(mesh.vertices) != NUM_LANDMARKS:
            raise PortraitError(f"{settings.rig.name}: a modifier changed the vertex count to "
                                f"{len(mesh.vertices)}; the rig must keep its {NUM_LANDMARKS} "
                                "vertices")
        coords = np.empty(NUM_LANDMARKS * 3, np.float32)
        mesh.vertices.foreach_get("co", coords)
    finally:
        rig_eval.to_mesh_clear()
    coords = coords.reshape(NUM_LANDMARKS, 3).astype(np.float64)
    # Transforms may be animated into a degenerate state at this frame: checked here, per frame.
    plane_matrix = checks.invertible(plane, plane.evaluated_get(depsgraph).matrix_world)
    to_plane = plane_matrix.inverted() @ checks.invertible(settings.rig, rig_eval.matrix_world)

    if (settings.eyes, settings.brows, settings.mouth) != (1.0, 1.0, 1.0):
        basis = np.empty(NUM_LANDMARKS * 3, np.float32)
        settings.rig.data.vertices.foreach_get("co", basis)
        basis = basis.reshape(NUM_LANDMARKS, 3).astype(np.float64)
        gains = region_gains(Multipliers(settings.head, settings.eyes, settings.brows,
                                         settings.mouth))
        coords = basis + (coords - basis) * gains[:, None]
    if settings.head != 1.0:
        pivot = Vector(checks.pivot(settings.rig, PIVOT_KEY))
        to_plane = _scaled_head(to_plane, pivot, settings.head)

    from ..core.rig import portrait_to_image

    matrix = np.array(to_plane, np.float64)
    points = coords @ matrix[:3, :3].T + matrix[:3, 3]
    return checks.finite_landmarks(portrait_to_image(points, image_size(plane)), plane)


def blender_face_rig(plane: bpy.types.Object):
    """core.rig.FaceRig of the rig as it is in Blender: Basis + the 52 ARKit shape keys."""
    from ..core.rig.names import ARKIT_NAMES
    from ..core.rig.rig import FaceRig

    rig = plane.portrait.rig
    shape_keys = checks.shape_keys(plane, ARKIT_NAMES)

    def coords(key_block):
        values = np.empty(len(key_block.data) * 3, np.float32)
        key_block.data.foreach_get("co", values)
        return values.reshape(-1, 3).astype(np.float64)

    basis = coords(shape_keys.reference_key)
    pivot = checks.pivot(rig, PIVOT_KEY)
    deltas = np.stack([coords(shape_keys.key_blocks[name]) - basis for name in ARKIT_NAMES])
    return FaceRig(basis + pivot, deltas, pivot, image_size(plane))
