"""Motion sources in real Blender: imports land as keys in new NLA tracks, the animator's action
survives, life layers add over it and bake, renders move where the motion does, bad input reports."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from scipy.io import wavfile

pytestmark = pytest.mark.blender
pytest_plugins = ["blender_support"]  # fixtures: bpy, portrait, project, small_portrait, extension

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"
TAKE = TESTDATA / "mocap" / "livelinkface_MySlate_3_Jason_Millers_iPhone.csv"
SPEECH = TESTDATA / "audio" / "jfk_inaugural_ask_not.wav"
CLIP = TESTDATA / "driving" / "lp_d18_man_frontal.mp4"
JAW = 'key_blocks["jawOpen"].value'


def _csv_column(name: str) -> np.ndarray:
    with open(TAKE, newline="") as handle:
        rows = list(csv.reader(handle))
    index = rows[0].index(name)
    return np.array([float(row[index]) for row in rows[1:]])


def _animate_like_an_animator(plane) -> None:
    """Keys made before any import: a brow raise on the shape keys and a head turn."""
    rig = plane.portrait.rig
    brow = rig.data.shape_keys.key_blocks["browOuterUpLeft"]
    for frame, value in ((1, 0.2), (40, 0.6)):
        brow.value = value
        brow.keyframe_insert("value", frame=frame)
    for frame, yaw in ((1, 0.05), (40, 0.15)):
        rig.rotation_euler[2] = yaw
        rig.keyframe_insert("rotation_euler", index=2, frame=frame)


def _keys_of(action, compat) -> dict:
    """Every key of an action: (data path, index) -> [(frame, value, interpolation), ...]."""
    return {(curve.data_path, curve.array_index):
            [(tuple(point.co), tuple(point.handle_left), tuple(point.handle_right),
              point.interpolation) for point in curve.keyframe_points]
            for curve in compat.fcurves(action)}


def _snapshot(plane, compat) -> dict:
    """The active actions of the rig's datablocks and their keys."""
    rig = plane.portrait.rig
    return {action.name: _keys_of(action, compat)
            for action in (rig.data.shape_keys.animation_data.action,
                           rig.animation_data.action)}


def _assert_untouched(bpy, plane, snapshot, compat) -> None:
    """The animator's actions have the same keys and still play (in an NLA strip or active)."""
    rig = plane.portrait.rig
    playing = {strip.action.name for datablock in (rig, rig.data.shape_keys)
               for track in datablock.animation_data.nla_tracks for strip in track.strips
               if not track.mute}
    for name, keys in snapshot.items():
        assert _keys_of(bpy.data.actions[name], compat) == keys, name
        assert name in playing, name


def _layer(datablock, label: str):
    """The action of the NLA track named `label` on a datablock."""
    tracks = [track for track in datablock.animation_data.nla_tracks if track.name == label]
    assert len(tracks) == 1, [track.name for track in datablock.animation_data.nla_tracks]
    return tracks[0].strips[0]


def _curve(strip, data_path: str, compat, index: int = 0) -> np.ndarray:
    """(K, 2) keys (frame, value) of one F-curve of a strip's action."""
    for curve in compat.fcurves(strip.action, strip.action_slot if compat.SLOTTED_ACTIONS else None):
        if curve.data_path == data_path and curve.array_index == index:
            points = np.empty(len(curve.keyframe_points) * 2, np.float32)
            curve.keyframe_points.foreach_get("co", points)
            return points.reshape(-1, 2).astype(np.float64)
    raise AssertionError(f"no F-curve {data_path}[{index}]")


def _at(bpy, frame: int, read) -> float:
    bpy.context.scene.frame_set(frame)
    return read()


