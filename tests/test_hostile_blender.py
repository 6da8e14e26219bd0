"""Hostile scene states and inputs for every operator and the preview handler, in real bpy.

Each scenario breaks a portrait the way a user can (deletes what the extension made, scales a
transform to zero, edits a custom property, fills the cache folder with their own files), then
runs every operator on it. Each run either finishes, or reports one line and returns CANCELLED
leaving the scene, the animator's data and the files byte-identical; nothing non-finite is ever
keyed; the handler switches itself off and says so once.
"""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.io import wavfile

from hostile_support import assert_one_line, count, tree_state

pytestmark = pytest.mark.blender
pytest_plugins = ["blender_support"]  # fixtures: bpy, portrait, project, small_portrait, extension

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"
TAKE = TESTDATA / "mocap" / "livelinkface_MySlate_3_Jason_Millers_iPhone.csv"
SPEECH = TESTDATA / "audio" / "jfk_inaugural_ask_not.wav"
SITTER = TESTDATA / "portraits" / "photo_astronaut_eileen_collins.png"  # the small portrait's
NAN = float("nan")


# ---- what "unchanged" means ---------------------------------------------------------------

def _fcurve_keys(action, compat) -> list:
    slots = list(action.slots) if compat.SLOTTED_ACTIONS else [None]
    return [(curve.data_path, curve.array_index,
             [tuple(point.co) for point in curve.keyframe_points])
            for slot in slots for curve in compat.fcurves(action, slot)]


def _animation(block) -> tuple:
    data = block.animation_data if block is not None else None
    if data is None:
        return ()
    return (data.action.name if data.action else None,
            [(track.name, track.mute, [(strip.name, strip.action.name if strip.action else None,
                                        strip.frame_start, strip.frame_end, strip.blend_type)
                                       for strip in track.strips])
             for track in data.nla_tracks])


def _strips(scene, compat) -> list:
    if scene.sequence_editor is None:
        return []
    return sorted((strip.name, strip.type, strip.channel, strip.frame_final_start,
                   strip.frame_final_end, getattr(strip, "directory", ""),
                   tuple(sorted(strip.keys())))
                  for strip in compat.strips(scene))


def scene_state(bpy, compat) -> dict:
    """Everything an operator could change or destroy, as plain values."""
    state = {"objects": {}, "actions": {},
             "images": sorted((image.name, image.filepath, image.source)
                              for image in bpy.data.images)}
    for obj in bpy.data.objects:
        entry = {"matrix": [tuple(row) for row in obj.matrix_basis],
                 "parent": getattr(obj.parent, "name", None),
                 "props": {key: repr(obj[key])[:200] for key in obj.keys() if key != "portrait"},
                 "animation": _animation(obj)}
        if obj.type == "MESH":
            keys = obj.data.shape_keys
            entry["shapes"] = [(key.name, key.value, key.slider_min, key.slider_max)
                               for key in keys.key_blocks] if keys else None
            entry["shape_animation"] = _animation(keys)
            entry["materials"] = [
                (getattr(material, "name", None),
                 sorted(node.name for node in material.node_tree.nodes)
                 if material and material.node_tree else None)
                for material in obj.data.materials]
        settings_ = obj.portrait
        entry["portrait"] = (settings_.is_portrait, settings_.preview, settings_.cache_dir,
                             getattr(settings_.rig, "name", None),
                             getattr(settings_.frames_image, "name", None),
                             [item.filepath for item in settings_.references],
                             settings_.reference_index)
        state["objects"][obj.name] = entry
    for action in bpy.data.actions:
        state["actions"][action.name] = (_fcurve_keys(action, compat), dict(action.items()) and
                                         repr(sorted(action.keys())))
    state["strips"] = {scene.name: _strips(scene, compat) for scene in bpy.data.scenes}
    state["frame"] = bpy.context.scene.frame_current
    return state


def assert_all_keys_finite(bpy, compat) -> None:
    for action in bpy.data.actions:
        for _, _, points in _fcurve_keys(action, compat):
            assert np.isfinite(np.asarray(points, np.float64)).all(), action.name


def run_operator(bpy, compat, folder: Path, kind: str, call) -> bool:
    """Run one operator call: True if it finished; if not, it reported one line (or cancelled
    cleanly) and changed nothing in the scene or under `folder`."""
    count(kind)
    before, files = repr(scene_state(bpy, compat)), tree_state(folder)  # repr: nan == nan
    try:
        result = call()
    except RuntimeError as exc:  # the operator's ERROR report, raised by bpy.ops
        assert_one_line(str(exc).strip())
        result = {"CANCELLED"}
    assert result in ({"FINISHED"}, {"CANCELLED"}), result
    assert_all_keys_finite(bpy, compat)
    if result == {"CANCELLED"}:
        assert repr(scene_state(bpy, compat)) == before
        assert tree_state(folder) == files
    return result == {"FINISHED"}


