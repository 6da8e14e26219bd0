"""Operators that build and pose a portrait: add, apply an expression preset, key the pose."""
from __future__ import annotations

import bpy
from bpy.props import EnumProperty, IntProperty, StringProperty

from . import checks, compat, dependencies, keying
from .operators import ImageBrowsing, PortraitOperator, ReportingOperator
from .portrait import create_portrait, load_input


class PORTRAIT_OT_add(ImageBrowsing, ReportingOperator, bpy.types.Operator):
    """Add a portrait: a plane showing the image and a 478-landmark face rig with 52 shape keys"""
    bl_idname = "portrait.add"
    bl_label = "Add Portrait"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(name="Portrait", subtype="FILE_PATH",
                             options=compat.BLEND_RELATIVE_PATH,
                             description="The painting or photo to animate")
    landmarks_path: StringProperty(
        name="Landmarks JSON", subtype="FILE_PATH", options=compat.BLEND_RELATIVE_PATH,
        description="Landmarks from `python -m core detect --json` (skips face detection, "
                    "for a Blender without mediapipe)")
    face: IntProperty(name="Face", min=0, default=0,
                      description="Which face to animate, 0 = the largest")

    def run(self, context):
        image, landmarks = load_input(self.filepath, self.landmarks_path, self.face)
        plane = create_portrait(context.scene, self.filepath, image, landmarks)
        place_as_added(context, plane)
        self.report({"INFO"}, f"Added portrait {plane.name} ({image.shape[1]}x{image.shape[0]})")
        return {"FINISHED"}


def place_as_added(context: bpy.types.Context, plane: bpy.types.Object) -> None:
    """As Blender's Add menu places a new object: at the 3D cursor, the only one selected, and
    active (the rig, its child, follows)."""
    plane.location = context.scene.cursor.location
    view_layer = context.view_layer
    for selected in list(view_layer.objects.selected):
        selected.select_set(False)
    plane.select_set(True)
    view_layer.objects.active = plane


_expression_items: list[tuple[str, str, str]] = []  # kept alive: Blender keeps no enum copies


def expression_items(_self=None, _context=None):
    if not _expression_items and dependencies.available("rig"):
        from ..core.rig import list_expressions

        _expression_items.extend((name, bpy.path.display_name(name), f"Set the {name} expression")
                                 for name in list_expressions())
    return _expression_items


def apply_expression(plane: bpy.types.Object, preset: str) -> None:
    """Set every ARKit shape key of the rig to the preset's weight (unlisted keys to 0)."""
    dependencies.require("rig")
    from ..core.rig import ARKIT_NAMES, load_expression

    weights = load_expression(preset)
    key_blocks = checks.shape_keys(plane).key_blocks
    for name in ARKIT_NAMES:
        if name in key_blocks:
            key_blocks[name].value = float(weights.get(name, 0.0))


class PORTRAIT_OT_apply_expression(PortraitOperator, bpy.types.Operator):
    """Set the face rig's shape keys to an expression preset"""
    bl_idname = "portrait.apply_expression"
    bl_label = "Apply Expression"
    bl_options = {"REGISTER", "UNDO"}

    preset: EnumProperty(name="Expression", items=expression_items)

    def run(self, context):
        apply_expression(self.plane(context), self.preset)
        return {"FINISHED"}


class PORTRAIT_OT_key_pose(PortraitOperator, bpy.types.Operator):
    """Insert keyframes on all shape keys and the head rotation at the current frame"""
    bl_idname = "portrait.key_pose"
    bl_label = "Key Pose"
    bl_options = {"REGISTER", "UNDO"}

    def run(self, context):
        count = keying.key_pose(self.plane(context), context.scene.frame_current)
        self.report({"INFO"}, f"Keyed {count} channels at frame {context.scene.frame_current}")
        return {"FINISHED"}


CLASSES = [PORTRAIT_OT_add, PORTRAIT_OT_apply_expression, PORTRAIT_OT_key_pose]

register, unregister = bpy.utils.register_classes_factory(CLASSES)
