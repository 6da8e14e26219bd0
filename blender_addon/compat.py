"""The few Blender APIs that changed between 4.2 LTS and 5.0, behind one function each.

- VSE strips: `sequence_editor.sequences` (4.2/4.3) became `.strips` (4.4+); 5.0 dropped
  the old name.
- Animation: `action.fcurves` (4.2/4.3) became slotted actions whose F-curves live in channelbags
  (4.4+); 5.0 dropped `action.fcurves`.
- The Sequencer editor shows `workspace.sequencer_scene` in 5.0, the active scene before.
"""
from __future__ import annotations

import bpy

SLOTTED_ACTIONS = bpy.app.version >= (4, 4, 0)
# Path properties must declare "//" support from 4.5 on (a warning otherwise); 4.2 rejects the flag.
BLEND_RELATIVE_PATH = {"PATH_SUPPORTS_BLEND_RELATIVE"} if bpy.app.version >= (4, 5, 0) else set()


def strips(scene: bpy.types.Scene):
    """The top-level strips collection of the scene's sequencer (created if missing)."""
    editor = scene.sequence_editor or scene.sequence_editor_create()
    return editor.strips if hasattr(editor, "strips") else editor.sequences


def sequencer_scene(context: bpy.types.Context) -> bpy.types.Scene:
    """The scene whose strips the Sequencer editor shows.

    In 5.0 a workspace without a sequencer scene shows nothing, so the active scene is made the
    workspace's sequencer scene: the strips we add are then visible where users look for them.
    """
    workspace = getattr(context, "workspace", None)
    if workspace is None or not hasattr(workspace, "sequencer_scene"):
        return context.scene
    if workspace.sequencer_scene is None:
        workspace.sequencer_scene = context.scene
    return workspace.sequencer_scene


def fcurves(action: bpy.types.Action, slot=None):
    """F-curves of `action` for `slot` (4.4+; None = the first slot); all of them on 4.2/4.3."""
    if not SLOTTED_ACTIONS:
        return action.fcurves
    from bpy_extras import anim_utils

    slot = slot or (action.slots[0] if action.slots else None)
    channelbag = anim_utils.action_get_channelbag_for_slot(action, slot) if slot else None
    return channelbag.fcurves if channelbag else ()


def animated_fcurves(datablock: bpy.types.ID):
    """F-curves animating `datablock` through its assigned action (empty if none)."""
    animation = datablock.animation_data
    if animation is None or animation.action is None:
        return ()
    slot = animation.action_slot if SLOTTED_ACTIONS else None
    if SLOTTED_ACTIONS and slot is None:
        return ()
    return fcurves(animation.action, slot)


def ensure_fcurve(datablock: bpy.types.ID, data_path: str, index: int = 0,
                  group: str = "") -> bpy.types.FCurve:
    """The F-curve animating `datablock.data_path[index]`, made (with its action) if missing."""
    animation = datablock.animation_data or datablock.animation_data_create()
    if animation.action is None:
        animation.action = bpy.data.actions.new(f"{datablock.name}Action")
    action = animation.action
    if SLOTTED_ACTIONS:
        # Creates the layer, strip and slot too, and assigns the slot to the datablock.
        parameters = action.bl_rna.functions["fcurve_ensure_for_datablock"].parameters
        if "group_name" in parameters:
            return action.fcurve_ensure_for_datablock(datablock, data_path, index=index,
                                                      group_name=group)
        # 4.4 and 4.5: no group_name yet
        fcurve = action.fcurve_ensure_for_datablock(datablock, data_path, index=index)
        if group and fcurve.group is None:
            from bpy_extras.anim_utils import action_get_channelbag_for_slot

            groups = action_get_channelbag_for_slot(action, animation.action_slot).groups
            fcurve.group = groups.get(group) or groups.new(group)
        return fcurve
    existing = action.fcurves.find(data_path, index=index)
    if existing is not None:
        return existing
    return action.fcurves.new(data_path, index=index, action_group=group)


def material_node_tree(material: bpy.types.Material) -> bpy.types.NodeTree:
    """The material's node tree: 4.x creates it on `use_nodes = True`, 5.0 always has one."""
    if material.node_tree is None:
        material.use_nodes = True  # deprecated in 5.0, where the tree always exists
    return material.node_tree


def use_movie_output(image_settings: bpy.types.ImageFormatSettings) -> None:
    """Render to a movie through FFmpeg (5.0 first needs the media type switched to video)."""
    if hasattr(image_settings, "media_type"):
        image_settings.media_type = "VIDEO"
    image_settings.file_format = "FFMPEG"
