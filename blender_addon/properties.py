"""Per-portrait settings (on the portrait plane object) and the scene's active portrait."""
from __future__ import annotations

import bpy
from bpy.props import (BoolProperty, CollectionProperty, EnumProperty, FloatProperty, IntProperty,
                       PointerProperty, StringProperty)

from . import compat


def _region(name: str, what: str) -> FloatProperty:
    return FloatProperty(
        name=name, default=1.0, min=0.0, soft_max=2.0, max=4.0,
        description=f"Strength of the {what} motion in rendered frames (1 = as rigged, "
                    "0 = frozen, 2 = doubled)")


class PortraitReference(bpy.types.PropertyGroup):
    """A picture of the portrait's sitter lending its real pixels (see references.py)."""
    filepath: StringProperty(name="Reference", subtype="FILE_PATH",
                             options=compat.BLEND_RELATIVE_PATH,
                             description="A picture of the portrait's sitter (// = next to the "
                                         ".blend file)")


class PortraitSettings(bpy.types.PropertyGroup):
    is_portrait: BoolProperty(default=False, options={"HIDDEN"})
    source: PointerProperty(type=bpy.types.Image, name="Portrait Image",
                            description="The portrait being animated")
    rig: PointerProperty(type=bpy.types.Object, name="Face Rig",
                         description="Mesh whose 478 vertices are the face landmarks")
    frames_image: PointerProperty(type=bpy.types.Image, name="Rendered Frames",
                                  description="The cached frames as an image sequence")
    preview_image: PointerProperty(type=bpy.types.Image, name="Preview",
                                   description="The live preview of the current frame")
    sequence_start: IntProperty(name="First Frame", description="First frame of Rendered Frames")
    sequence_length: IntProperty(name="Length", min=0, description="Frames in Rendered Frames")
    image_width: IntProperty(name="Width", min=0, description="Portrait width in pixels")
    image_height: IntProperty(name="Height", min=0, description="Portrait height in pixels")
    cache_dir: StringProperty(
        name="Cache Folder", subtype="DIR_PATH", options=compat.BLEND_RELATIVE_PATH,
        description="Rendered frames and their manifest (// = next to the .blend file)")
    resolution: IntProperty(
        name="Resolution", subtype="PERCENTAGE", default=100, min=1, max=100,
        description="Size of rendered frames relative to the portrait")
    device: EnumProperty(
        name="Render Device", default="cpu",
        items=[("cpu", "CPU", "OpenCV on the CPU (needs nothing more)"),
               ("cuda", "CUDA", "torch on an NVIDIA GPU (install torch into Blender's Python)"),
               ("mps", "Metal", "torch on an Apple GPU (install torch into Blender's Python)")],
        description="Where frames are resampled")
    head: _region("Head", "head rotation and translation")
    eyes: _region("Eyes", "eye and eyelid")
    brows: _region("Brows", "eyebrow")
    mouth: _region("Mouth", "lip and jaw")
    references: CollectionProperty(type=PortraitReference, name="References",
                                   description="More pictures of the sitter: they lend "
                                               "mouths, closed lids and turned cheeks")
    reference_index: IntProperty(name="Selected Reference", min=-1, default=-1,
                                 options={"HIDDEN"})
    mouth_from_driver: BoolProperty(
        name="Mouth from Driver", default=False,
        description="Where a video import's strip plays and the lips part, that video's own "
                    "mouth interior, warped and colour-matched (any person: it may lend another "
                    "person's teeth)")
    detail_from_driver: BoolProperty(
        name="Detail from Driver", default=False,
        description="Where a video import's strip plays, that video's expression creases "
                    "(relative to its neutral frame) on the portrait's skin")
    preview: BoolProperty(name="Live Preview", default=False,
                          description="Render the current frame at preview size on frame change")
    frames_cached: IntProperty(name="Frames Cached", min=0)
    last_render_seconds: FloatProperty(name="Last Render Duration", min=0.0, unit="TIME_ABSOLUTE")
    last_render_time: StringProperty(name="Last Render", description="When the last render ended")


def _is_portrait(_scene, obj) -> bool:
    return obj.portrait.is_portrait


CLASSES = [PortraitReference, PortraitSettings]


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Object.portrait = PointerProperty(type=PortraitSettings)
    bpy.types.Scene.portrait_active = PointerProperty(
        type=bpy.types.Object, name="Active Portrait", poll=_is_portrait,
        description="The portrait the Portrait panels and operators work on")


def unregister() -> None:
    del bpy.types.Scene.portrait_active
    del bpy.types.Object.portrait
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
