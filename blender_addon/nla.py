"""The face rig's NLA stack: every motion becomes a layer, and nothing destroys animation.

Each layer is new actions (one on the rig's shape-key datablock, one on the rig object) in new
NLA tracks at the top of the stack:
  - a rig's active action is first pushed down into its own NLA track, as Blender's Push Down
    does: the action itself is not touched, it keeps playing underneath, and the active slot is
    left free for the animator's corrections, which then play on top of everything;
  - imports replace the channels they key (blend REPLACE), life layers add to them (blend ADD),
    so a procedural blink closes the eyes whatever the animator's keys do to them.
Every layer is an ordinary action with keys: Tab into it in the NLA editor to edit it, mute or
fade its track, or delete it. Each layer action records what made it under LAYER_KEY.
"""
from __future__ import annotations

import math
import re

import bpy
import numpy as np

from ..core.errors import PortraitError
from . import checks, compat, keying
from .portrait import scene_fps

# On each layer's action: "import", "life:<layer>", LIFE_BASE or BAKED_LAYER. The stored name
# is the one saved files have.
LAYER_KEY = "portrait_source"
LIFE_PREFIX = "life:"
LIFE_BASE = "life:base"  # the REPLACE layer under the life layers (see life_base)
BAKED_LAYER = "baked-life"  # not a life layer: Add Life and Bake Life leave it alone
BAKE_TOLERANCE = {"shape": 0.002, "degrees": 0.02}  # baked keys: reduced within these, linear
SHAPE_PATH = re.compile(r'key_blocks\["(.+)"\]\.value')  # a life layer's shape-key curve


def _animated_ids(plane: bpy.types.Object) -> list[bpy.types.ID]:
    """The datablocks motions key: the rig's shape keys and the rig object."""
    rig = plane.portrait.rig
    return [block for block in (rig.data.shape_keys, rig) if block is not None]


def check_channels(plane: bpy.types.Object, motion) -> None:
    """Refuse a motion (core.rig.Motion) with a channel the rig lacks, or with numbers Blender
    cannot key (non-finite, beyond its frame range or the rig's limits), before anything is
    made."""
    motion.check_limits(f"motion '{motion.name}'")
    shape_keys = plane.portrait.rig.data.shape_keys
    shapes = set(shape_keys.key_blocks.keys()) if shape_keys else set()
    head = set(keying.HEAD_AXES) | set(keying.HEAD_OFFSETS)
    if not motion.tracks:
        raise PortraitError(f"motion '{motion.name}' has no keys")
    for channel in motion.tracks:
        if channel not in shapes and channel not in head:
            raise PortraitError(f"motion '{motion.name}': the rig has no channel '{channel}' "
                                "(a shape key of the rig was renamed or deleted?)")


def push_down(datablock: bpy.types.ID) -> None:
    """Move the active action into its own NLA track (the action is not modified)."""
    animation = datablock.animation_data
    if animation is None or animation.action is None:
        return
    action = animation.action
    slot = animation.action_slot if compat.SLOTTED_ACTIONS else None
    track = animation.nla_tracks.new()
    track.name = action.name
    strip = track.strips.new(action.name, int(math.floor(action.frame_range[0])), action)
    if slot is not None:
        strip.action_slot = slot
    animation.action = None


def layer_motion(plane: bpy.types.Object, motion, label: str, layer: str,
                 blend: str = "REPLACE", extrapolation: str = "HOLD") -> list[bpy.types.NlaTrack]:
    """Key `motion` (core.rig.Motion) into new actions, each in a new NLA track named `label`
    at the top; `layer` is recorded on the actions (LAYER_KEY).

    Returns the new tracks (one per datablock the motion keys).
    """
    check_channels(plane, motion)
    datablocks = _animated_ids(plane)
    for datablock in datablocks:
        push_down(datablock)
    # keying.key_motion keys the active actions; with the slots empty it makes new ones.
    keying.key_motion(plane, motion.to_dict())
    tracks = []
    for datablock in datablocks:
        animation = datablock.animation_data
        if animation is None or animation.action is None:
            continue
        action = animation.action
        action.name = f"{label} {'Shapes' if isinstance(datablock, bpy.types.Key) else 'Head'}"
        action[LAYER_KEY] = layer
        # The strip spans the motion's range, not just its keys: a sway layer whose last key
        # comes early holds its angle to the end instead of snapping back.
        start, end = motion.frame_start, motion.frame_end
        if end > start:
            keyed_start, keyed_end = action.frame_range
            action.use_frame_range = True
            action.frame_start, action.frame_end = min(start, keyed_start), max(end, keyed_end)
        slot = animation.action_slot if compat.SLOTTED_ACTIONS else None
        track = animation.nla_tracks.new()
        track.name = label
        strip = track.strips.new(action.name, int(math.floor(action.frame_range[0])), action)
        if slot is not None:
            strip.action_slot = slot
        strip.blend_type = blend
        strip.extrapolation = extrapolation
        animation.action = None
        tracks.append(track)
    return tracks