def test_livelink_keys_equal_the_csv_and_the_animators_action_survives(bpy, portrait, project):
    compat = project("blender_addon.compat")
    scene = bpy.context.scene
    scene.render.fps, scene.frame_start = 60, 1
    _animate_like_an_animator(portrait)
    before = _snapshot(portrait, compat)

    assert bpy.ops.portrait.import_livelink(filepath=str(TAKE)) == {"FINISHED"}
    rig = portrait.portrait.rig
    strip = _layer(rig.data.shape_keys, f"Live Link: {TAKE.stem}")
    assert strip.blend_type == "REPLACE"
    jaw = _curve(strip, JAW, compat)
    np.testing.assert_array_equal(jaw[:, 0], 1 + np.arange(328))
    np.testing.assert_allclose(jaw[:, 1], _csv_column("JawOpen"), atol=1e-7)
    _assert_untouched(bpy, portrait, before, compat)
    key_blocks = rig.data.shape_keys.key_blocks
    # The take drives the face; the animator's head turn (not in the take) still plays.
    assert _at(bpy, 51, lambda: key_blocks["jawOpen"].value) == pytest.approx(
        _csv_column("JawOpen")[50], abs=1e-6)
    assert _at(bpy, 40, lambda: rig.rotation_euler[2]) == pytest.approx(0.15, abs=1e-6)

    # Resampled to 24 fps: keys interpolate the take, mouthLeft/Right swapped on request.
    scene.render.fps = 24
    assert bpy.ops.portrait.import_livelink(filepath=str(TAKE), swap_mouth_lr=True) == {"FINISHED"}
    strips = [t.strips[0] for t in rig.data.shape_keys.animation_data.nla_tracks
              if t.name == f"Live Link: {TAKE.stem}"]
    assert len(strips) == 2
    mouth_right = _curve(strips[-1], 'key_blocks["mouthRight"].value', compat)
    assert len(mouth_right) == 131
    np.testing.assert_allclose(mouth_right[0, 1], _csv_column("MouthLeft")[0], atol=1e-7)
    _assert_untouched(bpy, portrait, before, compat)


def test_lipsync_from_a_file(bpy, portrait, project):
    compat = project("blender_addon.compat")
    scene = bpy.context.scene
    scene.render.fps = 24
    _animate_like_an_animator(portrait)
    before = _snapshot(portrait, compat)
    assert bpy.ops.portrait.lipsync(filepath=str(SPEECH)) == {"FINISHED"}
    shape_keys = portrait.portrait.rig.data.shape_keys
    jaw = _curve(_layer(shape_keys, f"Lip Sync: {SPEECH.stem}"), JAW, compat)
    rate, samples = wavfile.read(SPEECH)
    samples = samples / 32768.0
    edges = np.minimum((np.arange(len(jaw) + 1) * rate / 24.0).round().astype(int), len(samples))
    envelope = np.array([np.sqrt(np.mean(samples[a:b] ** 2)) if b > a else 0.0
                         for a, b in zip(edges[:-1], edges[1:])])
    assert np.corrcoef(jaw[:, 1], envelope)[0, 1] >= 0.7
    _assert_untouched(bpy, portrait, before, compat)


def test_lipsync_from_a_sound_strip(bpy, portrait, project):
    compat = project("blender_addon.compat")
    scene = bpy.context.scene
    scene.render.fps = 24
    try:
        strip = compat.strips(scene).new_sound("speech", str(SPEECH), channel=2, frame_start=40)
    except RuntimeError as exc:  # the bpy 4.2 wheel is built without audio: no sound strips
        pytest.skip(str(exc))
    assert bpy.ops.portrait.lipsync(use_sound_strip=True) == {"FINISHED"}
    assert bpy.ops.portrait.lipsync(filepath=str(SPEECH)) == {"FINISHED"}
    shape_keys = portrait.portrait.rig.data.shape_keys
    from_strip = _curve(_layer(shape_keys, f"Lip Sync: {strip.name}"), JAW, compat)
    from_file = _curve(_layer(shape_keys, f"Lip Sync: {SPEECH.stem}"), JAW, compat)
    assert from_strip[0, 0] == 40 and from_file[0, 0] == scene.frame_start
    np.testing.assert_allclose(from_strip[:, 1], from_file[:, 1], atol=1e-7)


