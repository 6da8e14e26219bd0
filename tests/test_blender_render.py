"""Rendering from Blender: frames, cache, sequencer strip, plane material, save/reopen, failures."""
from __future__ import annotations

import json
import math
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

pytestmark = pytest.mark.blender
pytest_plugins = ["blender_support"]  # fixtures: bpy, portrait, project, small_portrait, extension

FRAMES = 3


def _key(datablock, path: str, values: dict[int, float], index: int = -1) -> None:
    for frame, value in values.items():
        if index >= 0:
            getattr(datablock, path)[index] = value
        else:
            setattr(datablock, path, value)
        datablock.keyframe_insert(path, index=index, frame=frame)


@pytest.fixture
def animated(bpy, portrait):
    """The portrait with jawOpen keyed 0 -> 1 over frames 1..3."""
    bpy.context.scene.frame_start, bpy.context.scene.frame_end = 1, FRAMES
    jaw = portrait.portrait.rig.data.shape_keys.key_blocks["jawOpen"]
    _key(jaw, "value", {1: 0.0, FRAMES: 1.0})
    return portrait


def _frames(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("frame_*.png"))}


def _mtimes(folder: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mtime_ns for path in sorted(folder.glob("frame_*.png"))}


def _strip_durations(bpy) -> dict[str, int]:
    """Strip name -> frame count in the scene's sequencer (without creating one)."""
    editor = bpy.context.scene.sequence_editor
    if editor is None:
        return {}
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences  # 4.4+ / 4.2
    return {strip.name: strip.frame_final_duration for strip in strips}


