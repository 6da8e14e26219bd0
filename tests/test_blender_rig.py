"""The Blender face rig, evaluated through the depsgraph, against core.rig's numpy reference."""
from __future__ import annotations

import math

import numpy as np
import pytest
pytest_plugins = ["blender_support"]  # fixtures: bpy, portrait, project, small_portrait, extension

pytestmark = pytest.mark.blender


@pytest.fixture
def evaluate(bpy, project):
    """plane -> its landmarks (478, 3) px as the extension evaluates the rig now."""
    rig_eval = project("blender_addon.rig_eval")
    return lambda plane: rig_eval.evaluate_landmarks(plane, bpy.context.evaluated_depsgraph_get())


@pytest.fixture
def reference(portrait, project):
    """core.rig's FaceRig of the portrait: the numpy reference."""
    landmarks = np.asarray(portrait["portrait_landmarks"], np.float32).reshape(478, 3)
    return project("core.rig").FaceRig.from_landmarks(landmarks, (160, 160))


def test_evaluated_rig_equals_face_rig_evaluate(portrait, evaluate, reference, project):
    rig_module = project("core.rig")
    plane, face_rig = portrait, reference
    rig = plane.portrait.rig
    weights = np.random.default_rng(0).uniform(0.0, 1.0, 52) * (np.arange(52) % 3 == 0)
    for name, value in zip(rig_module.ARKIT_NAMES, weights):
        rig.data.shape_keys.key_blocks[name].value = value
    head = rig_module.HeadPose(yaw=12.0, pitch=-7.0, roll=4.0, translation=(0.02, 0.0, -0.03))
    rig.rotation_euler = (math.radians(head.pitch), math.radians(head.roll), math.radians(head.yaw))
    rig.location = face_rig.pivot + np.array(head.translation)
    # Moving the plane in the world must not matter: landmarks live in its local space.
    plane.location = (3.0, -2.0, 1.0)
    plane.rotation_euler = (0.3, 0.0, 1.1)

    landmarks = evaluate(plane)
    expected = face_rig.evaluate(weights, head)
    assert np.abs(landmarks - expected).max() < 1e-4
    assert np.abs(expected - face_rig.evaluate(np.zeros(52))).max() > 5.0  # the pose moved it


def test_drivers_custom_shape_keys_and_modifiers_drive_the_landmarks(bpy, portrait, evaluate,
                                                                     reference, project):
    plane, face_rig = portrait, reference
    rig = plane.portrait.rig
    rest = evaluate(plane)

    # A driver: a custom property on the plane drives jawOpen.
    plane["jaw"] = 0.8
    plane.update_tag()  # setting a custom property does not tell the depsgraph by itself
    driver = rig.data.shape_keys.key_blocks["jawOpen"].driver_add("value").driver
    driver.type = "AVERAGE"
    variable = driver.variables.new()
    variable.targets[0].id = plane
    variable.targets[0].data_path = '["jaw"]'
    assert np.abs(evaluate(plane) - face_rig.evaluate({"jawOpen": 0.8})).max() < 1e-4

    # A custom shape key moving everything 0.1 units along +X = 8 px right at 160 px.
    rig.data.shape_keys.key_blocks["jawOpen"].driver_remove("value")
    rig.data.shape_keys.key_blocks["jawOpen"].value = 0.0
    custom = rig.shape_key_add(name="slide", from_mix=False)
    coords = np.array([v.co for v in rig.data.vertices]) + [0.1, 0.0, 0.0]
    custom.data.foreach_set("co", coords.astype(np.float32).ravel())
    custom.value = 1.0
    shifted = evaluate(plane)
    assert np.allclose(shifted[:, 0] - rest[:, 0], 8.0, atol=1e-3)
    assert np.allclose(shifted[:, 1:], rest[:, 1:], atol=1e-3)

    # A lattice scaling the face up: landmarks spread out from the centre.
    custom.value = 0.0
    lattice = bpy.data.objects.new("lattice", bpy.data.lattices.new("lattice"))
    bpy.context.scene.collection.objects.link(lattice)
    lattice.parent = rig
    lattice.scale = (3.0, 3.0, 3.0)
    for point in lattice.data.points:
        point.co_deform = point.co_deform * 1.2
    modifier = rig.modifiers.new("lattice", "LATTICE")
    modifier.object = lattice
    spread = evaluate(plane)
    assert spread[:, 0].std() > rest[:, 0].std() * 1.1

    # A modifier that changes the vertex count cannot drive landmarks: a clear error.
    rig.modifiers.new("subdivide", "SUBSURF")
    with pytest.raises(project("core.errors").PortraitError, match="478"):
        evaluate(plane)