def test_life_is_deterministic_adds_over_animation_and_bakes(bpy, portrait, project):
    compat = project("blender_addon.compat")
    scene = bpy.context.scene
    scene.render.fps, scene.frame_start, scene.frame_end = 24, 1, 240
    rig = portrait.portrait.rig
    blink = rig.data.shape_keys.key_blocks["eyeBlinkLeft"]
    for frame in (1, 240):  # the animator holds the eye slightly closed
        blink.value = 0.2
        blink.keyframe_insert("value", frame=frame)
    _animate_like_an_animator(portrait)
    before = _snapshot(portrait, compat)

    def blink_keys():
        return _curve(_layer(rig.data.shape_keys, "Life: blink"), 'key_blocks["eyeBlinkLeft"].value',
                      compat)

    assert bpy.ops.portrait.add_life(seed=5) == {"FINISHED"}
    first = blink_keys()
    assert bpy.ops.portrait.add_life(seed=5) == {"FINISHED"}  # replaces, does not stack
    np.testing.assert_array_equal(blink_keys(), first)
    assert bpy.ops.portrait.add_life(seed=6) == {"FINISHED"}
    assert not np.array_equal(blink_keys(), first)
    assert bpy.ops.portrait.add_life(seed=5) == {"FINISHED"}
    _assert_untouched(bpy, portrait, before, compat)

    apex = int(first[first[:, 1] == 1.0][0, 0])
    assert _at(bpy, apex, lambda: blink.value) == pytest.approx(1.0)  # 0.2 + 1, clamped
    open_frame = int(first[1, 0]) - 1  # before the first blink starts: only the animator's 0.2
    assert _at(bpy, open_frame, lambda: blink.value) == pytest.approx(0.2, abs=1e-6)
    sway = _layer(rig, "Life: sway")
    assert sway.blend_type == "ADD" and (sway.frame_start, sway.frame_end) == (1, 240)

    frames = range(1, 241, 7)
    def played():
        return np.array([[_at(bpy, f, lambda: blink.value),
                          math.degrees(rig.rotation_euler[2]), math.degrees(rig.rotation_euler[0])]
                         for f in frames])

    live = played()
    assert bpy.ops.portrait.bake_life() == {"FINISHED"}
    names = {track.name for block in (rig, rig.data.shape_keys)
             for track in block.animation_data.nla_tracks}
    assert not any(name.startswith("Life: ") for name in names) and "Life (baked)" in names
    np.testing.assert_allclose(played(), live, atol=0.003 + 0.03)  # reduction tolerance
    _assert_untouched(bpy, portrait, before, compat)
    with pytest.raises(RuntimeError, match="no life layers to bake"):
        bpy.ops.portrait.bake_life()


def test_video_solve_and_motion_json_import(bpy, portrait, project, tmp_path):
    compat = project("blender_addon.compat")
    scene = bpy.context.scene
    scene.render.fps = 30
    _animate_like_an_animator(portrait)
    before = _snapshot(portrait, compat)
    assert bpy.ops.portrait.import_motion(filepath=str(CLIP), every=12, reduce=0.02) == {"FINISHED"}
    rig = portrait.portrait.rig
    label = f"Motion: {CLIP.stem}"
    jaw = _curve(_layer(rig.data.shape_keys, label), JAW, compat)
    assert jaw[:, 1].max() > 0.3  # the clip opens the jaw wide
    assert len(jaw) < 216 and jaw[0, 0] == scene.frame_start
    yaw = _curve(_layer(rig, label), "rotation_euler", compat, index=2)
    assert np.abs(yaw[:, 1]).max() < math.radians(15)  # a static head stays near frontal
    _assert_untouched(bpy, portrait, before, compat)

    motion = {"name": "half_rate", "fps": 12.0, "frame_start": 1, "frame_end": 7,
              "tracks": {"mouthSmileLeft": [[1, 0.0], [7, 1.0]], "head.pitch": [[1, 0.0], [7, 10.0]]},
              "interpolation": "LINEAR"}
    path = tmp_path / "half_rate.json"
    path.write_text(json.dumps(motion))
    assert bpy.ops.portrait.import_motion(filepath=str(path)) == {"FINISHED"}
    smile = _curve(_layer(rig.data.shape_keys, "Motion: half_rate"),
                   'key_blocks["mouthSmileLeft"].value', compat)
    np.testing.assert_allclose(smile, [[1, 0.0], [16, 1.0]])  # 6 frames at 12 fps = 15 at 30
    pitch = _curve(_layer(rig, "Motion: half_rate"), "rotation_euler", compat, index=0)
    assert pitch[-1, 1] == pytest.approx(math.radians(10.0))


