"""Render operators: animated frames and landmark sketches into the cache and the sequencer.

In the UI they run modal (a timer renders one frame per tick, with progress and Esc to cancel);
in background mode they block. Either way the cache stays consistent: a cancelled render keeps
the frames it finished and leaves nothing of the frame it was on.
"""
from __future__ import annotations

import bpy
from bpy.props import EnumProperty, StringProperty

from ..core.errors import PortraitError
from . import compat
from .portrait import find_portrait
from .render import GeneratorFrames, RenderJob, SketchFrames, publish


class _FramesOperator:
    """Shared modal/blocking driver of a RenderJob over the scene's frame range.

    Subclasses define frame_source(plane) -> GeneratorFrames | SketchFrames.
    """
    channel = 1
    suffix = ""

    portrait: StringProperty(name="Portrait", description="Portrait object "
                             "(default: the active portrait)")

    def _start(self, context) -> RenderJob:
        plane = find_portrait(context, self.portrait)
        scene = context.scene
        frames = range(scene.frame_start, scene.frame_end + 1)
        return RenderJob(scene, context.view_layer, plane, self.frame_source(plane), frames)

    def execute(self, context):
        try:
            job = self._start(context).run()
        except PortraitError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return self._publish(context, job)

    def _publish(self, context, job) -> set[str]:
        """Put the rendered frames in the sequencer and report: the operator's result."""
        try:
            publish(job, compat.sequencer_scene(context), self.channel, self.suffix)
        except PortraitError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, job.summary())
        return {"FINISHED"}

    def invoke(self, context, event):
        if bpy.app.background:
            return self.execute(context)
        try:
            self._job = self._start(context)
        except PortraitError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        manager = context.window_manager
        self._timer = manager.event_timer_add(0.001, window=context.window)
        manager.modal_handler_add(self)
        manager.progress_begin(0, len(self._job.frames))
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        job = self._job
        if event.type == "ESC":
            self._end(context)
            self.report({"WARNING"}, f"Cancelled after {job.done} of {len(job.frames)} frames; "
                                     "the finished frames are cached")
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"RUNNING_MODAL"}
        try:
            job.step()
        except PortraitError as exc:
            self._end(context)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        except BaseException:
            self._end(context)
            raise
        context.window_manager.progress_update(job.done)
        context.workspace.status_text_set(
            f"{job.plane.name}: frame {job.done} of {len(job.frames)} "
            f"({job.rendered} rendered)  -  Esc to cancel")
        if not job.finished:
            return {"RUNNING_MODAL"}
        self._end(context)
        return self._publish(context, job)

    def _end(self, context) -> None:
        manager = context.window_manager
        manager.event_timer_remove(self._timer)
        manager.progress_end()
        context.workspace.status_text_set(None)
        self._job.close()


class PORTRAIT_OT_render(_FramesOperator, bpy.types.Operator):
    """Render the animated portrait for the scene's frame range into the cache and sequencer"""
    bl_idname = "portrait.render"
    bl_label = "Render Portrait"
    bl_options = {"REGISTER"}

    def frame_source(self, plane):
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
    bl_options = {"REGISTER"}
    channel = 2
    suffix = "_sketch"

    style: EnumProperty(name="Style", items=_style_items)

    def frame_source(self, plane):
        return SketchFrames(plane, self.style)


CLASSES = [PORTRAIT_OT_render, PORTRAIT_OT_sketch]

register, unregister = bpy.utils.register_classes_factory(CLASSES)