# ---- inputs the operators read --------------------------------------------------------------

@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inputs")
    motion = folder / "nod.json"
    motion.write_text(json.dumps({"name": "nod", "fps": 24, "frame_start": 1, "frame_end": 5,
                                  "tracks": {"jawOpen": [[1, 0], [5, 0.5]],
                                             "head.pitch": [[1, 0], [5, 4]]}}))
    take = folder / "take.csv"
    take.write_text("\n".join(TAKE.read_text(encoding="utf-8-sig").splitlines()[:12]))
    rate, samples = wavfile.read(SPEECH)
    speech = folder / "speech.wav"
    wavfile.write(speech, rate, samples[:int(1.5 * rate)])
    return {"motion": motion, "take": take, "speech": speech}


def operator_calls(bpy, inputs) -> dict:
    """Every operator, with arguments that work on an intact portrait."""
    ops = bpy.ops.portrait
    return {
        "apply_expression": lambda: ops.apply_expression(preset="smile"),
        "key_pose": lambda: ops.key_pose(),
        "import_motion": lambda: ops.import_motion(filepath=str(inputs["motion"])),
        "import_livelink": lambda: ops.import_livelink(filepath=str(inputs["take"])),
        "lipsync": lambda: ops.lipsync(filepath=str(inputs["speech"])),
        "add_life": lambda: ops.add_life(),
        "bake_life": lambda: ops.bake_life(),
        "render": lambda: ops.render(),
        "sketch": lambda: ops.sketch(),
        "preview": lambda: ops.preview(),
        "add_reference": lambda: ops.add_reference(filepath=str(SITTER)),
        "remove_reference": lambda: ops.remove_reference(),
    }


def _short_scene(bpy) -> None:
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, 4
    scene.frame_set(1)


# ---- broken scene states --------------------------------------------------------------------
# Each: (how the user broke the portrait, operators that must refuse). The others may finish.

ALL = {"apply_expression", "key_pose", "import_motion", "import_livelink", "lipsync", "add_life",
       "bake_life", "render", "sketch", "preview", "add_reference", "remove_reference"}
RENDERS = {"render", "sketch", "preview"}
KEYING = {"import_motion", "import_livelink", "lipsync", "add_life"}
REFERENCES = {"add_reference", "remove_reference"}


def _rig(plane):
    return plane.portrait.rig


def _keys(plane):
    return plane.portrait.rig.data.shape_keys.key_blocks


