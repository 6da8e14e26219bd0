"""The linux-x64 extension zip from build.py installs into Blender and animates on its wheels.

Slow by nature (Blender extracts a 130 MB zip and its wheels), so it is one test; `make test`
runs it on Blender 5.3 (Python 3.13) and on Blender 4.5 LTS (Python 3.11). Wheels come from
build.py's cache (wheels/linux-x64/), downloaded once.
"""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from project_build import build
from extension_scenarios import run as run_scenario

pytestmark = pytest.mark.blender

ROOT = Path(__file__).resolve().parents[1]


def build_linux_zip(dist_dir: Path) -> Path:
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--platform", "linux-x64",
                             "--dist-dir", str(dist_dir)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    (zip_path,) = dist_dir.glob("portrait_animator-*-linux-x64.zip")
    return zip_path


def blender_validate(zip_path: Path) -> subprocess.CompletedProcess:
    """Blender's own `extension validate` (its blender_ext.py, shipped inside bpy)."""
    bpy_dir = Path(importlib.util.find_spec("bpy").origin).parent
    (cli,) = bpy_dir.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py")
    return subprocess.run([sys.executable, str(cli), "validate", str(zip_path)],
                          capture_output=True, text=True)


def test_built_zip_installs_and_renders_the_default_portrait(tmp_path):
    zip_path = build_linux_zip(tmp_path / "dist")
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        manifest = tomllib.loads(archive.read("blender_manifest.toml").decode())
    assert manifest["platforms"] == ["linux-x64"]
    assert {f"wheels/{Path(w).name}" for w in manifest["wheels"]} == {
        n for n in names if n.startswith("wheels/")}
    wheel_names = {Path(w).name.split("-")[0].lower() for w in manifest["wheels"]}
    assert {"mediapipe", "opencv_python_headless", "imageio_ffmpeg"} <= wheel_names
    assert not wheel_names & {"numpy", "torch", "scipy", "matplotlib", "pillow"}
    # py3 or abi3 only, so one zip installs on Python 3.11, 3.13 and 3.14 alike.
    assert all(build.python_independent(Path(w).name) for w in manifest["wheels"])
    assert "core/landmarks/models/face_landmarker.task" in names
    assert "core/assets/grace_hopper.jpg" in names
    assert zip_path.stat().st_size < 150 * 2**20
    # The package and its wheels only: no tests/, bench/, caches or venvs.
    assert {n.split("/")[0] for n in names} == {
        "blender_manifest.toml", "__init__.py", "blender_addon", "core", "presets", "wheels"}
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    validated = blender_validate(zip_path)
    assert validated.returncode == 0, validated.stdout + validated.stderr

    report = run_scenario("install", tmp_path / "blender", str(zip_path), isolated=True)

    assert report["installed"] == ["FINISHED"] and report["enabled"]
    assert Path(report["extension_dir"]).is_relative_to(tmp_path / "blender" / "repo")
    # Everything the extension imports came from the zip's wheels, not from the test venv.
    site_packages = Path(report["site_packages"])
    assert site_packages.is_relative_to(tmp_path / "blender" / "user_resources")
    assert {"mediapipe", "cv2"} <= set(report["module_files"])
    for module, file in report["module_files"].items():
        assert site_packages in Path(file).parents, f"{module} imported from {file}"
    assert report["foreign_imported"] == []
    assert report["added"] == ["FINISHED"]
    assert report["rig_keys"][0] == "Basis" and len(report["rig_keys"]) == 1 + 52
    assert "jawOpen" in report["rig_keys"]
    assert report["rendered"] == ["FINISHED"]
    assert [Path(p).name for p in report["frames"]] == ["frame_0001.png", "frame_0002.png"]
    closed, opened = (iio.imread(path).astype(np.int16) for path in report["frames"])
    assert closed.shape == opened.shape and closed.shape[:2] == (600, 512)
    changed = np.abs(closed - opened).max(axis=2) > 16
    assert changed.mean() > 0.002, "opening the jaw did not change the rendered frame"
    # Passed: drop the zip and the extracted wheels (kept for a failure's post-mortem).
    shutil.rmtree(tmp_path / "dist")
    shutil.rmtree(tmp_path / "blender" / "user_resources")
