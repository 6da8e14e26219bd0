"""The extension in real Blender: registration, adding portraits, presets, keys, dependencies."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from blender_support import add_portrait

pytest_plugins = ["blender_support"]  # fixtures: bpy, portrait, project, small_portrait, extension

pytestmark = pytest.mark.blender

DATABLOCKS = ("objects", "meshes", "materials", "images", "collections", "shape_keys")


def _datablock_counts(bpy) -> dict[str, int]:
    return {name: len(getattr(bpy.data, name)) for name in DATABLOCKS}


def test_register_unregister_register_is_clean(bpy, extension):
    handlers = bpy.app.handlers.frame_change_post
    extension.unregister()
    assert not hasattr(bpy.types.Object, "portrait")
    assert not hasattr(bpy.types.Scene, "portrait_active")
    assert not hasattr(bpy.types, "VIEW3D_PT_portrait")
    assert not hasattr(bpy.types, "PORTRAIT_OT_render")
    assert not any(h.__name__ == "on_frame_change" for h in handlers)
    extension.register()
    extension.unregister()
    extension.register()
    for name in ("VIEW3D_PT_portrait", "VIEW3D_PT_portrait_render", "SEQUENCER_PT_portrait",
                 "SEQUENCER_PT_portrait_shapes", "PORTRAIT_OT_add", "PORTRAIT_OT_render",
                 "PORTRAIT_OT_preview", "PORTRAIT_OT_sketch", "PORTRAIT_OT_apply_expression",
                 "PORTRAIT_OT_key_pose"):
        assert hasattr(bpy.types, name), name
    assert sum(h.__name__ == "on_frame_change" for h in handlers) == 1


def test_both_sidebars_show_every_section_in_order(bpy, project):
    panels = project("blender_addon.panels")
    for editor, space, classes in (("VIEW3D", "VIEW_3D", panels.VIEW3D_PANELS),
                                   ("SEQUENCER", "SEQUENCE_EDITOR", panels.SEQUENCER_PANELS)):
        assert [cls.__mro__[1] for cls in classes] == panels.SECTIONS
        for cls in classes:
            registered = getattr(bpy.types, cls.__name__)
            assert registered.bl_space_type == space and registered.bl_category == "Portrait"
            assert cls.__name__.startswith(f"{editor}_PT_portrait")
            assert getattr(registered, "bl_parent_id", "") in ("", f"{editor}_PT_portrait")


def test_add_builds_plane_and_rig_in_portrait_space(bpy, portrait, project):
    rig_module = project("core.rig")
    plane = portrait
    settings = plane.portrait
    rig = settings.rig

    assert (settings.image_width, settings.image_height) == (160, 160)
    assert len(rig.data.vertices) == 478
    assert [k.name for k in rig.data.shape_keys.key_blocks] == ["Basis"] + rig_module.ARKIT_NAMES
    assert rig.parent == plane and rig.rotation_mode == "XYZ"
    assert np.allclose(np.array(rig.matrix_parent_inverse), np.eye(4))
    assert set(plane.users_collection[0].objects) == {plane, rig}
    # Square portrait: the plane spans -1..1 in X and Z.
    corners = np.array([v.co for v in plane.data.vertices])
    assert np.allclose(np.abs(corners[:, [0, 2]]), 1.0) and np.allclose(corners[:, 1], 0.0)

    landmarks = np.asarray(plane["portrait_landmarks"], np.float32).reshape(478, 3)
    rest = np.array([v.co for v in rig.data.vertices]) + np.array(rig.location)
    expected = rig_module.image_to_portrait(landmarks, (160, 160))
    assert np.abs(rest - expected).max() < 1e-5

    node = plane.active_material.node_tree.nodes["Portrait Frames"]
    assert node.image == settings.source
    assert bpy.context.scene.portrait_active == plane


def test_add_detects_the_face_of_a_non_square_portrait(bpy, testdata):
    path = testdata / "portraits" / "photo_obama_official_portrait.jpg"
    assert bpy.ops.portrait.add(filepath=str(path)) == {"FINISHED"}
    plane = bpy.context.scene.portrait_active
    assert (plane.portrait.image_width, plane.portrait.image_height) == (910, 1137)
    corners = np.array([v.co for v in plane.data.vertices])
    assert np.allclose(corners[:, 0].max(), 910 / 1137) and np.allclose(corners[:, 2].max(), 1.0)
    # The face is found where it is: the landmarks' centre lies in the upper middle.
    landmarks = np.asarray(plane["portrait_landmarks"]).reshape(478, 3)
    centre = landmarks[:, :2].mean(axis=0)
    assert 300 < centre[0] < 600 and 200 < centre[1] < 700


def test_add_places_the_plane_at_the_cursor_selected_and_active(bpy, small_portrait, tmp_path):
    image_path, json_path = small_portrait
    bpy.ops.mesh.primitive_cube_add()
    cube = bpy.context.view_layer.objects.active
    bpy.context.scene.cursor.location = (1.5, -2.0, 0.25)
    plane = add_portrait(bpy, image_path, tmp_path / "cache", landmarks_path=str(json_path))
    assert tuple(plane.location) == (1.5, -2.0, 0.25)
    assert bpy.context.view_layer.objects.active == plane
    assert plane.select_get() and not cube.select_get()


def test_add_bad_input_reports_and_creates_nothing(bpy, small_portrait, tmp_path, project):
    media = project("core.media")
    blank = tmp_path / "blank.png"
    media.write_image(blank, np.full((200, 200, 3), 128, np.uint8))
    not_an_image = tmp_path / "text.png"
    not_an_image.write_text("not a png")
    wrong_size = tmp_path / "wrong_size.png"
    media.write_image(wrong_size, np.zeros((100, 120, 3), np.uint8))
    _, landmarks_json = small_portrait
    before = _datablock_counts(bpy)

    cases = [({"filepath": str(tmp_path / "missing.png")}, "no such file"),
             ({"filepath": str(blank)}, "no face"),
             ({"filepath": str(not_an_image)}, "not a readable image"),
             ({"filepath": str(wrong_size), "landmarks_path": str(landmarks_json)}, "160x160")]
    for kwargs, message in cases:
        with pytest.raises(RuntimeError, match=message):
            bpy.ops.portrait.add(**kwargs)
        assert _datablock_counts(bpy) == before, kwargs
    assert bpy.context.scene.portrait_active is None


def test_apply_expression_sets_all_shape_keys(bpy, portrait, project):
    expressions = project("core.rig.expressions")
    key_blocks = portrait.portrait.rig.data.shape_keys.key_blocks
    key_blocks["eyeBlinkLeft"].value = 0.7  # not in the preset: must be reset
    names = expressions.list_expressions()
    assert "smile" in names  # the contract's presets: smile, surprise, ..., A E I O U
    for name in names:
        assert bpy.ops.portrait.apply_expression(preset=name) == {"FINISHED"}
        weights = expressions.load_expression(name)
        assert weights, name
        for key_block in key_blocks[1:]:
            assert key_block.value == pytest.approx(weights.get(key_block.name, 0.0)), name


def test_key_pose_keys_every_shape_and_the_head(bpy, portrait, project):
    compat = project("blender_addon.compat")
    rig = portrait.portrait.rig
    scene = bpy.context.scene
    for frame, jaw, yaw in ((1, 0.0, 0.0), (9, 1.0, 0.3)):
        scene.frame_set(frame)
        rig.data.shape_keys.key_blocks["jawOpen"].value = jaw
        rig.rotation_euler[2] = yaw
        assert bpy.ops.portrait.key_pose() == {"FINISHED"}

    shape_curves = {c.data_path: c for c in compat.animated_fcurves(rig.data.shape_keys)}
    assert len(shape_curves) == 52
    jaw_curve = shape_curves['key_blocks["jawOpen"].value']
    assert [tuple(k.co) for k in jaw_curve.keyframe_points] == [(1.0, 0.0), (9.0, 1.0)]
    head = [c for c in compat.animated_fcurves(rig) if c.data_path == "rotation_euler"]
    assert sorted(c.array_index for c in head) == [0, 1, 2]
    assert head[2].evaluate(9) == pytest.approx(0.3)


def test_operators_without_a_portrait_report(bpy):
    for operator in (bpy.ops.portrait.render, bpy.ops.portrait.preview,
                     bpy.ops.portrait.key_pose, bpy.ops.portrait.sketch):
        with pytest.raises(RuntimeError, match="no portrait selected"):
            operator()


def test_missing_mediapipe_is_listed_and_landmarks_json_still_works(bpy, small_portrait, project,
                                                                    monkeypatch):
    dependencies = project("blender_addon.dependencies")
    image_path, landmarks_json = small_portrait
    for name in [name for name in sys.modules if name.split(".")[0] == "mediapipe"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # makes `import mediapipe` fail
    dependencies.refresh()
    try:
        missing = [package.module for package, _ in dependencies.missing_packages()]
        assert missing == ["mediapipe"]
        with pytest.raises(RuntimeError, match="mediapipe is missing"):
            bpy.ops.portrait.add(filepath=str(image_path))
        assert len(bpy.data.objects) == 0
        assert bpy.ops.portrait.add(filepath=str(image_path),
                                    landmarks_path=str(landmarks_json)) == {"FINISHED"}
        hint = dependencies.fix_hint(dependencies.BY_MODULE["mediapipe"])
        assert "pip install" in hint and "mediapipe>=1.2" in hint
    finally:
        monkeypatch.undo()
        dependencies.refresh()
    assert dependencies.missing_packages() == []