BREAKS = {
    "plane scaled to zero": (lambda bpy, p, d: setattr(p, "scale", (0, 0, 0)), ALL - {"bake_life"}),
    "rig scaled to zero": (lambda bpy, p, d: setattr(_rig(p), "scale", (1, 0, 1)), ALL - {"bake_life"}),
    "NaN location": (lambda bpy, p, d: setattr(p, "location", (NAN, 0, 0)), ALL - {"bake_life"}),
    "rig deleted": (lambda bpy, p, d: bpy.data.objects.remove(_rig(p)), ALL),
    "rig replaced by an empty": (lambda bpy, p, d: setattr(
        p.portrait, "rig", bpy.data.objects.new("empty", None)), ALL),
    "rig shape keys deleted": (lambda bpy, p, d: _rig(p).shape_key_clear(),
                               ALL - {"key_pose", "render", "sketch", "preview", "bake_life"}
                               - REFERENCES),
    "shape key deleted": (lambda bpy, p, d: _rig(p).shape_key_remove(_keys(p)["jawOpen"]),
                          {"import_motion", "lipsync", "import_livelink"}),
    "shape key renamed": (lambda bpy, p, d: setattr(_keys(p)["eyeBlinkLeft"], "name", "blink"),
                          {"import_livelink", "add_life"}),
    "shape key with NaN vertices": (lambda bpy, p, d: _nan_shape(p), RENDERS),
    "pivot property removed": (lambda bpy, p, d: _rig(p).pop("portrait_pivot"), ALL - {"bake_life"}),
    "pivot property garbage": (lambda bpy, p, d: _rig(p).__setitem__("portrait_pivot", "abc"),
                               ALL - {"bake_life"}),
    "landmarks property NaN": (lambda bpy, p, d: p.__setitem__("portrait_landmarks", [NAN] * 1434),
                               {"render", "preview", "add_reference"}),  # sketches: the rig alone
    "landmarks property removed": (lambda bpy, p, d: p.pop("portrait_landmarks"),
                                   {"render", "preview", "add_reference"}),
    "reference file deleted": (lambda bpy, p, d: _reference_gone(p, d), {"render", "preview"}),
    "reference path emptied": (lambda bpy, p, d: setattr(p.portrait.references.add(), "filepath",
                                                         ""), {"render", "preview"}),
    "image node deleted": (lambda bpy, p, d: _material(p).node_tree.nodes.remove(
        _material(p).node_tree.nodes["Portrait Frames"]), {"render", "preview"}),
    "material removed": (lambda bpy, p, d: p.data.materials.clear(), {"render", "preview"}),
    "source image deleted": (lambda bpy, p, d: bpy.data.images.remove(p.portrait.source),
                             {"render", "preview"}),
    "image size edited": (lambda bpy, p, d: setattr(p.portrait, "image_width", 0), ALL - {"bake_life"}),
    "vertex count changed by a modifier": (lambda bpy, p, d: _rig(p).modifiers.new("s", "SUBSURF"),
                                           RENDERS),
    "cache folder is a file": (lambda bpy, p, d: _cache_is_a_file(p, d), {"render", "sketch"}),
    "cache folder holds the user's frames": (lambda bpy, p, d: _users_frames(p, d), {"render"}),
    "cache manifest is the user's file": (lambda bpy, p, d: _users_manifest(p, d), {"render"}),
    "cache manifest is a folder": (lambda bpy, p, d: _manifest_folder(p, d), {"render"}),
    "mouth from driver without a video layer": (
        lambda bpy, p, d: setattr(p.portrait, "mouth_from_driver", True), {"render", "preview"}),
    "driver record damaged": (lambda bpy, p, d: _damaged_driver(p), {"render", "preview"}),
    # degenerate at frame 1 only: renders refuse, the preview of frame 20 is fine
    "transform degenerate when animated": (lambda bpy, p, d: _keyed_zero_scale(bpy, p),
                                           {"render", "sketch"}),
}


def _material(plane):
    return plane.active_material


def _nan_shape(plane):
    _rig(plane).data.vertices[10].co = (NAN, 0, 0)
    _keys(plane)["Basis"].data[10].co = (NAN, 0, 0)


def _cache_is_a_file(plane, folder: Path):
    path = folder / "cache_file"
    path.write_text("mine")
    plane.portrait.cache_dir = str(path)


def _users_frames(plane, folder: Path):
    cache = Path(plane.portrait.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "frame_0001.png").write_bytes(b"my own picture")


def _users_manifest(plane, folder: Path):
    cache = Path(plane.portrait.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "manifest.json").write_text('{"my": "project notes"}')


def _manifest_folder(plane, folder: Path):
    (Path(plane.portrait.cache_dir) / "manifest.json").mkdir(parents=True)


def _damaged_driver(plane):
    """A layer action claiming a driving video with a step that is no number of frames."""
    action = _rig(plane).data.shape_keys.animation_data.nla_tracks[-1].strips[0].action
    for key, value in (("portrait_driver_path", "//take.mp4"), ("portrait_driver_start", 1.0),
                       ("portrait_driver_step", -1.0), ("portrait_driver_neutral", 0)):
        action[key] = value
    plane.portrait.detail_from_driver = True


def _reference_gone(plane, folder: Path):
    path = folder / "reference.png"
    shutil.copyfile(SITTER, path)
    plane.portrait.references.add().filepath = str(path)
    path.unlink()


def _keyed_zero_scale(bpy, plane):
    plane.scale = (0, 0, 0)
    plane.keyframe_insert("scale", frame=1)
    plane.scale = (1, 1, 1)
    plane.keyframe_insert("scale", frame=50)
    bpy.context.scene.frame_set(20)


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_broken_scene_state(bpy, portrait, project, inputs, tmp_path, name):
    compat = project("blender_addon.compat")
    _short_scene(bpy)
    assert bpy.ops.portrait.add_life() == {"FINISHED"}  # life layers the user keeps
    brk, must_refuse = BREAKS[name]
    brk(bpy, portrait, tmp_path)
    for op, call in operator_calls(bpy, inputs).items():
        finished = run_operator(bpy, compat, tmp_path, f"scene state: {name}", call)
        assert not (finished and op in must_refuse), (name, op)


# ---- lost data ------------------------------------------------------------------------------

