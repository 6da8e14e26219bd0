"""Scenarios run in a fresh Blender Python process; each writes what it saw to a JSON report.

    python [-S] tests/extension_scenarios.py SCENARIO WORKDIR ARGS...   -> WORKDIR/SCENARIO.json

The tests start them with run() so their own bpy stays clean, then assert on the report.
Scenarios:
  install ZIP           (with -S) install the built extension zip into a temporary user
                        extensions repo, enable it, add the default portrait (real face
                        detection), key jawOpen and render 2 frames. -S keeps the test
                        venv's packages out: only what Blender itself ships is put back, so
                        the extension must run on the wheels Blender installed from its zip.
  no_opencv             register the extension while `import cv2` fails
  no_mediapipe IMAGE LANDMARKS_JSON
                        register the extension from the source tree while `import mediapipe`
                        fails (as in a Blender whose Python mediapipe does not support), then
                        add the portrait with and without landmarks and render 2 frames.
"""
from __future__ import annotations

import importlib
import importlib.abc
import json
import os
import subprocess
import sys
from pathlib import Path

# Packages a Blender 4.5 .. 5.3 install ships in its own Python (besides the standard library).
BLENDER_BUNDLED = ("bpy", "numpy", "numpy.libs", "requests", "certifi", "charset_normalizer",
                   "idna", "urllib3", "zstandard", "cattrs", "attr", "attrs", "typing_extensions")
# What the extension imports at run time: each must come from the zip's wheels.
RUNTIME_MODULES = ("mediapipe", "cv2", "absl", "flatbuffers", "imageio_ffmpeg", "tqdm")
# What it must never need: compiled for one Python only, or not bundled at all.
FOREIGN_MODULES = ("torch", "scipy", "matplotlib", "PIL", "imageio", "cffi", "sounddevice")
REPO_NAME = "portrait_test"


def blender_python_path(workdir: Path) -> Path:
    """A folder of links to what Blender ships, taken from this venv's site-packages."""
    # Under -S sys.prefix is the base interpreter's; the venv is the executable's parent.
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    site_packages = Path(sys.executable).parents[1] / "lib" / version / "site-packages"
    folder = workdir / "blender_python"
    folder.mkdir(parents=True, exist_ok=True)
    for name in BLENDER_BUNDLED:
        if (site_packages / name).exists() and not (folder / name).exists():
            (folder / name).symlink_to(site_packages / name)
    return folder


def key_jaw_open(rig, frames: tuple[int, int]) -> None:
    """jawOpen 0 at the first frame, 1 at the second: the two renders must differ."""
    key = rig.data.shape_keys.key_blocks["jawOpen"]
    for frame, value in zip(frames, (0.0, 1.0)):
        key.value = value
        key.keyframe_insert("value", frame=frame)


def render_two_frames(bpy, plane, cache_dir: Path) -> tuple[set[str], list[str]]:
    """Key jawOpen on the portrait's rig, render frames 1-2; (operator result, PNG paths)."""
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, 2
    key_jaw_open(bpy.data.objects[f"{plane.name}_rig"], (1, 2))
    plane.portrait.cache_dir = str(cache_dir)
    result = bpy.ops.portrait.render()
    return result, sorted(str(path) for path in cache_dir.glob("*.png"))


def install(workdir: Path, zip_path: str) -> dict:
    sys.path.insert(0, str(blender_python_path(workdir)))
    import bpy

    repo_dir = workdir / "repo"
    bpy.ops.preferences.extension_repo_add(name=REPO_NAME, type="LOCAL",
                                           use_custom_directory=True,
                                           custom_directory=str(repo_dir))
    repo = next(r for r in bpy.context.preferences.extensions.repos if r.name == REPO_NAME)
    installed = bpy.ops.extensions.package_install_files(filepath=zip_path, repo=repo.module,
                                                         enable_on_install=True)
    addon = f"bl_ext.{repo.module}.portrait_animator"
    package = importlib.import_module(addon)
    portrait_path = importlib.import_module(f"{addon}.core.media").default_portrait_path()
    added = bpy.ops.portrait.add(filepath=str(portrait_path))
    plane = bpy.context.scene.portrait_active
    rendered, frames = render_two_frames(bpy, plane, workdir / "cache")
    return {
        "installed": sorted(installed),
        "enabled": addon in bpy.context.preferences.addons,
        "extension_dir": str(Path(package.__file__).parent),
        "site_packages": bpy.utils.user_resource("EXTENSIONS", path=".local"),
        "module_files": {name: sys.modules[name].__file__ for name in RUNTIME_MODULES
                         if name in sys.modules},
        "foreign_imported": [name for name in FOREIGN_MODULES if name in sys.modules],
        "added": sorted(added),
        "rig_keys": list(bpy.data.objects[f"{plane.name}_rig"].data.shape_keys.key_blocks.keys()),
        "rendered": sorted(rendered),
        "frames": frames,
    }


