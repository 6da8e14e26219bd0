"""Keyframes on the face rig: motions (the contract's Motion JSON) and single poses.

Shape keys are animated on the rig's Key datablock (`key_blocks["jawOpen"].value`), the head on
the rig object: `rotation_euler` = (pitch, roll, yaw) in radians, `location` = the rest pivot plus
the head translation (portrait units).
"""
from __future__ import annotations

import math

import bpy
import numpy as np

from ..core.errors import PortraitError
from ..core.rig import fcurve as fcurve_contract
from . import checks, compat
from .portrait import PIVOT_KEY

HEAD_AXES = {"head.pitch": 0, "head.roll": 1, "head.yaw": 2}  # index in rotation_euler
HEAD_OFFSETS = {"head.x": 0, "head.y": 1, "head.z": 2}  # index in location


def shape_data_path(name: str) -> str:
    return f'key_blocks["{bpy.utils.escape_identifier(name)}"].value'


def _enum_value(prop: str, identifier: str) -> int:
    """A Keyframe enum item's number: what foreach_set takes for enum properties."""
    return bpy.types.Keyframe.bl_rna.properties[prop].enum_items[identifier].value


def _fill(fcurve: bpy.types.FCurve, points, interpolation: str, scale: float,
          offset: float = 0.0) -> None:
    """Replace the curve's keys by (frame, value * scale + offset) points, keyed by the F-curve
    contract (core.rig.fcurve): every setting the user's preferences would give new keys and
    curves is set here."""
    count = len(points)
    keys = np.asarray(points, np.float64).reshape(count, 2) * (1.0, scale) + (0.0, offset)
    fcurve.auto_smoothing = fcurve_contract.SMOOTHING
    fcurve.extrapolation = fcurve_contract.EXTRAPOLATION
    keyframes = fcurve.keyframe_points
    keyframes.clear()
    keyframes.add(count)
    keyframes.foreach_set("co", keys.ravel())
    keyframes.foreach_set("interpolation", [_enum_value("interpolation", interpolation)] * count)
    handle = _enum_value("handle_left_type", fcurve_contract.HANDLE_TYPE)
    keyframes.foreach_set("handle_left_type", [handle] * count)
    keyframes.foreach_set("handle_right_type", [handle] * count)
    fcurve.update()


def key_motion(plane: bpy.types.Object, motion: dict) -> int:
    """Key a motion (dict in the Motion JSON layout) on the portrait's rig; returns curves keyed.

    Existing keys of the motion's channels are replaced; other channels are left alone.
    """
    rig = plane.portrait.rig
    shape_keys = rig.data.shape_keys
    pivot = checks.pivot(rig, PIVOT_KEY)
    interpolation = motion.get("interpolation", "BEZIER")
    if interpolation not in fcurve_contract.INTERPOLATIONS:
        raise PortraitError(f"motion '{motion.get('name', '')}': unknown interpolation "
                            f"'{interpolation}' (use one of "
                            f"{sorted(fcurve_contract.INTERPOLATIONS)})")
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