def test_solve_job_cancels_and_uses_the_rig_blender_holds(bpy, portrait, project):
    jobs = project("blender_addon.jobs")
    rig_module = project("core.rig")
    face_rig = project("blender_addon.rig_eval").blender_face_rig(portrait)
    reference = rig_module.FaceRig.from_landmarks(
        np.asarray(portrait["portrait_landmarks"]).reshape(478, 3), (160, 160))
    weights = np.random.default_rng(0).uniform(0, 1, 52)
    head = rig_module.HeadPose(yaw=8.0, pitch=-4.0, roll=3.0)
    assert np.abs(face_rig.evaluate(weights, head) - reference.evaluate(weights, head)).max() < 1e-3

    # Esc sets the job's cancel event: the worker stops at its next frame, with nothing to key.
    job = jobs.SolveJob(str(CLIP), face_rig, reference.rest, 30.0, 1, 1.0, 1, 0.0)
    job.cancel.set()
    job.thread.start()
    job.thread.join(timeout=30)
    assert not job.thread.is_alive() and job.motion is None and job.error is None
    assert job.state == ("tracking", 0, 0)


def test_operators_are_undoable_and_the_panel_sits_in_both_portrait_tabs(bpy):
    for name in ("import_motion", "import_livelink", "lipsync", "add_life", "bake_life", "render",
                 "sketch"):
        operator = getattr(bpy.types, f"PORTRAIT_OT_{name}")
        assert {"REGISTER", "UNDO"} <= set(operator.bl_options), name
    for editor in ("VIEW3D", "SEQUENCER"):
        panel = getattr(bpy.types, f"{editor}_PT_portrait_motion")
        assert panel.bl_parent_id == f"{editor}_PT_portrait" and panel.bl_category == "Portrait"


def _render(bpy, frame: int, cache: Path) -> np.ndarray:
    scene = bpy.context.scene
    scene.frame_start = scene.frame_end = frame
    assert bpy.ops.portrait.render() == {"FINISHED"}
    return iio.imread(cache / f"frame_{frame:04d}.png").astype(np.int16)


def _region_change(a, b, landmarks, indices) -> tuple[float, float]:
    """Mean visible change inside the landmarks' box and outside the face."""
    changed = np.abs(a - b).max(axis=2) > 12
    x0, y0 = np.floor(landmarks[indices, :2].min(axis=0)).astype(int) - 3
    x1, y1 = np.ceil(landmarks[indices, :2].max(axis=0)).astype(int) + 3
    inside = changed[max(y0, 0):y1, max(x0, 0):x1].mean()
    return inside, changed[:, :15].mean() + changed[:, -15:].mean()


