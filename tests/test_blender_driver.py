"""The driving video's own frames in Blender renders: Mouth and Detail from Driver, recorded
on the video import's strips and following them (moved, scaled, muted, layered), in the render,
the preview, the headless command and the cache key."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import imageio.v3 as iio
import numpy as np
import pytest

pytestmark = pytest.mark.blender
pytest_plugins = ["blender_support"]  # fixtures: bpy, portrait, project, small_portrait, extension

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT.parent / "shared" / "testdata"
CLIP = TESTDATA / "driving" / "lp_d18_man_frontal.mp4"  # static head, the jaw wide open
# The neutral frame, then the jaw opening wide: 10 video frames at 30 fps, 8 scene frames at 24.
CLIP_FRAMES = [0, 0, 0] + list(range(78, 92, 2))
SCENE_FRAMES = range(1, 9)


@pytest.fixture(scope="module")
def driving(tmp_path_factory, extension) -> dict[str, Path]:
    """The short driving clip, a second take, and the clip's first frame (the portrait: the
    same man, mouth shut)."""
    import imageio_ffmpeg
    from blender_support import project_module

    media = project_module("core.media")
    frames, fps = media.read_video(CLIP)
    folder = tmp_path_factory.mktemp("driving")
    paths = {"video": folder / "driver.mp4", "second": folder / "second.mp4",
             "portrait": folder / "sitter.png"}
    # The second take: the jaw opening from another frame of the clip on.
    for name, indices in (("video", CLIP_FRAMES), ("second", [0, 0, 0] + list(range(60, 74, 2)))):
        writer = imageio_ffmpeg.write_frames(str(paths[name]), (frames.shape[2], frames.shape[1]),
                                             fps=fps, macro_block_size=1, ffmpeg_log_level="error")
        writer.send(None)
        for index in indices:
            writer.send(np.ascontiguousarray(frames[index]))
        writer.close()
    media.write_image(paths["portrait"], frames[0])
    return paths


@pytest.fixture
def sitter(bpy, driving, tmp_path):
    """The portrait at half size with the short clip imported onto its rig (options off)."""
    from blender_support import add_portrait

    plane = add_portrait(bpy, driving["portrait"], tmp_path / "cache", resolution=50)
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = SCENE_FRAMES[0], SCENE_FRAMES[-1]
    assert bpy.ops.portrait.import_motion(filepath=str(driving["video"])) == {"FINISHED"}
    return plane


def _render(bpy, plane) -> list[np.ndarray]:
    assert bpy.ops.portrait.render() == {"FINISHED"}
    cache = Path(plane.portrait.cache_dir)
    return [iio.imread(cache / f"frame_{frame:04d}.png").astype(np.int16)
            for frame in SCENE_FRAMES]


def _regions(bpy, plane, project, indices, grow: int) -> list[np.ndarray]:
    """Per scene frame, bool (H, W) of a half-size frame: the hull of the target landmarks
    `indices` (the rig as evaluated there), dilated by `grow` px."""
    rig_eval = project("blender_addon.rig_eval")
    size = (plane.portrait.image_height // 2, plane.portrait.image_width // 2)
    regions = []
    for frame in SCENE_FRAMES:
        bpy.context.scene.frame_set(frame)
        landmarks = rig_eval.evaluate_landmarks(plane, bpy.context.evaluated_depsgraph_get())
        mask = np.zeros(size, np.uint8)
        hull = cv2.convexHull(np.round(landmarks[indices, :2] / 2).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 1)
        kernel = np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)
        regions.append(cv2.dilate(mask, kernel).astype(bool))
    return regions


def _strip(plane, label: str = "Motion: driver"):
    """The NLA strip of the import layer `label` on the rig's shape keys."""
    tracks = plane.portrait.rig.data.shape_keys.animation_data.nla_tracks
    return next(track for track in tracks if track.name == label).strips[0]


def _video_frames(plane, driver, frames) -> list:
    """Per scene frame: (video file name, video frame) driving it, or None."""
    found = [driver.driver_at(plane, frame) for frame in frames]
    return [(Path(hit.source.absolute).name, hit.video_frame) if hit else None for hit in found]


