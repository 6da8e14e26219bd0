"""Headless commands through `python -m blender_addon` (the bpy-module twin of
`blender -b --command portrait_animator`): demo, render, and one-line errors with exit 2."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

pytestmark = pytest.mark.blender
pytest_plugins = ["blender_support"]  # fixtures: bpy, portrait, project, small_portrait, extension

ROOT = Path(__file__).resolve().parents[1]
DEMO_FRAMES = 3


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "blender_addon", *args], cwd=cwd,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def demo(small_portrait, tmp_path_factory):
    """A demo of the small portrait (3 frames) written by a fresh process."""
    image_path, landmarks_json = small_portrait
    folder = tmp_path_factory.mktemp("demo")
    result = run("demo", "--portrait", str(image_path), "--landmarks", str(landmarks_json),
                 "--frames", f"1-{DEMO_FRAMES}", "--output", "out/demo.mp4",
                 "--blend", "out/demo.blend", cwd=folder)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder / "out"


def test_demo_writes_an_mp4_and_a_blend_that_reopens_in_place(bpy, demo, project):
    import imageio_ffmpeg

    compat = project("blender_addon.compat")
    reader = imageio_ffmpeg.read_frames(str(demo / "demo.mp4"))
    meta = next(reader)
    frames = [np.frombuffer(raw, np.uint8).reshape(160, 160, 3) for raw in reader]
    assert tuple(meta["size"]) == (160, 160) and len(frames) == DEMO_FRAMES
    cache = demo / "portrait_cache" / "astronaut"
    cached = [iio.imread(cache / f"frame_{f:04d}.png") for f in range(1, DEMO_FRAMES + 1)]
    # Blender's FFmpeg encoded the sequencer's frames (H.264 is lossy: close, not equal).
    assert all(np.abs(a.astype(int) - b).mean() < 8 for a, b in zip(frames, cached))

    assert sorted(p.name for p in demo.iterdir()) == ["demo.blend", "demo.mp4", "portrait_cache"]
    bpy.ops.wm.open_mainfile(filepath=str(demo / "demo.blend"))
    scene = bpy.context.scene
    plane = scene.portrait_active
    assert plane is not None and plane.portrait.source.packed_file is not None
    strip = compat.strips(scene)[plane.name]
    assert strip.directory.startswith("//") and strip.frame_final_duration == DEMO_FRAMES
    assert Path(bpy.path.abspath(strip.directory)) == cache
    assert bpy.path.abspath(scene.render.filepath) == str(demo / "demo.mp4")
    # The motion preset is keyed on the rig: shape-key curves and head rotation.
    shape_curves = compat.animated_fcurves(plane.portrait.rig.data.shape_keys)
    head_curves = [c for c in compat.animated_fcurves(plane.portrait.rig)
                   if c.data_path == "rotation_euler"]
    assert any(c.data_path == 'key_blocks["jawOpen"].value' for c in shape_curves)
    assert head_curves


def test_render_command_reuses_the_cache_and_exports_frames(demo, tmp_path):
    cache = demo / "portrait_cache" / "astronaut"
    before = {p.name: p.stat().st_mtime_ns for p in cache.glob("frame_*.png")}
    saved = (demo / "demo.blend").stat().st_mtime_ns
    result = run("render", "--blend", str(demo / "demo.blend"), "--frames", "2-3",
                 "--output", str(tmp_path / "frames"), "--save", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (demo / "demo.blend").stat().st_mtime_ns != saved
    assert "0 frame(s) rendered, 2 unchanged" in result.stdout
    assert {p.name: p.stat().st_mtime_ns for p in cache.glob("frame_*.png")} == before
    exported = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert exported == ["frame_0002.png", "frame_0003.png"]
    assert (tmp_path / "frames" / "frame_0003.png").read_bytes() == \
        (cache / "frame_0003.png").read_bytes()


@pytest.mark.parametrize("args, message", [
    (["render", "--blend", "missing.blend"], "no such .blend file"),
    (["render", "--frames", "5-1"], "bad frame range"),
    (["render"], "no portrait selected"),
    (["demo", "--portrait", "missing.png"], "no such file"),
    (["fly"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("portrait_animator: error:")
    assert message in lines[0]
    assert not list(tmp_path.iterdir())  # nothing written