def test_failed_add_life_keeps_the_life_layers(bpy, portrait, project, tmp_path):
    """The issue's case: the rig lost a channel a life layer keys; the old layers stay."""
    compat = project("blender_addon.compat")
    _short_scene(bpy)
    assert bpy.ops.portrait.add_life() == {"FINISHED"}
    _rig(portrait).shape_key_remove(_keys(portrait)["eyeBlinkRight"])
    tracks = _animation(_rig(portrait).data.shape_keys)
    assert not run_operator(bpy, compat, tmp_path, "lost data: add life after a channel went",
                            lambda: bpy.ops.portrait.add_life())
    assert _animation(_rig(portrait).data.shape_keys) == tracks and tracks[1]


def test_render_keeps_the_users_strip_of_the_same_name(bpy, portrait, project, tmp_path):
    compat = project("blender_addon.compat")
    _short_scene(bpy)
    scene = bpy.context.scene
    strips = compat.strips(scene)
    span = ({"length": 10} if "length" in strips.bl_rna.functions["new_effect"].parameters
            else {"frame_end": 11})  # Blender 5 took length for frame_end
    mine = strips.new_effect(portrait.name, "COLOR", 5, 1, **span)
    mine.color = (0.2, 0.4, 0.6)
    count("lost data: user's strip named like the portrait")
    for _ in range(2):  # the second render replaces its own strip, never the user's
        assert bpy.ops.portrait.render() == {"FINISHED"}
    kept = strips[portrait.name]
    assert kept.type == "COLOR" and tuple(kept.color) == pytest.approx((0.2, 0.4, 0.6))
    ours = [strip for strip in strips if strip.get("portrait_strip") == portrait.name]
    assert len(ours) == 1 and ours[0].type == "IMAGE" and ours[0].frame_final_duration == 4


def test_add_life_keeps_a_users_strip_in_a_life_track(bpy, portrait, project, tmp_path):
    compat = project("blender_addon.compat")
    _short_scene(bpy)
    assert bpy.ops.portrait.add_life() == {"FINISHED"}
    rig = _rig(portrait)
    track = next(track for track in rig.animation_data.nla_tracks if track.name.startswith("Life"))
    mine = bpy.data.actions.new("my sway")
    mine.use_fake_user = False
    rig.rotation_euler[2] = 0.1
    rig.keyframe_insert("rotation_euler", index=2, frame=30)
    action = rig.animation_data.action
    rig.animation_data.action = None
    track.strips.new("mine", 30, action)
    count("lost data: user's strip inside a life track")
    assert bpy.ops.portrait.add_life() == {"FINISHED"}
    assert action.name in bpy.data.actions
    assert any(strip.action == action for track in rig.animation_data.nla_tracks
               for strip in track.strips)


# ---- the preview handler ----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["rig scaled to zero", "shape key with NaN vertices",
                                  "image node deleted", "landmarks property NaN",
                                  "transform degenerate when animated", "source image deleted",
                                  "reference file deleted"])
def test_preview_handler_switches_itself_off_once(bpy, portrait, project, tmp_path, capfd, name):
    compat = project("blender_addon.compat")
    _short_scene(bpy)
    assert bpy.ops.portrait.preview() == {"FINISHED"}
    capfd.readouterr()
    brk, _ = BREAKS[name]
    brk(bpy, portrait, tmp_path)
    count(f"preview handler: {name}")
    for frame in (2, 1, 3, 1):
        bpy.context.scene.frame_set(frame)
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    assert not portrait.portrait.preview
    assert (out + err).count("turned off") == 1, out + err
    assert_all_keys_finite(bpy, compat)


# ---- hostile operator properties and files ---------------------------------------------------

