"""Keyframes on the face rig: motions (the contract's Motion JSON) and single poses.

Shape keys are animated on the rig's Key datablock (`key_blocks["jawOpen"].value`), the head on
the rig object: `rotation_euler` = (pitch, roll, yaw) in radians, `location` = the rest pivot plus
the head translation (portrait units).
"""
from __future__ import annotations

import math

import bpy

from ..core.errors import PortraitError
from . import checks, compat
from .portrait import PIVOT_KEY

HEAD_AXES = {"head.pitch": 0, "head.roll": 1, "head.yaw": 2}  # index in rotation_euler
HEAD_OFFSETS = {"head.x": 0, "head.y": 1, "head.z": 2}  # index in location
INTERPOLATIONS = {"BEZIER", "LINEAR", "CONSTANT"}


def shape_data_path(name: str) -> str:
    return f'key_blocks["{bpy.utils.escape_identifier(name)}"].value'


def _fill(fcurve: bpy.types.FCurve, points, interpolation: str, scale: float,
          offset: float = 0.0) -> None:
    """Replace the curve's keys by (frame, value * scale + offset) points."""
    fcurve.keyframe_points.clear()
    fcurve.keyframe_points.add(len(points))
    coords = [c for frame, value in points for c in (float(frame), float(value) * scale + offset)]
    fcurve.keyframe_points.foreach_set("co", coords)
    for point in fcurve.keyframe_points:
        point.interpolation = interpolation
        point.handle_left_type = point.handle_right_type = "AUTO_CLAMPED"
    fcurve.update()


def key_motion(plane: bpy.types.Object, motion: dict) -> int:
    """Key a motion (dict in the Motion JSON layout) on the portrait's rig; returns curves keyed.

    Existing keys of the motion's channels are replaced; other channels are left alone.
    """
    rig = plane.portrait.rig
    shape_keys = rig.data.shape_keys
    pivot = checks.pivot(rig, PIVOT_KEY)
    interpolation = motion.get("interpolation", "BEZIER")
    if interpolation not in INTERPOLATIONS:
        raise PortraitError(f"motion '{motion.get('name', '')}': unknown interpolation "
                            f"'{interpolation}' (use one of {sorted(INTERPOLATIONS)})")
    channels = []  # (datablock, data path, index, group, points, scale, offset)
    for channel, points in motion.get("tracks", {}).items():
        if not points:
            continue
        if channel in HEAD_AXES:
            channels.append((rig, "rotation_euler", HEAD_AXES[channel], "Head", points,
                             math.radians(1.0), 0.0))
        elif channel in HEAD_OFFSETS:
            index = HEAD_OFFSETS[channel]
            channels.append((rig, "location", index, "Head", points, 1.0, float(pivot[index])))
        elif shape_keys is not None and channel in shape_keys.key_blocks:
            channels.append((shape_keys, shape_data_path(channel), 0, "Shape Keys", points,
                             1.0, 0.0))
        else:
            raise PortraitError(f"motion '{motion.get('name', '')}': the rig has no channel "
                                f"'{channel}' (expected an ARKit shape key or "
                                "head.yaw/pitch/roll/x/y/z)")
    # Keyed only once every channel is known: a bad motion leaves the rig untouched.
    for datablock, data_path, index, group, points, scale, offset in channels:
        fcurve = compat.ensure_fcurve(datablock, data_path, index, group)
        _fill(fcurve, points, interpolation, scale, offset)
    return len(channels)


def key_pose(plane: bpy.types.Object, frame: float) -> int:
    """Key every shape key and the head rotation at `frame`; returns keys inserted."""
    rig = plane.portrait.rig
    count = 0
    if rig.data.shape_keys is not None:
        for key_block in rig.data.shape_keys.key_blocks[1:]:  # [0] is the Basis
            count += bool(key_block.keyframe_insert("value", frame=frame, group="Shape Keys"))
    for index in range(3):
        count += bool(rig.keyframe_insert("rotation_euler", index=index, frame=frame, group="Head"))
    return count
