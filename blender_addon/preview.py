"""Live preview: on every frame change, render the current frame at preview size onto the plane."""
from __future__ import annotations

import bpy
import numpy as np
from bpy.app.handlers import persistent

from ..core.errors import PortraitError
from . import render
from .handlers import add_handler, remove_handler
from .operators import PortraitOperator
from .portrait import image_node, portraits, show_current
from .rig_eval import evaluate_landmarks

PREVIEW_LONG_SIDE = 512


def _preview_image(plane: bpy.types.Object, size: tuple[int, int]) -> bpy.types.Image:
    settings = plane.portrait
    image = settings.preview_image
    if image is None or tuple(image.size) != size:
        if image is not None:
            bpy.data.images.remove(image)
        image = bpy.data.images.new(f"{plane.name}_preview", size[0], size[1], alpha=False)
        settings.preview_image = image
    return image


def render_preview(plane: bpy.types.Object, depsgraph) -> bpy.types.Image:
    """Render the depsgraph's frame at preview size into the plane's preview image."""
    image_node(plane)  # where the preview shows
    renderer = render.GeneratorFrames(plane, long_side=PREVIEW_LONG_SIDE)
    frame = renderer.render(evaluate_landmarks(plane, depsgraph),
                            depsgraph.scene.frame_current)
    image = _preview_image(plane, renderer.size)
    rgba = np.ones((renderer.size[1], renderer.size[0], 4), np.float32)
    rgba[..., :3] = frame[::-1] / np.float32(255.0)  # Blender's pixel rows go bottom-up
    image.pixels.foreach_set(rgba.ravel())
    image.update()
    return image


@persistent
def on_frame_change(scene: bpy.types.Scene, depsgraph=None) -> None:
    """frame_change_post handler: refresh the preview of every portrait that has it on.

    A handler must never raise (it would fail again on every frame): whatever goes wrong, the
    preview is switched off and the reason printed once.
    """
    if render.running_jobs:
        return
    depsgraph = depsgraph or bpy.context.evaluated_depsgraph_get()
    for plane in portraits(scene):
        if not plane.portrait.preview:
            continue
        try:
            render_preview(plane, depsgraph)
        except Exception as exc:  # noqa: BLE001 - see the docstring
            reason = str(exc) if isinstance(exc, PortraitError) else f"{type(exc).__name__}: {exc}"
            plane.portrait.preview = False
            try:
                show_current(plane)
            except PortraitError:
                pass  # the material lost its image node: nothing to point back at the portrait
            print(f"Portrait preview of {plane.name} turned off: {reason}")


class PORTRAIT_OT_preview(PortraitOperator, bpy.types.Operator):
    """Toggle the live preview: the plane shows the current frame rendered at preview size"""
    bl_idname = "portrait.preview"
    bl_label = "Live Preview"
    bl_options = {"REGISTER", "UNDO"}

    def run(self, context):
        plane = self.plane(context)
        settings = plane.portrait
        if not settings.preview:
            render_preview(plane, context.evaluated_depsgraph_get())
        settings.preview = not settings.preview
        show_current(plane)
        return {"FINISHED"}


CLASSES = [PORTRAIT_OT_preview]


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    add_handler(bpy.app.handlers.frame_change_post, on_frame_change)


def unregister() -> None:
    remove_handler(bpy.app.handlers.frame_change_post, on_frame_change)
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
