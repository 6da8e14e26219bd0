"""The render-farm job (farm/portrait_render.yaml) run by `openjd run`, chunk by chunk.

`blender` is tests/farm_blender.py on the bpy module (behind a small shell launcher), so every
task is a real headless run of the extension's command in its own process. Nothing here imports
bpy in-process. The scene is the demo of the default portrait, small and short.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "farm" / "portrait_render.yaml"
OPENJD = Path(sys.executable).with_name("openjd")
FRAMES = 8
PORTRAIT = "grace_hopper"  # the demo's default portrait

pytestmark = pytest.mark.skipif(not OPENJD.exists(), reason="openjd-cli is not installed")


def _env(**extra: str) -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), **extra)


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    """(blender launcher, demo .blend): the launcher maps `-b SCENE --command ...` to the
    bpy module; the demo scene has FRAMES frames of a small portrait."""
    folder = tmp_path_factory.mktemp("farm")
    launcher = folder / "blender"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{ROOT / "tests" / "farm_blender.py"}"'
                        ' "$@"\n')
    launcher.chmod(0o755)
    result = subprocess.run([sys.executable, "-m", "blender_addon", "demo", "--frames",
                             f"1-{FRAMES}", "--resolution", "25", "--output", "demo/demo.mp4",
                             "--blend", "demo/demo.blend"], cwd=folder, env=_env(),
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    return launcher, folder / "demo" / "demo.blend"


def fresh_scene(farm, folder: Path) -> Path:
    """The demo .blend copied into `folder`: its relative cache there is empty, so tasks render."""
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(farm[1], folder / "scene.blend"))


def blender(farm, scene: Path, *args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen([str(farm[0]), "-b", str(scene), "--command", "portrait_animator",
                             *args], env=_env(**env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=240)
    return process.returncode, out, err


def openjd(farm, scene: Path, output: Path, **params: str) -> subprocess.CompletedProcess:
    values = dict(BlendFile=str(scene), Frames=f"1-{FRAMES}", ChunkSize="3",
                  OutputDir=str(output), Blender=str(farm[0]), Portrait=PORTRAIT, Movie="")
    values.update(params)
    args = [arg for name, value in values.items() for arg in ("-p", f"{name}={value}")]
    return subprocess.run([str(OPENJD), "run", str(TEMPLATE), *args], env=_env(),
                          capture_output=True, text=True, timeout=600)


def frames(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("frame_*.png"))}


def leftovers(*folders: Path) -> list[str]:
    return [p.name for folder in folders for p in folder.iterdir() if p.name.startswith(".")]


@pytest.fixture(scope="module")
def whole(farm, tmp_path_factory) -> dict[str, bytes]:
    """The frames of one whole render (one process, all frames)."""
    folder = tmp_path_factory.mktemp("whole")
    status, out, err = finish(blender(farm, fresh_scene(farm, folder / "scene"), "render",
                                      "--frames", f"1-{FRAMES}", "--output", str(folder / "out")))
    assert status == 0, err[-3000:]
    assert f"{FRAMES} frame(s) rendered" in out
    result = frames(folder / "out")
    assert len(result) == FRAMES
    return result


def test_template_passes_openjd_check():
    result = subprocess.run([str(OPENJD), "check", str(TEMPLATE)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passes validation" in result.stdout


def test_the_whole_job_in_chunks_gives_the_frames_of_one_render_and_an_mp4(farm, whole, tmp_path):
    import imageio_ffmpeg

    scene, output = fresh_scene(farm, tmp_path / "scene"), tmp_path / "out"
    result = openjd(farm, scene, output, Movie="movie.mp4")
    assert result.returncode == 0, result.stdout[-4000:]
    assert "Chunks run: 4" in result.stdout  # render 1-3, 4-6, 7-8; encode
    rendered = [line.split(": ", 1)[1].split(",")[0] for line in result.stdout.splitlines()
                if "frame(s) rendered" in line]
    assert rendered == ["3 frame(s) rendered"] * 2 + ["2 frame(s) rendered"]
    assert frames(output) == whole
    reader = imageio_ffmpeg.read_frames(str(output / "movie.mp4"))
    next(reader)
    assert sum(1 for _ in reader) == FRAMES
    assert sorted(p.name for p in output.iterdir()) == sorted(whole) + ["movie.mp4"]
    cache = scene.parent / "portrait_cache" / PORTRAIT
    assert not leftovers(output, cache)
    assert sorted(json.loads((cache / "manifest.json").read_text())["frames"], key=int) == \
        [str(f) for f in range(1, FRAMES + 1)]


def test_every_portrait_goes_to_its_subfolder_and_no_movie_is_a_logged_no_op(farm, whole,
                                                                             tmp_path):
    scene, output = fresh_scene(farm, tmp_path / "scene"), tmp_path / "out"
    result = openjd(farm, scene, output, Portrait="", ChunkSize="4")
    assert result.returncode == 0, result.stdout[-4000:]
    assert "no movie asked for (empty --output): nothing to encode" in result.stdout
    assert [p.name for p in output.iterdir()] == [PORTRAIT]
    assert frames(output / PORTRAIT) == whole


def test_a_killed_chunk_leaves_no_broken_frame_and_completes_when_run_again(farm, whole,
                                                                           tmp_path):
    scene, output = fresh_scene(farm, tmp_path / "scene"), tmp_path / "out"
    chunk = ("render", "--portrait", PORTRAIT, "--frames", f"1-{FRAMES}", "--output", str(output))
    status, _, _ = finish(blender(farm, scene, *chunk, FARM_DIE_AFTER_FRAMES="3"))
    assert status == 137
    assert list(frames(output)) == ["frame_0001.png", "frame_0002.png", "frame_0003.png"]
    [partial] = leftovers(output)  # what a killed write leaves: a hidden temporary file
    assert partial.startswith(".frame_0004.partial-")

    status, out, err = finish(blender(farm, scene, *chunk))  # the farm's retry: same command
    assert status == 0, err[-3000:]
    assert "0 frame(s) rendered" in out and "(3 identical kept)" in out
    assert frames(output) == whole
    assert not leftovers(output, scene.parent / "portrait_cache" / PORTRAIT)


def test_two_chunks_at_once_into_one_folder_and_one_cache(farm, whole, tmp_path):
    scene, output = fresh_scene(farm, tmp_path / "scene"), tmp_path / "out"
    half = FRAMES // 2
    running = [blender(farm, scene, "render", "--frames", chunk, "--output", str(output))
               for chunk in (f"1-{half}", f"{half + 1}-{FRAMES}")]
    for process in running:
        status, out, err = finish(process)
        assert status == 0, err[-3000:]
        assert f"{half} frame(s) rendered" in out
    assert frames(output) == whole
    cache = scene.parent / "portrait_cache" / PORTRAIT
    manifest = json.loads((cache / "manifest.json").read_text())["frames"]
    assert len(manifest) == FRAMES  # neither chunk's entries lost
    assert not leftovers(output, cache)


def test_a_chunk_refuses_only_its_own_frames_with_other_content(farm, whole, tmp_path):
    scene, output = fresh_scene(farm, tmp_path / "scene"), tmp_path / "out"
    output.mkdir()
    (output / "frame_0002.png").write_bytes(b"someone else's frame")
    (output / f"frame_{FRAMES:04d}.png").write_bytes(b"another chunk's frame")
    status, _, err = finish(blender(farm, scene, "render", "--frames", "1-3",
                                    "--output", str(output)))
    assert status == 2 and err.strip().splitlines() == [
        f"portrait_animator: error: {output / 'frame_0002.png'}: exists with other content "
        "(pass --overwrite to replace it)"]
    assert sorted(frames(output)) == ["frame_0002.png", f"frame_{FRAMES:04d}.png"]
    status, _, err = finish(blender(farm, scene, "render", "--frames", "1-3", "--overwrite",
                                    "--output", str(output)))
    assert status == 0, err[-3000:]
    assert {name: data for name, data in frames(output).items() if name <= "frame_0003.png"} \
        == {name: whole[name] for name in ("frame_0001.png", "frame_0002.png", "frame_0003.png")}
    assert frames(output)[f"frame_{FRAMES:04d}.png"] == b"another chunk's frame"


@pytest.mark.parametrize("case, message", [
    ("bad blend", "cannot open this .blend file (File format is not supported"),
    ("missing portrait", "no portrait named 'nobody' in scene 'Portrait Demo'"),
])
def test_a_bad_job_fails_its_task_with_one_line_and_writes_nothing(farm, tmp_path, case,
                                                                   message):
    scene = fresh_scene(farm, tmp_path / "scene")
    params = {}
    if case == "bad blend":
        scene.write_bytes(b"not a blend file")
    else:
        params["Portrait"] = "nobody"
    output = tmp_path / "out"
    result = openjd(farm, scene, output, **params)
    assert result.returncode != 0
    errors = [line for line in result.stdout.splitlines() if "portrait_animator: error:" in line]
    assert len(errors) == 1 and message in errors[0], result.stdout[-3000:]
    assert "exited with code: 2" in result.stdout
    assert "Session ended with errors" in result.stdout
    assert not output.exists()
    assert not (scene.parent / "portrait_cache").exists()


def test_an_empty_range_is_refused_by_the_job_and_by_the_task(farm, tmp_path):
    scene, output = fresh_scene(farm, tmp_path / "scene"), tmp_path / "out"
    result = openjd(farm, scene, output, Frames="5-1")
    assert result.returncode != 0  # OpenJD refuses to make the job: no task runs
    assert "a descending range must have a negative step" in result.stdout + result.stderr
    status, _, err = finish(blender(farm, scene, "render", "--frames", "5-1",
                                    "--output", str(output)))
    assert status == 2 and err.strip().splitlines() == [
        "portrait_animator: error: argument --frames: bad frame range '5-1': "
        "need 0 <= first <= last"]
    assert not output.exists() and not (scene.parent / "portrait_cache").exists()