def _assert_blender_plays_the_driving_keys(bpy, plane, driver, compat, frames) -> None:
    """At each frame a video drives, the rig's jaw is what the driving strip's action holds
    at the action frame the driver says it plays: the mapping is Blender's own."""
    key_block = plane.portrait.rig.data.shape_keys.key_blocks["jawOpen"]
    for frame in frames:
        driven = driver.driver_at(plane, frame)
        bpy.context.scene.frame_set(frame)
        jaw = next(curve for curve in compat.fcurves(driven.strip.action,
                                                     getattr(driven.strip, "action_slot", None))
                   if curve.data_path == 'key_blocks["jawOpen"].value')
        assert key_block.value == pytest.approx(jaw.evaluate(driven.action_frame), abs=1e-5), \
            frame


def test_the_import_records_the_video_on_its_strips(bpy, driving, project):
    assert bpy.ops.portrait.add(filepath=str(driving["portrait"])) == {"FINISHED"}
    plane = bpy.context.scene.portrait_active
    assert bpy.ops.portrait.import_motion(filepath=str(driving["video"]), mouth_from_driver=True,
                                          detail_from_driver=True) == {"FINISHED"}
    assert plane.portrait.mouth_from_driver and plane.portrait.detail_from_driver
    driver = project("blender_addon.driver")
    rig = plane.portrait.rig
    for datablock in (rig.data.shape_keys, rig):  # both of the layer's actions
        [track] = datablock.animation_data.nla_tracks
        source = driver.video_source(track.strips[0].action)
        assert source.path == str(driving["video"]) and source.neutral_frame == 0
        assert source.start == bpy.context.scene.frame_start
        assert source.step == pytest.approx(30 / 24)  # the clip's fps over the scene's
    # Each scene frame shows the video frame nearest its time (10 video frames = 7.2 scene
    # frames from frame 1); the strip holds its first and last poses, and their video frames.
    driven = [("driver.mp4", i) for i in (0, 1, 3, 4, 5, 6, 8, 9)]
    assert _video_frames(plane, driver, range(0, 11)) == \
        [("driver.mp4", 0)] + driven + [("driver.mp4", 9)] * 2
    _strip(plane).extrapolation = "NOTHING"  # no hold: before and after the strip, no driver
    assert _video_frames(plane, driver, range(0, 11)) == [None] + driven + [None] * 2


