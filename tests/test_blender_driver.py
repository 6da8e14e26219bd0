"""The driving video's own frames in Blender renders: Mouth and Detail from Driver, remembered
from the video import, in the render, the preview, the headless command and the cache key."""
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
    """The short driving clip and its first frame (the portrait: the same man, mouth shut)."""
    import imageio_ffmpeg
    from blender_support import project_module

    media = project_module("core.media")
    frames, fps = media.read_video(CLIP)
    folder = tmp_path_factory.mktemp("driving")
    paths = {"video": folder / "driver.mp4", "portrait": folder / "sitter.png"}
    writer = imageio_ffmpeg.write_frames(str(paths["video"]), (frames.shape[2], frames.shape[1]),
                                         fps=fps, macro_block_size=1, ffmpeg_log_level="error")
    writer.send(None)
    for index in CLIP_FRAMES:
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


def test_the_import_remembers_the_driver(bpy, driving, project, tmp_path):
    assert bpy.ops.portrait.add(filepath=str(driving["portrait"])) == {"FINISHED"}
    plane = bpy.context.scene.portrait_active
    assert bpy.ops.portrait.import_motion(filepath=str(driving["video"]), mouth_from_driver=True,
                                          detail_from_driver=True) == {"FINISHED"}
    settings = plane.portrait
    assert settings.driver_path == str(driving["video"])
    assert settings.mouth_from_driver and settings.detail_from_driver
    assert settings.driver_frame_start == bpy.context.scene.frame_start
    assert settings.driver_frame_step == pytest.approx(30 / 24)  # the clip's fps, the scene's
    # Each scene frame shows the video frame nearest its time.
    driver = project("blender_addon.driver")
    assert [driver.driver_index(plane, f) for f in SCENE_FRAMES] == [0, 1, 3, 4, 5, 6, 8, 9]


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
                                                               tmp_path):
    plain = _render(bpy, sitter)
    cache = Path(sitter.portrait.cache_dir)
    before = {path.name: path.read_bytes() for path in cache.iterdir()}
    moved = tmp_path / "moved.mp4"
    moved.write_bytes(driving["video"].read_bytes())
    sitter.portrait.driver_path = str(moved)
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
