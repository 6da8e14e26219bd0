"""Live preview: the frame_change_post handler renders the current frame onto the plane."""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.blender
pytest_plugins = ["blender_support"]  # fixtures: bpy, portrait, project, small_portrait, extension


def _pixels(image) -> np.ndarray:
    """A Blender image as uint8 (H, W, 3), top row first."""
    width, height = image.size
    rgba = np.empty(width * height * 4, np.float32)
    image.pixels.foreach_get(rgba)
    return np.rint(rgba.reshape(height, width, 4)[::-1, :, :3] * 255).astype(np.uint8)


def test_preview_follows_the_frame_and_toggles_off(bpy, portrait, project):
    render = project("blender_addon.render")
    rig_eval = project("blender_addon.rig_eval")
    scene = bpy.context.scene
    jaw = portrait.portrait.rig.data.shape_keys.key_blocks["jawOpen"]
    for frame, value in ((1, 0.0), (5, 1.0)):
        jaw.value = value
        jaw.keyframe_insert("value", frame=frame)
    node = portrait.active_material.node_tree.nodes["Portrait Frames"]

    scene.frame_set(1)
    assert bpy.ops.portrait.preview() == {"FINISHED"}
    settings = portrait.portrait
    assert settings.preview and node.image == settings.preview_image
    assert tuple(settings.preview_image.size) == (160, 160)  # below 512 px: full size
    closed = _pixels(settings.preview_image)

    scene.frame_set(5)  # the handler renders the new frame
    opened = _pixels(settings.preview_image)
    landmarks = rig_eval.evaluate_landmarks(portrait, bpy.context.evaluated_depsgraph_get())
    expected = render.GeneratorFrames(portrait).render(landmarks, 5)
    assert np.abs(opened.astype(int) - expected).max() <= 1  # float pixels round-trip
    assert np.abs(opened.astype(int) - closed).max() > 50

    assert bpy.ops.portrait.preview() == {"FINISHED"}
    assert not settings.preview and node.image == settings.source
    scene.frame_set(1)  # the handler leaves a switched-off preview alone
    assert np.array_equal(_pixels(settings.preview_image), opened)


def test_preview_of_a_broken_portrait_turns_itself_off(bpy, portrait):
    assert bpy.ops.portrait.preview() == {"FINISHED"}
    portrait.portrait.rig.modifiers.new("subdivide", "SUBSURF")
    bpy.context.scene.frame_set(2)  # must not raise from inside the handler
    assert not portrait.portrait.preview
    node = portrait.active_material.node_tree.nodes["Portrait Frames"]
    assert node.image == portrait.portrait.source