def test_the_driver_follows_the_strip_as_blender_plays_it(bpy, sitter, project):
    """Moved, scaled, repeated, reversed, trimmed, held, its time animated: the video frame is
    the one at the action frame Blender's NLA plays there, and a frame's cache key moves with
    it; muted strips and tracks play nothing."""
    driver = project("blender_addon.driver")
    compat = project("blender_addon.compat")
    strip = _strip(sitter)
    source = driver.video_source(strip.action)
    before = _video_frames(sitter, driver, SCENE_FRAMES)

    sitter.portrait.mouth_from_driver = True
    renderer = project("blender_addon.render").GeneratorFrames(sitter)
    keys = [renderer.frame_key(frame) for frame in range(1, 19)]
    strip.frame_start_ui = 11  # moved by 10 frames: the video's frames move with it
    assert _video_frames(sitter, driver, [f + 10 for f in SCENE_FRAMES]) == before
    moved = [renderer.frame_key(frame) for frame in range(1, 19)]
    assert moved[10:] == keys[:8]  # the cache keys move with the strip
    # Frame 1 shows video frame 0 either way (held now): the same key; 2-10 other frames.
    assert [a != b for a, b in zip(keys[:10], moved[:10])] == [False] + [True] * 9
    assert _video_frames(sitter, driver, SCENE_FRAMES) == [("driver.mp4", 0)] * 8  # held
    strip.scale = 2.0
    strip.repeat = 2.0
    strip.use_reverse = True
    strip.action_frame_start = 2.0  # trimmed: the action's first frame is not played
    span = range(int(strip.frame_start), int(strip.frame_end) + 1)
    assert len(span) == 2 * 2 * 6 + 1  # action frames 2..8, twice as slow, twice
    frames = range(1, span[-1] + 4)
    _assert_blender_plays_the_driving_keys(bpy, sitter, driver, compat, frames)
    played = [hit[1] for hit in _video_frames(sitter, driver, frames)]
    assert played[span[0] - 1] == source.video_frame(8.0)  # reversed: from the action's end
    assert played[span[-1] - 1] == source.video_frame(2.0)
    assert source.video_frame(1.0) not in played  # trimmed away
    assert set(played[:span[0] - 1]) == {source.video_frame(8.0)}  # held before and after
    assert set(played[span[-1]:]) == {source.video_frame(2.0)}

    strip.extrapolation = "NOTHING"  # no hold: nothing drives outside the strip
    outside = [frame for frame in frames if frame not in span]
    assert _video_frames(sitter, driver, outside) == [None] * len(outside)
    assert [hit[1] for hit in _video_frames(sitter, driver, span)] == \
        played[span[0] - 1:span[-1]]
    strip.use_animated_time = True  # the strip's time keyed: forwards, then cycling
    for frame, time in ((span[0], 3.0), (span[-1], 19.0)):
        strip.strip_time = time
        strip.keyframe_insert("strip_time", frame=frame)
    _assert_blender_plays_the_driving_keys(bpy, sitter, driver, compat, span)
    strip.use_animated_time_cyclic = True  # wrapped: other action frames, as Blender plays
    keyed = strip.fcurves.find("strip_time")
    assert sum(driver.driver_at(sitter, f).action_frame != keyed.evaluate(f) for f in span) > 10
    _assert_blender_plays_the_driving_keys(bpy, sitter, driver, compat, span)
    strip.mute = True
    assert _video_frames(sitter, driver, frames) == [None] * len(frames)
    strip.mute = False
    strip.id_data.animation_data.nla_tracks["Motion: driver"].mute = True
    assert _video_frames(sitter, driver, frames) == [None] * len(frames)


def test_two_video_layers_drive_their_own_frames(bpy, sitter, driving, project):
    """A second video imported on top drives where its strip plays (held poses included);
    where it does not play, or is muted, the video below does; the cache key says which
    video a frame takes."""
    driver = project("blender_addon.driver")
    compat = project("blender_addon.compat")
    render = project("blender_addon.render")
    assert bpy.ops.portrait.import_motion(filepath=str(driving["second"])) == {"FINISHED"}
    second = _strip(sitter, "Motion: second")
    second.frame_start_ui = 5  # the second take from frame 5 on, over the first
    sitter.portrait.mouth_from_driver = True
    frames = range(1, 15)
    takes = {name: [(f"{name}.mp4", i) for i in (0, 1, 3, 4, 5, 6, 8, 9)]
             for name in ("driver", "second")}
    # Held backwards too (an import holds both ways, as Blender plays it): second everywhere.
    assert _video_frames(sitter, driver, frames) == \
        [("second.mp4", 0)] * 4 + takes["second"] + [("second.mp4", 9)] * 2
    second.extrapolation = "HOLD_FORWARD"  # before frame 5 the first take plays again
    assert _video_frames(sitter, driver, frames) == \
        takes["driver"][:4] + takes["second"] + [("second.mp4", 9)] * 2
    _assert_blender_plays_the_driving_keys(bpy, sitter, driver, compat, frames)
    renderer = render.GeneratorFrames(sitter)
    keys = [renderer.frame_key(frame) for frame in frames]
    assert len(set(keys[:12])) == 12 and keys[11] == keys[12] == keys[13]  # held: one frame
    second.mute = True  # the first take shows again under it
    assert _video_frames(sitter, driver, frames) == takes["driver"] + [("driver.mp4", 9)] * 6
    _assert_blender_plays_the_driving_keys(bpy, sitter, driver, compat, frames)
    assert [renderer.frame_key(frame) for frame in frames][:4] == keys[:4]
    assert renderer.frame_key(5) != keys[4]  # the same frame of another video: another key
    for strip in (_strip(sitter), second):
        strip.extrapolation = "NOTHING"
    second.mute = False
    assert [renderer.frame_key(frame) for frame in (13, 14)] == [(), ()]  # nothing plays
    sitter.portrait.mouth_from_driver = False
    assert [render.GeneratorFrames(sitter).frame_key(f) for f in frames] == [()] * len(frames)


