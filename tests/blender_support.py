"""The one way Blender tests load the extension, reset Blender and get a small portrait.

The project root is loaded as the package `portrait_animator`, as Blender loads the extension
(bl_ext.<repo>.portrait_animator), so the extension's relative imports of core resolve. Test
modules load this file as a plugin (`pytest_plugins = ["blender_support"]`), so its session
fixtures exist once, and use only its fixtures.
"""
from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench scripts and subprocess scenarios import this file too
from blender_addon.__main__ import PACKAGE, load_project  # noqa: E402  (the one loader)

TESTDATA = ROOT.parent / "shared" / "testdata"
SMALL_SIZE = (160, 160)  # portraits in Blender tests: small, so frames render fast


def load_extension():
    """The project as the package `portrait_animator` (loaded once per process)."""
    return load_project()


def project_module(name: str):
    """A module of the loaded project, e.g. project_module("core.rig")."""
    return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture(scope="session")
def extension():
    """The registered extension for the whole session (unregistered at the end)."""
    package = load_extension()
    package.register()
    yield package
    package.unregister()


@pytest.fixture
def bpy(extension):
    """bpy on an empty factory-startup file (the extension stays registered)."""
    import bpy as bpy_module

    bpy_module.ops.wm.read_factory_settings(use_empty=True)
    return bpy_module


@pytest.fixture(scope="session")
def small_portrait(tmp_path_factory) -> tuple[Path, Path]:
    """(portrait PNG, landmarks JSON): a real photo shrunk to SMALL_SIZE, detected once.

    Landmarks are detected on the full-size photo (MediaPipe is more reliable there) and
    scaled, then written in the `python -m core detect --json` layout.
    """
    load_extension()
    media = project_module("core.media")
    landmarks_module = project_module("core.landmarks")
    image = media.read_image(TESTDATA / "portraits" / "photo_astronaut_eileen_collins.png")
    landmarks = landmarks_module.detect_landmarks(image)
    scale = np.array([SMALL_SIZE[0] / image.shape[1], SMALL_SIZE[1] / image.shape[0],
                      SMALL_SIZE[0] / image.shape[1]], np.float32)
    small = media.resize_image(image, SMALL_SIZE)
    folder = tmp_path_factory.mktemp("portrait")
    image_path, json_path = folder / "astronaut.png", folder / "astronaut.json"
    media.write_image(image_path, small)
    face = landmarks_module.Face(landmarks * scale)
    json_path.write_text(json.dumps(landmarks_module.faces_to_json([face], SMALL_SIZE,
                                                                   str(image_path))))
    return image_path, json_path


@pytest.fixture
def project():
    """project("core.rig") -> that module of the loaded project (not a second copy of core)."""
    load_extension()
    return project_module


def add_portrait(bpy, image_path: Path, cache_dir: Path, resolution: int | None = None,
                 **options):
    """Add image_path as a portrait (options: portrait.add's, e.g. landmarks_path), its frames
    cached in cache_dir, rendered at `resolution` percent if given: its plane."""
    assert bpy.ops.portrait.add(filepath=str(image_path), **options) == {"FINISHED"}
    plane = bpy.context.scene.portrait_active
    plane.portrait.cache_dir = str(cache_dir)
    if resolution is not None:
        plane.portrait.resolution = resolution
    return plane


@pytest.fixture
def portrait(bpy, small_portrait, tmp_path):
    """The small portrait added to the empty scene (its plane), caching in tmp_path/cache."""
    image_path, json_path = small_portrait
    return add_portrait(bpy, image_path, tmp_path / "cache", landmarks_path=str(json_path))