@settings(max_examples=max(6, settings().max_examples // 3))
@given(prop=st.sampled_from(["blink_rate", "blink_duration", "blink_randomness",
                             "sway_amplitude"]),
       value=st.sampled_from([NAN, math.inf, -math.inf, 1e30, -1e30, 0.0]))
def test_add_life_with_hostile_settings(bpy, portrait, project, tmp_path_factory, prop, value):
    compat = project("blender_addon.compat")
    _short_scene(bpy)
    folder = Path(portrait.portrait.cache_dir).parent
    run_operator(bpy, compat, folder, "operator property: add life setting",
                 lambda: bpy.ops.portrait.add_life(**{prop: value}))


@settings(max_examples=max(6, settings().max_examples // 3))
@given(fps=st.sampled_from([1, 24, 1000, 32767]), base=st.sampled_from([1e-5, 1.0, 1000.0]),
       start=st.sampled_from([0, 1, 1048000]))
def test_imports_at_hostile_scene_rates(bpy, portrait, project, inputs, fps, base, start):
    compat = project("blender_addon.compat")
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = fps, base
    scene.frame_start = start
    folder = Path(portrait.portrait.cache_dir).parent
    for name, call in operator_calls(bpy, inputs).items():
        if name in KEYING:
            run_operator(bpy, compat, folder, "scene rate and start frame", call)


@settings(max_examples=max(6, settings().max_examples // 2))
@given(field=st.sampled_from(["fps", "frame_start", "frame_end", "jaw frame", "jaw value",
                              "yaw value"]),
       value=st.sampled_from([NAN, math.inf, 1e300, -1e7, 10 ** 400, "1", None, [], 11.0]))
def test_import_motion_with_hostile_numbers(bpy, portrait, project, tmp_path_factory, field, value):
    compat = project("blender_addon.compat")
    folder = tmp_path_factory.mktemp("motion")
    data = {"fps": 24, "frame_start": 1, "frame_end": 5,
            "tracks": {"jawOpen": [[1, 0], [5, 0.5]], "head.yaw": [[1, 0], [5, 2]]}}
    if field in data:
        data[field] = value
    elif field == "jaw frame":
        data["tracks"]["jawOpen"][1][0] = value
    else:
        data["tracks"]["jawOpen" if field == "jaw value" else "head.yaw"][1][1] = value
    path = folder / "motion.json"
    path.write_text(json.dumps(data, allow_nan=True))
    run_operator(bpy, compat, folder, "operator file: hostile motion JSON",
                 lambda: bpy.ops.portrait.import_motion(filepath=str(path)))


@pytest.mark.parametrize("content", [b"", b"\x00" * 100, b"Timecode\n", b"not,a,take\n1,2,3",
                                     "Timecode,EyeBlinkLeft\n00:00:00:00.0,nan".encode()])
def test_import_files_that_are_not_what_they_claim(bpy, portrait, project, tmp_path, content):
    compat = project("blender_addon.compat")
    calls = {"take.csv": lambda path: bpy.ops.portrait.import_livelink(filepath=str(path)),
             "speech.wav": lambda path: bpy.ops.portrait.lipsync(filepath=str(path)),
             "motion.json": lambda path: bpy.ops.portrait.import_motion(filepath=str(path)),
             "driver.mp4": lambda path: bpy.ops.portrait.import_motion(filepath=str(path)),
             "portrait.png": lambda path: bpy.ops.portrait.add(filepath=str(path)),
             "reference.png": lambda path: bpy.ops.portrait.add_reference(filepath=str(path))}
    for name, call in calls.items():
        path = tmp_path / name
        path.write_bytes(content)
        assert not run_operator(bpy, compat, tmp_path, f"operator file: not a {Path(name).suffix}",
                                lambda: call(path))


def test_portrait_images_blender_and_the_engine_decode_alike(bpy, project, tmp_path, small_portrait):
    """The plane shows what Blender decodes; the frames start from what OpenCV decodes: for each
    image mode they must agree, or every rendered frame has other colours than the plane."""
    from PIL import Image, ImageCms

    media = project("core.media")
    image = media.read_image(small_portrait[0])
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    grey = Image.fromarray(image).convert("L")
    files = {"cmyk.jpg": (Image.fromarray(image).convert("CMYK"), {"quality": 100}),
             "icc.jpg": (Image.fromarray(image), {"quality": 100, "icc_profile": srgb}),
             "grey.png": (grey, {}),
             "grey_alpha.png": (Image.merge("LA", (grey, grey.point(lambda v: 255))), {}),
             "rgba.png": (Image.fromarray(image).convert("RGBA"), {}),
             "palette.png": (Image.fromarray(image).quantize(64), {})}
    for name, (pil, options) in files.items():
        count("image mode: Blender and OpenCV agree")
        path = tmp_path / name
        pil.save(path, **options)
        ours = media.read_image(path).astype(int)
        theirs = bpy.data.images.load(str(path))
        theirs.colorspace_settings.name = "Non-Color"  # the stored values, no view transform
        width, height = theirs.size
        pixels = np.empty(width * height * theirs.channels, np.float32)
        theirs.pixels.foreach_get(pixels)
        blender = np.rint(pixels.reshape(height, width, -1)[::-1, :, :3] * 255).astype(int)
        assert np.abs(blender - ours).mean() < 1.0, name
        assert np.abs(blender - ours).max() <= 8, name