def test_a_retimed_driver_re_renders_exactly_its_changed_frames(bpy, sitter, project):
    """The video slid a little under unchanged keys: the same landmarks, some other video frames,
    and only those frames render again."""
    driver = project("blender_addon.driver")
    render = project("blender_addon.render")
    sitter.portrait.mouth_from_driver = True
    first = _render(bpy, sitter)
    before = _video_frames(sitter, driver, SCENE_FRAMES)
    strip = _strip(sitter)
    strip.action[driver.DRIVER_KEYS["start"]] += 0.2  # a quarter of a video frame
    after = _video_frames(sitter, driver, SCENE_FRAMES)
    changed = sum(a != b for a, b in zip(before, after))
    assert 0 < changed < len(SCENE_FRAMES)
    scene = bpy.context.scene
    job = render.RenderJob(scene, bpy.context.view_layer, sitter, render.GeneratorFrames(sitter),
                           SCENE_FRAMES).run()
    assert job.rendered == changed
    second = [iio.imread(Path(sitter.portrait.cache_dir) / f"frame_{f:04d}.png").astype(np.int16)
              for f in SCENE_FRAMES]
    assert [np.array_equal(a, b) for a, b in zip(first, second)] == \
        [x == y for x, y in zip(before, after)]


def test_a_file_from_before_adopts_its_driver(bpy, sitter, driving, project, tmp_path):
    """A .blend saved when the driver lived on the portrait: opened, the driver moves onto the
    last video import's actions and plays as it did."""
    driver = project("blender_addon.driver")
    rig = sitter.portrait.rig
    actions = [rig.data.shape_keys.animation_data.nla_tracks[0].strips[0].action,
               rig.animation_data.nla_tracks[0].strips[0].action]
    before = _video_frames(sitter, driver, SCENE_FRAMES)
    for action in actions:  # what the earlier version wrote: nothing on the actions
        for key in driver.DRIVER_KEYS.values():
            del action[key]
    sitter.portrait["driver_path"] = str(driving["video"])
    sitter.portrait["driver_frame_step"] = 30 / 24
    sitter.portrait["driver_frame_start"] = 1.0
    blend = tmp_path / "old.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    plane = bpy.context.scene.portrait_active
    assert "driver_path" not in plane.portrait
    assert _video_frames(plane, driver, SCENE_FRAMES) == before
    shapes = plane.portrait.rig.data.shape_keys.animation_data.nla_tracks[0].strips[0].action
    assert driver.video_source(shapes).path == str(driving["video"])


def test_mouth_and_detail_change_their_regions_only(bpy, sitter, project):
    topology = project("core.landmarks.topology")
    plain = _render(bpy, sitter)
    sitter.portrait.mouth_from_driver = True
    mouth = _render(bpy, sitter)  # the options are in the cache key: rendered again
    sitter.portrait.mouth_from_driver = False
    sitter.portrait.detail_from_driver = True
    detail = _render(bpy, sitter)

    lips = _regions(bpy, sitter, project, topology.MOUTH_POINT_INDICES, 3)
    # The lent interior is blended band by band: its coarsest bands fade out past the lips.
    near_lips = _regions(bpy, sitter, project, topology.MOUTH_POINT_INDICES, 32)
    face = _regions(bpy, sitter, project, topology.FACE_OVAL, 2)
    mouth_changed = [np.abs(a - b).max(axis=2) > 0 for a, b in zip(mouth, plain)]
    detail_changed = [np.abs(a - b).max(axis=2) > 0 for a, b in zip(detail, plain)]
    assert not mouth_changed[0].any() and not detail_changed[0].any()  # the neutral frame
    for a, b, inside, near in zip(mouth, plain, lips, near_lips):
        change = np.abs(a - b).max(axis=2)
        assert change[~inside].max(initial=0) <= 3  # outside the mouth, a fade of a few levels
        assert not change[~near].any()  # and beyond it nothing
    assert sum(changed.sum() > 30 for changed in mouth_changed[3:]) >= 4  # open: real pixels
    for changed, inside in zip(detail_changed, face):
        assert not changed[~inside].any()  # the creases stay on the face
    assert sum(changed.sum() > 100 for changed in detail_changed[3:]) >= 4