class BlockModule(importlib.abc.MetaPathFinder):
    """`import NAME` fails, as it does where no wheel of it exists for the Python."""

    def __init__(self, blocked: str):
        self.blocked = blocked

    def find_spec(self, name, path=None, target=None):
        if name == self.blocked or name.startswith(self.blocked + "."):
            raise ImportError(f"No module named {name!r} (blocked by the test)")
        return None


def datablock_counts(bpy) -> dict[str, int]:
    return {kind: len(getattr(bpy.data, kind))
            for kind in ("objects", "meshes", "collections", "materials", "images")}


def no_mediapipe(workdir: Path, image_path: str, landmarks_path: str) -> dict:
    sys.meta_path.insert(0, BlockModule("mediapipe"))
    import bpy
    from blender_support import load_extension, project_module

    package = load_extension()
    package.register()
    dependencies = project_module("blender_addon.dependencies")
    mediapipe = dependencies.BY_MODULE["mediapipe"]
    report = {
        "registered": [name for name in ("PORTRAIT_OT_add", "PORTRAIT_OT_render")
                       if hasattr(bpy.types, name)],
        "missing": {package.module: hint for package, hint in dependencies.missing_packages()},
        "hint": dependencies.fix_hint(mediapipe),
    }
    before = datablock_counts(bpy)
    try:
        report["add_without_landmarks"] = sorted(bpy.ops.portrait.add(filepath=image_path))
    except RuntimeError as exc:  # bpy.ops raises an operator's ERROR report
        report["add_without_landmarks"] = str(exc).strip()
    report["created_without_landmarks"] = {
        kind: count - before[kind] for kind, count in datablock_counts(bpy).items()}
    report["add_with_landmarks"] = sorted(
        bpy.ops.portrait.add(filepath=image_path, landmarks_path=landmarks_path))
    plane = bpy.context.scene.portrait_active
    rendered, frames = render_two_frames(bpy, plane, workdir / "cache")
    report.update(rendered=sorted(rendered), frames=frames,
                  rig_vertices=len(bpy.data.objects[f"{plane.name}_rig"].data.vertices),
                  mediapipe_imported="mediapipe" in sys.modules)
    # As Blender does on quit (bpy 4.2 as a module crashes at exit with the classes registered).
    package.unregister()
    return report


def no_opencv(workdir: Path) -> dict:
    """Without OpenCV the extension still registers and names what is missing."""
    sys.meta_path.insert(0, BlockModule("cv2"))
    import bpy
    from blender_support import load_extension, project_module

    package = load_extension()
    package.register()
    dependencies = project_module("blender_addon.dependencies")
    report = {
        "registered": [name for name in ("PORTRAIT_OT_add", "PORTRAIT_OT_render")
                       if hasattr(bpy.types, name)],
        "missing": sorted(package.module for package, _ in dependencies.missing_packages()),
        "cv2_imported": "cv2" in sys.modules,
    }
    package.unregister()
    return report


SCENARIOS = {"install": install, "no_mediapipe": no_mediapipe, "no_opencv": no_opencv}


def run(scenario: str, workdir: Path, *arguments: str, isolated: bool = False,
        timeout: float = 300) -> dict:
    """Run a scenario in a new Python process and return its report.

    Blender's user resources (preferences, extension repos, installed wheels) go to
    `workdir`/user_resources, never to the user's own. isolated=True runs `python -S`.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    report_path = workdir / f"{scenario}.json"
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(workdir / "user_resources"))
    command = [sys.executable, *(["-S"] if isolated else []), __file__, scenario, str(workdir),
               *arguments]
    result = subprocess.run(command, env=env, cwd=workdir, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0 and report_path.exists(), (
        f"scenario {scenario} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
        f"{result.stderr[-3000:]}")
    return json.loads(report_path.read_text())


if __name__ == "__main__":
    scenario, workdir, *arguments = sys.argv[1:]
    report = SCENARIOS[scenario](Path(workdir), *arguments)
    (Path(workdir) / f"{scenario}.json").write_text(json.dumps(report, indent=1))