@pytest.mark.parametrize("source", ["lipsync", "livelink", "life"])
def test_render_after_an_import_moves_where_the_motion_does(bpy, portrait, project, source):
    topology = project("core.landmarks.topology")
    cache = Path(portrait.portrait.cache_dir)
    scene = bpy.context.scene
    scene.render.fps = 24
    landmarks = np.asarray(portrait["portrait_landmarks"]).reshape(478, 3)
    shape_keys = portrait.portrait.rig.data.shape_keys
    if source == "lipsync":
        assert bpy.ops.portrait.lipsync(filepath=str(SPEECH)) == {"FINISHED"}
        name, region = "jawOpen", topology.MOUTH_POINT_INDICES
    elif source == "livelink":
        assert bpy.ops.portrait.import_livelink(filepath=str(TAKE)) == {"FINISHED"}
        name, region = "jawOpen", topology.MOUTH_POINT_INDICES
    else:
        scene.frame_start, scene.frame_end = 1, 240
        assert bpy.ops.portrait.add_life(seed=1, saccades=False, sway=False,
                                         breathing=False) == {"FINISHED"}
        name, region = "eyeBlinkLeft", topology.EYE_POINT_INDICES
    values = [_at(bpy, frame, lambda: shape_keys.key_blocks[name].value) for frame in range(1, 200)]
    quiet, busy = 1 + int(np.argmin(values)), 1 + int(np.argmax(values))
    assert values[busy - 1] > 0.5 and values[quiet - 1] < 0.1
    rest, moved = _render(bpy, quiet, cache), _render(bpy, busy, cache)
    inside, background = _region_change(rest, moved, landmarks, region)
    assert inside > 0.05 and background == 0.0


def test_bad_input_reports_and_leaves_the_rig_alone(bpy, portrait, tmp_path):
    silent = tmp_path / "silent.wav"
    wavfile.write(silent, 16000, np.zeros(16000, np.int16))
    text = tmp_path / "notes.txt"
    text.write_text("hello\n" * 100)
    blank = tmp_path / "blank.mp4"
    iio.imwrite(blank, np.full((4, 64, 64, 3), 90, np.uint8), fps=10)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    unknown_channel = tmp_path / "unknown.json"
    unknown_channel.write_text(json.dumps({"name": "x", "fps": 24, "frame_start": 1, "frame_end": 2,
                                           "tracks": {"wiggleEars": [[1, 0], [2, 1]]}}))
    cases = [
        (bpy.ops.portrait.import_livelink, {"filepath": str(tmp_path / "missing.csv")}, "no such file"),
        (bpy.ops.portrait.import_livelink, {"filepath": str(SPEECH)}, "not a Live Link Face CSV"),
        (bpy.ops.portrait.lipsync, {"filepath": str(silent)}, "no speech"),
        (bpy.ops.portrait.lipsync, {"filepath": str(text)}, "not a readable audio file"),
        (bpy.ops.portrait.lipsync, {"use_sound_strip": True}, "no sound strip"),
        (bpy.ops.portrait.import_motion, {"filepath": str(text)}, "not a motion .json nor a video"),
        (bpy.ops.portrait.import_motion, {"filepath": str(bad_json)}, "bad.json"),
        (bpy.ops.portrait.import_motion, {"filepath": str(blank)}, "no face found"),
        (bpy.ops.portrait.import_motion, {"filepath": str(unknown_channel)}, "wiggleEars"),
        (bpy.ops.portrait.add_life, {"blink": False, "breathing": False, "saccades": False,
                                     "sway": False}, "no life layer chosen"),
        (bpy.ops.portrait.bake_life, {}, "no life layers to bake"),
    ]
    for operator, kwargs, message in cases:
        with pytest.raises(RuntimeError, match=message):
            operator(**kwargs)
    rig = portrait.portrait.rig
    assert not bpy.data.actions
    for block in (rig, rig.data.shape_keys):
        assert block.animation_data is None or not block.animation_data.nla_tracks

    bpy.ops.wm.read_factory_settings(use_empty=True)
    with pytest.raises(RuntimeError, match="no portrait selected"):
        bpy.ops.portrait.lipsync(filepath=str(SPEECH))