def test_the_preview_and_a_fresh_headless_render_use_the_driver(bpy, sitter, project,
                                                                tmp_path):
    preview = project("blender_addon.preview")
    render = project("blender_addon.render")
    rig_eval = project("blender_addon.rig_eval")
    bpy.context.scene.frame_set(7)
    depsgraph = bpy.context.evaluated_depsgraph_get()

    def shown():
        image = preview.render_preview(sitter, depsgraph)
        pixels = np.empty(len(image.pixels), np.float32)
        image.pixels.foreach_get(pixels)
        return np.round(pixels.reshape(image.size[1], image.size[0], 4)[::-1, :, :3] * 255)

    plain = shown()
    sitter.portrait.mouth_from_driver = sitter.portrait.detail_from_driver = True
    driven = shown()
    expected = render.GeneratorFrames(sitter, long_side=preview.PREVIEW_LONG_SIDE).render(
        rig_eval.evaluate_landmarks(sitter, depsgraph), 7)
    assert np.abs(driven - expected).max() <= 1  # float pixels round-trip
    assert np.abs(driven - plain).max() > 20
    rendered = _render(bpy, sitter)

    # A new process tracks the video itself (nothing remembered): the same bytes.
    blend = tmp_path / "shot.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "blender_addon", "render", "--blend",
                             str(blend), "--frames", f"{SCENE_FRAMES[0]}-{SCENE_FRAMES[-1]}",
                             "--output", str(out)], cwd=tmp_path, capture_output=True,
                            text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    for frame, expected in zip(SCENE_FRAMES, rendered):
        assert np.array_equal(iio.imread(out / f"frame_{frame:04d}.png"), expected)


def test_a_missing_driver_stops_the_render_and_keeps_the_cache(bpy, sitter, driving,
                                                               tmp_path, project):
    driver = project("blender_addon.driver")
    plain = _render(bpy, sitter)
    cache = Path(sitter.portrait.cache_dir)
    before = {path.name: path.read_bytes() for path in cache.iterdir()}
    moved = tmp_path / "moved.mp4"
    moved.write_bytes(driving["video"].read_bytes())
    _strip(sitter).action[driver.DRIVER_KEYS["path"]] = str(moved)
    sitter.portrait.mouth_from_driver = True
    moved.unlink()
    with pytest.raises(RuntimeError) as error:
        bpy.ops.portrait.render()
    message = str(error.value).strip()
    assert "\n" not in message and "the driving video is missing" in message
    assert {path.name: path.read_bytes() for path in cache.iterdir()} == before
    sitter.portrait.mouth_from_driver = False  # off: the driver is not needed
    assert [np.array_equal(a, b) for a, b in zip(_render(bpy, sitter), plain)] == \
        [True] * len(plain)

    # No video strip at all, a toggle on: one line saying so, nothing written.
    tracks = sitter.portrait.rig.data.shape_keys.animation_data.nla_tracks
    tracks.remove(tracks["Motion: driver"])
    sitter.portrait.detail_from_driver = True
    with pytest.raises(RuntimeError) as error:
        bpy.ops.portrait.render()
    message = str(error.value).strip()
    assert "\n" not in message and "no video strip is on the rig" in message
    assert {path.name: path.read_bytes() for path in cache.iterdir()} == before