def _box(landmarks: np.ndarray, indices, margin: int = 4):
    x0, y0 = np.floor(landmarks[indices, :2].min(axis=0)).astype(int) - margin
    x1, y1 = np.ceil(landmarks[indices, :2].max(axis=0)).astype(int) + margin
    return slice(max(y0, 0), y1), slice(max(x0, 0), x1)


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixels (H, W) that differ visibly between two frames."""
    return np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2) > 12


def test_render_writes_frames_strip_and_image_sequence(bpy, animated, project):
    compat = project("blender_addon.compat")
    topology = project("core.landmarks.topology")
    plane, scene = animated, bpy.context.scene
    assert bpy.ops.portrait.render() == {"FINISHED"}

    cache = Path(plane.portrait.cache_dir)
    names = [f"frame_{f:04d}.png" for f in range(1, FRAMES + 1)]
    assert list(_frames(cache)) == names
    strip = compat.strips(scene)[plane.name]
    assert strip.type == "IMAGE" and strip.frame_final_start == 1
    assert strip.frame_final_duration == FRAMES
    assert [e.filename for e in strip.elements] == names
    assert Path(bpy.path.abspath(strip.directory)) == cache

    node = plane.active_material.node_tree.nodes["Portrait Frames"]
    assert node.image == plane.portrait.frames_image and node.image.source == "SEQUENCE"
    assert Path(bpy.path.abspath(node.image.filepath)) == cache / names[0]
    user = node.image_user
    assert (user.frame_start, user.frame_offset, user.frame_duration) == (1, 0, FRAMES)
    assert plane.portrait.frames_cached == FRAMES and plane.portrait.last_render_time

    closed, opened = (iio.imread(cache / name) for name in (names[0], names[-1]))
    assert closed.shape == (160, 160, 3)
    landmarks = np.asarray(plane["portrait_landmarks"]).reshape(478, 3)
    mouth = _box(landmarks, topology.MOUTH_POINT_INDICES)
    changed = _changed(closed, opened)
    assert changed[mouth].mean() > 0.1  # the jaw opened
    assert changed.sum() == changed[mouth].sum() or changed[mouth].mean() > 5 * changed.mean()
    assert not changed[:, :20].any() and not changed[:, -20:].any()  # the background holds


def test_head_yaw_moves_the_head(bpy, portrait):
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, 2
    _key(portrait.portrait.rig, "rotation_euler", {1: 0.0, 2: math.radians(20.0)}, index=2)
    assert bpy.ops.portrait.render() == {"FINISHED"}
    cache = Path(portrait.portrait.cache_dir)
    still, turned = (iio.imread(cache / f"frame_{f:04d}.png").astype(np.float64) for f in (1, 2))
    landmarks = np.asarray(portrait["portrait_landmarks"]).reshape(478, 3)
    face = _box(landmarks, slice(None))
    assert _changed(still, turned)[face].mean() > 0.2
    # Positive yaw turns the face towards image right: the turned face matches the still one
    # shifted right better than shifted left.
    rows, cols = face
    inner = still[rows, cols.start + 6:cols.stop - 6]
    right = turned[rows, cols.start + 9:cols.stop - 3]
    left = turned[rows, cols.start + 3:cols.stop - 9]
    assert np.abs(right - inner).mean() < np.abs(left - inner).mean()


def test_unchanged_frames_are_not_rendered_again(bpy, animated):
    cache = Path(animated.portrait.cache_dir)
    assert bpy.ops.portrait.render() == {"FINISHED"}
    first = _mtimes(cache)
    assert bpy.ops.portrait.render() == {"FINISHED"}
    assert _mtimes(cache) == first

    # A brow raise keyed at the last frame only: only that frame is rendered again.
    brow = animated.portrait.rig.data.shape_keys.key_blocks["browInnerUp"]
    _key(brow, "value", {FRAMES - 1: 0.0, FRAMES: 1.0})
    before = _frames(cache)
    assert bpy.ops.portrait.render() == {"FINISHED"}
    after = _mtimes(cache)
    last = f"frame_{FRAMES:04d}.png"
    assert {name for name in after if after[name] != first[name]} == {last}
    assert _frames(cache)[last] != before[last]

    # A render setting changes every frame; a longer range grows the strip.
    animated.portrait.resolution = 50
    bpy.context.scene.frame_end = FRAMES + 1
    assert bpy.ops.portrait.render() == {"FINISHED"}
    assert all(_mtimes(cache)[name] != after[name] for name in after)
    assert iio.imread(cache / last).shape == (80, 80, 3)
    assert len(_mtimes(cache)) == FRAMES + 1
    assert _strip_durations(bpy) == {animated.name: FRAMES + 1}


def test_a_gpu_device_that_is_not_there_is_one_report_and_keeps_the_frames(bpy, animated):
    """Render Device set to CUDA on a machine without torch (or without a GPU): the render
    stops with a one-line report and the frames rendered on the CPU stay as they were."""
    cache = Path(animated.portrait.cache_dir)
    assert bpy.ops.portrait.render() == {"FINISHED"}
    before = _frames(cache)
    animated.portrait.device = "cuda"
    with pytest.raises(RuntimeError) as error:
        bpy.ops.portrait.render()
    message = str(error.value).strip()
    assert ("needs torch" in message or "not usable here" in message), message
    assert len(message.splitlines()) == 1
    assert _frames(cache) == before


def test_chunked_render_equals_whole_render_and_strip_spans_both(bpy, animated, project,
                                                                tmp_path):
    cli = project("blender_addon.cli")
    compat = project("blender_addon.compat")
    assert cli.main(["render", "--frames", "1-2"]) == 0
    assert cli.main(["render", "--frames", f"3-{FRAMES}"]) == 0
    chunked = _frames(Path(animated.portrait.cache_dir))
    strip = compat.strips(bpy.context.scene)[animated.name]
    assert (strip.frame_final_start, strip.frame_final_duration) == (1, FRAMES)

    animated.portrait.cache_dir = str(tmp_path / "whole")
    assert cli.main(["render", "--output", str(tmp_path / "whole.mp4")]) == 0
    assert _frames(tmp_path / "whole") == chunked
    assert len(chunked) == FRAMES
    import imageio_ffmpeg  # the movie went through Blender's own FFmpeg output

    frame_count, _ = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "whole.mp4"))
    assert frame_count == FRAMES
    assert cli.main(["render", "--output", str(tmp_path / "whole.mp4")]) == 2  # no --overwrite


def test_save_and_reopen_keeps_rig_strip_material_and_cache(bpy, animated, project, tmp_path):
    compat = project("blender_addon.compat")
    blend = tmp_path / "scene.blend"
    name = animated.name
    animated.portrait.cache_dir = f"//portrait_cache/{name}/"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    assert bpy.ops.portrait.render() == {"FINISHED"}
    bpy.ops.wm.save_mainfile()
    cache = tmp_path / "portrait_cache" / name
    rendered = _mtimes(cache)
    assert len(rendered) == FRAMES

    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    plane = scene.portrait_active
    assert plane.name == name and plane.portrait.rig.name == f"{name}_rig"
    assert len(plane["portrait_landmarks"]) == 478 * 3
    assert len(plane.portrait.rig.data.shape_keys.key_blocks) == 53
    strip = compat.strips(scene)[name]
    assert strip.directory.startswith("//") and strip.frame_final_duration == FRAMES
    image = plane.active_material.node_tree.nodes["Portrait Frames"].image
    assert image.source == "SEQUENCE" and image.filepath.startswith("//")
    assert Path(bpy.path.abspath(image.filepath)) == cache / "frame_0001.png"
    scene.frame_set(FRAMES)  # the animation came back too
    assert plane.portrait.rig.data.shape_keys.key_blocks["jawOpen"].value == pytest.approx(1.0)

    assert bpy.ops.portrait.render() == {"FINISHED"}
    assert _mtimes(cache) == rendered  # the reopened file finds its cache current


def test_cancelled_render_keeps_finished_frames_only(bpy, animated, project):
    render = project("blender_addon.render")
    scene = bpy.context.scene
    scene.frame_set(2)
    job = render.RenderJob(scene, bpy.context.view_layer, animated,
                           render.GeneratorFrames(animated), range(1, FRAMES + 1))
    job.step()
    job.step()
    job.close()  # what Esc does in the modal operator
    cache = Path(animated.portrait.cache_dir)
    assert list(_frames(cache)) == ["frame_0001.png", "frame_0002.png"]
    assert sorted(p.name for p in cache.iterdir()) == ["frame_0001.png", "frame_0002.png",
                                                       "manifest.json"]
    assert scene.frame_current == 2
    assert _strip_durations(bpy) == {}
    assert render.running_jobs == 0

    finished = _mtimes(cache)
    assert bpy.ops.portrait.render() == {"FINISHED"}
    after = _mtimes(cache)
    assert {name: after[name] for name in finished} == finished and len(after) == FRAMES


def test_a_frame_that_fails_leaves_nothing(bpy, animated):
    # From frame 2 on, a modifier changes the vertex count: the rig cannot drive landmarks.
    rig = animated.portrait.rig
    modifier = rig.modifiers.new("subdivide", "SUBSURF")
    _key(modifier, "show_viewport", {1: False, 2: True})
    with pytest.raises(RuntimeError, match="vertex count"):
        bpy.ops.portrait.render()
    cache = Path(animated.portrait.cache_dir)
    assert list(_frames(cache)) == ["frame_0001.png"]
    assert not [p for p in cache.iterdir() if "partial" in p.name]
    assert _strip_durations(bpy) == {}
    assert bpy.context.scene.frame_current == 1


def test_bad_render_input_reports_without_writing(bpy, small_portrait, tmp_path):
    image_path, landmarks_json = small_portrait
    copy = tmp_path / "copy.png"
    copy.write_bytes(image_path.read_bytes())
    bpy.ops.portrait.add(filepath=str(copy), landmarks_path=str(landmarks_json))
    settings = bpy.context.scene.portrait_active.portrait

    settings.cache_dir = "//portrait_cache/copy/"  # the file was never saved
    with pytest.raises(RuntimeError, match="save the file first"):
        bpy.ops.portrait.render()
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    settings.cache_dir = str(blocker / "cache")
    with pytest.raises(RuntimeError, match="cannot create the cache folder"):
        bpy.ops.portrait.render()

    settings.cache_dir = str(tmp_path / "cache")
    copy.unlink()
    with pytest.raises(RuntimeError, match="portrait image is missing"):
        bpy.ops.portrait.render()
    assert not list((tmp_path / "cache").glob("*.png"))
    assert _strip_durations(bpy) == {}


def test_sketch_renders_its_own_strip(bpy, animated, project):
    compat = project("blender_addon.compat")
    rig_eval = project("blender_addon.rig_eval")
    sketch = project("core.sketch")
    assert bpy.ops.portrait.sketch(style="paper") == {"FINISHED"}
    strip = compat.strips(bpy.context.scene)[f"{animated.name}_sketch"]
    assert strip.channel == 2 and strip.frame_final_duration == FRAMES
    folder = Path(animated.portrait.cache_dir) / "sketch_paper"
    assert len(_frames(folder)) == FRAMES

    bpy.context.scene.frame_set(FRAMES)
    landmarks = rig_eval.evaluate_landmarks(animated, bpy.context.evaluated_depsgraph_get())
    expected = sketch.draw_sketch(landmarks.astype(np.float32), (160, 160), "paper")
    assert np.array_equal(iio.imread(folder / f"frame_{FRAMES:04d}.png"), expected)


def test_cache_journal_survives_a_cut_line_and_folds_on_close(project, tmp_path):
    cache_module = project("blender_addon.cache")
    image = np.zeros((16, 16, 3), np.uint8)
    first = cache_module.FrameCache(tmp_path)
    first.store(1, image, "a")
    first.store(1, image + 2, "c")  # replaced: the old entry dropped first, then the new one
    with open(tmp_path / cache_module.JOURNAL, "ab") as journal:
        journal.write(b"3 ")  # what a process killed inside its write may leave
    second = cache_module.FrameCache(tmp_path)
    second.store(2, image + 1, "b")  # starts a line of its own after the cut one
    reread = cache_module.FrameCache(tmp_path)
    assert reread.frames() == [1, 2]
    assert reread.is_current(1, "c") and reread.is_current(2, "b")
    assert json.loads((tmp_path / "manifest.json").read_text())["frames"] == {}  # not yet

    second.close()  # the end of a render: everything in the manifest, the journal gone
    assert json.loads((tmp_path / "manifest.json").read_text())["frames"] == {"1": "c", "2": "b"}
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "frame_0001.png", "frame_0002.png", "manifest.json"]
    first.store(4, image, "d")  # a view from before the fold carries on from the manifest
    first.close()
    assert cache_module.FrameCache(tmp_path).frames() == [1, 2, 4]


def test_cache_manifest_survives_a_second_writer_and_corruption(project, tmp_path):
    cache_module = project("blender_addon.cache")
    image = np.zeros((16, 16, 3), np.uint8)
    first, second = cache_module.FrameCache(tmp_path), cache_module.FrameCache(tmp_path)
    first.store(1, image, "a")
    second.store(2, image + 1, "b")  # another process rendering other frames of the cache
    reread = cache_module.FrameCache(tmp_path)
    assert reread.frames() == [1, 2]
    assert reread.is_current(1, "a") and reread.is_current(2, "b")
    assert not reread.is_current(1, "b")

    # Written atomically, a manifest of ours is never half-written: one that does not parse
    # is someone else's file, and the folder is refused rather than taken over.
    (tmp_path / "manifest.json").write_text("{not json")
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    with pytest.raises(cache_module.PortraitError, match="not a Portrait Animator cache manifest"):
        cache_module.FrameCache(tmp_path)
    with pytest.raises(cache_module.PortraitError, match="not a Portrait Animator cache manifest"):
        first.store(3, image, "c")
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before
