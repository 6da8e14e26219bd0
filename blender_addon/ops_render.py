"""Render operators: animated frames and landmark sketches into the cache and the sequencer.

In the UI they run modal (a timer renders one frame per tick, with progress and Esc to cancel);
in background mode they block. Either way the cache stays consistent: a cancelled render keeps
the frames it finished and leaves nothing of the frame it was on.

They are undoable: the undo step holds the strip and the plane's material; the frames stay in
the cache on disk, outside undo, and a render after an undo reuses them.
"""
from __future__ import annotations

import bpy
from bpy.props import EnumProperty

from . import compat
from .jobs import JobOperator
from .render import GeneratorFrames, RenderJob, SketchFrames, publish


class _FramesOperator(JobOperator):
    """A RenderJob over the scene's frame range, its frames published as a strip.

    Subclasses define renderer(plane) -> GeneratorFrames | SketchFrames.
    """
    channel = 1
    suffix = ""
    pass_events = False  # the job moves the current frame: the user waits or presses Esc

    def start(self, context) -> RenderJob:
        plane = self.plane(context)
        scene = context.scene
        frames = range(scene.frame_start, scene.frame_end + 1)
        return RenderJob(scene, context.view_layer, plane, self.renderer(plane), frames)

    def finish(self, context, job) -> set[str]:
        """Put the rendered frames in the sequencer and report."""
        publish(job, compat.sequencer_scene(context), self.channel, self.suffix)
        self.report({"INFO"}, job.summary())
        return {"FINISHED"}


class PORTRAIT_OT_render(_FramesOperator, bpy.types.Operator):
    """Render the animated portrait for the scene's frame range into the cache and sequencer"""
    bl_idname = "portrait.render"
    bl_label = "Render Portrait"
    bl_options = {"REGISTER", "UNDO"}

    def renderer(self, plane):
        return GeneratorFrames(plane)


_style_items_cache: list[tuple[str, str, str]] = []  # kept alive: Blender keeps no enum copies


def _style_items(_self, _context):
    if not _style_items_cache:
        from ..core.sketch import list_styles

        _style_items_cache.extend((name, bpy.path.display_name(name), f"The {name} sketch style")
                                  for name in list_styles())
    return _style_items_cache


class PORTRAIT_OT_sketch(_FramesOperator, bpy.types.Operator):
    """Render the landmark sketches (the generator's input) as their own sequencer strip"""
    bl_idname = "portrait.sketch"
    bl_label = "Render Sketches"
    bl_options = {"REGISTER", "UNDO"}
    channel = 2
    suffix = "_sketch"

    style: EnumProperty(name="Style", items=_style_items)

    def renderer(self, plane):
        return SketchFrames(plane, self.style)


CLASSES = [PORTRAIT_OT_render, PORTRAIT_OT_sketch]

register, unregister = bpy.utils.register_classes_factory(CLASSES)