def layer_tracks(plane: bpy.types.Object, prefix: str) -> list[tuple[bpy.types.ID, bpy.types.NlaTrack]]:
    """(datablock, track) of the rig's NLA tracks holding only layer actions whose layer starts
    with prefix: a track the animator put a strip of their own into is theirs, and stays."""
    found = []
    for datablock in _animated_ids(plane):
        animation = datablock.animation_data
        for track in (animation.nla_tracks if animation else ()):
            if len(track.strips) and all(
                    strip.action is not None and
                    str(strip.action.get(LAYER_KEY, "")).startswith(prefix)
                    for strip in track.strips):
                found.append((datablock, track))
    return found


def _played_actions(datablock: bpy.types.ID, skip_prefix: str = ""):
    """(action, slot) pairs playing on a datablock: its NLA strips and its active action,
    leaving out layer actions whose layer starts with skip_prefix (if given)."""
    animation = datablock.animation_data
    if animation is None:
        return []
    pairs = [(strip.action, strip.action_slot if compat.SLOTTED_ACTIONS else None)
             for track in animation.nla_tracks for strip in track.strips
             if strip.action is not None]
    if animation.action is not None:
        pairs.append((animation.action, animation.action_slot if compat.SLOTTED_ACTIONS else None))
    if skip_prefix:
        pairs = [(action, slot) for action, slot in pairs
                 if not str(action.get(LAYER_KEY, "")).startswith(skip_prefix)]
    return pairs


def life_base(plane: bpy.types.Object, motions: dict, frame_start: int):
    """A Motion holding, for each shape key the life layers touch that nothing else animates,
    its resting value (the slider's, or the previous base layer's) - or None if none needs one.

    Why: where no lower strip animates a channel, Blender's NLA adds onto the property's RNA
    default, and ShapeKey.value defaults to 1.0: a blink added onto nothing would hold the eye
    shut. A REPLACE layer under the life layers gives every add a true base. (Rotations default
    to 0 and need none.)
    """
    from ..core.sources.tracks import make_motion

    shape_keys = plane.portrait.rig.data.shape_keys
    if shape_keys is None:
        return None
    animated = {curve.data_path for action, slot in _played_actions(shape_keys, LIFE_PREFIX)
                for curve in compat.fcurves(action, slot)}
    previous = {curve.data_path: curve.keyframe_points[0].co[1]
                for action, slot in _played_actions(shape_keys) if action.get(LAYER_KEY) == LIFE_BASE
                for curve in compat.fcurves(action, slot) if len(curve.keyframe_points)}
    names = sorted({name for motion in motions.values() for name in motion.tracks
                    if name in shape_keys.key_blocks
                    and keying.shape_data_path(name) not in animated})
    if not names:
        return None
    tracks = {name: np.array([[frame_start, previous.get(keying.shape_data_path(name),
                                                          shape_keys.key_blocks[name].value)]])
              for name in names}
    return make_motion("life_base", 24.0, tracks, "CONSTANT")


def remove_tracks(found: list[tuple[bpy.types.ID, bpy.types.NlaTrack]]) -> None:
    """Remove NLA tracks (from layer_tracks) and the layer actions nothing else uses."""
    for datablock, track in found:
        actions = [strip.action for strip in track.strips if strip.action is not None]
        datablock.animation_data.nla_tracks.remove(track)
        for action in actions:
            if action.users == 0 and LAYER_KEY in action:
                bpy.data.actions.remove(action)


def baked_life(context, plane: bpy.types.Object):
    """The evaluated values of every channel the life layers animate, over the scene range,
    as a motion with reduced linear keys (base animation + life, as it plays)."""
    from ..core.sources.tracks import make_motion, reduced_tracks

    found = layer_tracks(plane, LIFE_PREFIX)
    if not found:
        raise PortraitError(f"{plane.name}: no life layers to bake (Add Life first)")
    rig = plane.portrait.rig
    shapes, axes = set(), set()
    for datablock, track in found:
        for strip in track.strips:
            slot = strip.action_slot if compat.SLOTTED_ACTIONS else None
            for fcurve in compat.fcurves(strip.action, slot):
                shape = SHAPE_PATH.fullmatch(fcurve.data_path)
                if isinstance(datablock, bpy.types.Key) and shape:
                    shapes.add(shape.group(1))
                elif fcurve.data_path == "rotation_euler":
                    axes.add(fcurve.array_index)
    shapes = sorted(shapes)
    heads = [name for name, index in keying.HEAD_AXES.items() if index in axes]
    scene = context.scene
    frames = np.arange(scene.frame_start, scene.frame_end + 1, dtype=np.float64)
    key_blocks = checks.shape_keys(plane, shapes).key_blocks if shapes else {}
    values = np.empty((len(frames), len(shapes) + len(heads)))
    current = scene.frame_current
    try:
        for row, frame in enumerate(frames):
            scene.frame_set(int(frame))
            values[row, :len(shapes)] = [key_blocks[name].value for name in shapes]
            values[row, len(shapes):] = [math.degrees(rig.rotation_euler[keying.HEAD_AXES[name]])
                                         for name in heads]
    finally:
        scene.frame_set(current)
    names = shapes + heads
    tolerances = {name: BAKE_TOLERANCE["degrees" if name in heads else "shape"] for name in names}
    tracks = reduced_tracks(frames, dict(zip(names, values.T)), tolerances)
    return make_motion("life_baked", scene_fps(scene), tracks, "LINEAR",
                       frame_range=(scene.frame_start, scene.frame_end))