def test_region_multipliers_scale_expression_and_head(portrait, evaluate, project):
    topology = project("core.landmarks.topology")
    plane = portrait
    rig = plane.portrait.rig
    settings = plane.portrait
    rest = evaluate(plane)
    key_blocks = rig.data.shape_keys.key_blocks
    key_blocks["eyeBlinkLeft"].value = key_blocks["eyeBlinkRight"].value = 1.0
    key_blocks["jawOpen"].value = 1.0
    rig.rotation_euler[2] = math.radians(10.0)
    posed = evaluate(plane)

    settings.head = 0.0
    no_head = evaluate(plane)
    rig.rotation_euler[2] = 0.0
    assert np.abs(no_head - evaluate(plane)).max() < 1e-4  # head motion removed
    settings.head = 1.0

    settings.eyes, settings.mouth = 0.0, 2.0
    scaled = evaluate(plane)
    plain_settings = (settings.eyes, settings.mouth)
    settings.eyes, settings.mouth = 1.0, 1.0
    unscaled = evaluate(plane)
    assert plain_settings == (0.0, 2.0)
    assert np.abs(scaled[topology.EYE_POINT_INDICES] - rest[topology.EYE_POINT_INDICES]).max() < 1e-4
    assert np.abs(unscaled[topology.EYE_POINT_INDICES] - rest[topology.EYE_POINT_INDICES]).max() > 1.0
    mouth_offset = unscaled[topology.MOUTH_POINT_INDICES] - rest[topology.MOUTH_POINT_INDICES]
    assert np.allclose(scaled[topology.MOUTH_POINT_INDICES] - rest[topology.MOUTH_POINT_INDICES], 2 * mouth_offset, atol=1e-3)
    assert np.abs(posed - unscaled).max() > 1.0  # the yaw was on for `posed` only


@pytest.mark.parametrize("interpolation", ["BEZIER", "LINEAR", "CONSTANT"])
def test_keyed_motion_plays_as_core_rig_samples_it(bpy, portrait, evaluate, reference, project,
                                                   interpolation):
    rig_module = project("core.rig")
    keying = project("blender_addon.keying")
    motion = rig_module.Motion.from_dict({
        "name": "test", "fps": 24, "frame_start": 1, "frame_end": 20,
        "interpolation": interpolation,
        "tracks": {"jawOpen": [[1, 0.0], [7, 0.9], [12, 0.2], [20, 0.6]],
                   "eyeBlinkLeft": [[3, 0.0], [5, 1.0], [7.5, 0.0]],
                   "head.yaw": [[1, 0.0], [10, 15.0], [20, -5.0]],
                   "head.pitch": [[1, 0.0], [20, 8.0]],
                   "head.x": [[1, 0.0], [20, 0.05]]}})
    assert keying.key_motion(portrait, motion.to_dict()) == 5
    expected = rig_module.motion_landmarks(reference, motion)
    for frame, landmarks in zip(motion.frames(), expected):
        bpy.context.scene.frame_set(int(frame))
        assert np.abs(evaluate(portrait) - landmarks).max() < 1e-3, frame
    assert np.abs(expected[6] - expected[0]).max() > 5.0  # the motion moves the face


@pytest.fixture
def contrary_preferences(bpy):
    """The user's preferences for new keys and F-curves set unlike the F-curve contract."""
    edit = bpy.context.preferences.edit
    names = ("fcurve_new_auto_smoothing", "keyframe_new_interpolation_type",
             "keyframe_new_handle_type")
    saved = {name: getattr(edit, name) for name in names}
    edit.fcurve_new_auto_smoothing = "NONE"
    edit.keyframe_new_interpolation_type = "CONSTANT"
    edit.keyframe_new_handle_type = "VECTOR"
    yield
    for name, value in saved.items():
        setattr(edit, name, value)


def _keyed_curves(bpy, portrait, project, motion) -> dict:
    """Key `motion` on the rig; (data path, index) -> its F-curve evaluated at frames 0..30."""
    compat, keying = project("blender_addon.compat"), project("blender_addon.keying")
    rig = portrait.portrait.rig
    keying.key_motion(portrait, motion.to_dict())
    frames = np.linspace(0, 30, 241)
    return {(curve.data_path, curve.array_index): (curve, [curve.evaluate(f) for f in frames])
            for block in (rig, rig.data.shape_keys) for curve in compat.animated_fcurves(block)}


def test_keyed_curves_follow_the_fcurve_contract_whatever_the_preferences(
        bpy, portrait, project, contrary_preferences):
    rig_module, fcurve = project("core.rig"), project("core.rig.fcurve")
    motion = rig_module.load_motion("demo_talk")
    motion = rig_module.Motion(motion.name, motion.fps, 0, 30,
                               {name: keys[keys[:, 0] <= 30] for name, keys in motion.tracks.items()
                                if (keys[:, 0] <= 30).sum() > 2 and name != "head.x"})
    curves = _keyed_curves(bpy, portrait, project, motion)
    assert len(curves) == len(motion.tracks) >= 3
    frames = np.linspace(0, 30, 241)
    keying = project("blender_addon.keying")
    for name, keys in motion.tracks.items():
        path = keying.shape_data_path(name) if name in rig_module.ARKIT_NAMES else "rotation_euler"
        index = keying.HEAD_AXES.get(name, 0)
        curve, values = curves[(path, index)]
        assert curve.auto_smoothing == fcurve.SMOOTHING
        assert curve.extrapolation == fcurve.EXTRAPOLATION
        assert {(k.interpolation, k.handle_left_type, k.handle_right_type)
                for k in curve.keyframe_points} == {("BEZIER", "AUTO_CLAMPED", "AUTO_CLAMPED")}
        expected = fcurve.evaluate_track(keys, frames)
        if path == "rotation_euler":
            expected = np.radians(expected)
        np.testing.assert_allclose(values, expected, atol=1e-4 * max(1.0, np.abs(expected).max()),
                                   err_msg=name)


def test_keying_an_unknown_channel_is_refused_before_anything_is_keyed(portrait, project):
    keying = project("blender_addon.keying")
    with pytest.raises(project("core.errors").PortraitError, match="noseWiggle"):
        keying.key_motion(portrait, {"name": "bad", "tracks": {"jawOpen": [[1, 0.5]],
                                                               "noseWiggle": [[1, 1.0]]}})
    assert portrait.portrait.rig.data.shape_keys.animation_data is None
