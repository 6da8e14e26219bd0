"""build.py: manifest rules of Blender's extension schema 1.0.0, wheel tags, the zip writer.

Nothing here downloads: the full build is exercised by test_extension_install.py.
"""
from __future__ import annotations

import tomllib
import zipfile
from pathlib import Path

import pytest

from core.errors import PortraitError

from project_build import build

LINUX, WINDOWS, MACOS = (build.PLATFORMS[name] for name in ("linux-x64", "windows-x64",
                                                            "macos-arm64"))


def source_manifest() -> dict:
    return tomllib.loads(build.MANIFEST.read_text())


def test_source_manifest_follows_the_schema():
    manifest = source_manifest()
    build.validate_manifest(manifest)
    assert manifest["id"] == "portrait_animator" and manifest["blender_version_min"] == "4.3.0"
    assert set(manifest["platforms"]) == set(build.PLATFORMS)


@pytest.mark.parametrize("field, value, complaint", [
    ("id", "portrait-animator", "id"),
    ("id", "portrait__animator", "id"),
    ("id", "_portrait", "id"),
    ("version", "0.1", "semantic"),
    ("version", "v0.1.0", "semantic"),
    ("schema_version", "2.0.0", "schema_version"),
    ("type", "addon", "type"),
    ("tagline", "Animate a portrait.", "punctuation"),
    ("tagline", "A" * 65, "at most 64"),
    ("tagline", "", "tagline"),
    ("name", "Portrait\nAnimator", "name"),
    ("license", ["GPL-3.0-or-later"], "SPDX"),
    ("license", [], "license"),
    ("blender_version_min", "4.2", "X.Y.Z"),
    ("permissions", {"files": "Write frames."}, "punctuation"),
    ("permissions", {"files": "x" * 65}, "at most 64"),
    ("permissions", {"disk": "Write frames"}, "unknown permission"),
    ("tags", ["Faces"], "tag"),
    ("platforms", ["linux-x86"], "platform"),
    ("wheels", ["./wheels/torch-2.13.0-cp311-cp311-win_amd64.whl"], "does not run on"),
    ("wheels", ["./wheels/pillow-13.0.0-cp313-cp313-manylinux_2_28_x86_64.whl"], "py3 or abi3"),
    ("wheels", ["./wheels/scipy-1.17.1-cp312-cp312-manylinux_2_28_x86_64.whl"], "does not run on"),
    ("wheels", ["wheels\\tqdm-4.70.1-py3-none-any.whl"], "./wheels/"),
    ("wheels", ["./wheels/tqdm-4.70.1.whl"], "wheel file name"),
])
def test_each_schema_rule_fails_with_one_line(field, value, complaint):
    manifest = source_manifest()
    manifest[field] = value
    if field == "wheels":
        manifest["platforms"] = ["linux-x64"]
    with pytest.raises(PortraitError) as error:
        build.validate_manifest(manifest)
    message = str(error.value)
    assert complaint in message and "\n" not in message


def test_missing_required_key_is_named():
    manifest = source_manifest()
    del manifest["maintainer"]
    with pytest.raises(PortraitError, match="maintainer"):
        build.validate_manifest(manifest)


@pytest.mark.parametrize("filename, platform, runs", [
    ("mediapipe-1.2.3-py3-none-manylinux_2_28_x86_64.whl", LINUX, True),
    ("opencv_python_headless-5.0.0.93-cp37-abi3-manylinux_2_28_x86_64.whl", LINUX, True),
    ("imageio_ffmpeg-0.6.0-py3-none-manylinux2014_x86_64.whl", LINUX, True),
    # Tied to one Python: Blender would refuse the zip on every other (issue: 3.11-only zips).
    ("torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl", LINUX, False),
    ("x-1.0-cp313-cp313-manylinux_2_28_x86_64.whl", LINUX, False),
    ("x-1.0-py3-none-manylinux_2_34_x86_64.whl", LINUX, False),  # Blender needs glibc 2.28
    ("x-1.0-py3-none-manylinux_2_28_aarch64.whl", LINUX, False),
    ("x-1.0-py3-none-musllinux_1_2_x86_64.whl", LINUX, False),
    ("protobuf-4.25.9-cp310-abi3-win_amd64.whl", WINDOWS, True),
    ("x-1.0-cp312-abi3-win_amd64.whl", WINDOWS, False),  # stable ABI from 3.12 on: not 3.11
    ("x-1.0-cp310-cp310-win_amd64.whl", WINDOWS, False),
    ("mediapipe-1.2.3-py3-none-macosx_11_0_arm64.whl", MACOS, True),
    ("x-1.0-py3-none-macosx_10_9_x86_64.whl", MACOS, False),
    ("flatbuffers-25.12.19-py2.py3-none-any.whl", MACOS, True),
])
def test_wheel_platform_and_python_tags(filename, platform, runs):
    assert build.wheel_runs_on(filename, platform) is runs


def test_platform_manifest_lists_only_that_platform_and_its_wheels():
    wheels = [Path("/cache/mediapipe-1.2.3-py3-none-manylinux_2_28_x86_64.whl"),
              Path("/cache/tqdm-4.70.1-py3-none-any.whl")]
    text = build.platform_manifest(build.MANIFEST.read_text(), LINUX, wheels)
    manifest = tomllib.loads(text)
    assert manifest["platforms"] == ["linux-x64"]
    assert manifest["wheels"] == [f"./wheels/{wheel.name}" for wheel in wheels]
    assert manifest["permissions"] == source_manifest()["permissions"]
    with pytest.raises(PortraitError, match="does not run on windows-x64"):
        build.platform_manifest(build.MANIFEST.read_text(), WINDOWS, wheels)


def test_requirements_are_pinned_and_leave_numpy_and_torch_out():
    for platform in build.PLATFORMS.values():
        requirements = build.platform_requirements(platform)
        names = [requirement.split("==")[0].lower() for requirement in requirements]
        assert all("==" in requirement for requirement in requirements)
        assert "mediapipe" in names and "opencv-python-headless" in names
        assert not {"numpy", "torch", "scipy", "matplotlib", "pillow"} & set(names)


def test_zip_is_reproducible_and_holds_only_the_package(tmp_path):
    wheel = tmp_path / "tqdm-4.70.1-py3-none-any.whl"
    wheel.write_bytes(b"PK wheel bytes")
    text = build.platform_manifest(build.MANIFEST.read_text(), LINUX, [wheel])
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    build.write_zip(first, text, [wheel])
    build.write_zip(second, text, [wheel])
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        names = archive.namelist()
        assert archive.read(f"wheels/{wheel.name}") == wheel.read_bytes()
        assert archive.getinfo(f"wheels/{wheel.name}").compress_type == zipfile.ZIP_STORED
        assert tomllib.loads(archive.read("blender_manifest.toml").decode())["platforms"] == [
            "linux-x64"]
    assert {"__init__.py", "blender_addon/__init__.py", "core/errors.py"} <= set(names)
    assert not any(name.startswith(("tests/", "bench/", ".venv", "dist/")) or
                   "__pycache__" in name for name in names)
    assert not list(tmp_path.glob(".*.partial"))


def test_broken_manifest_stops_the_build_with_one_line(tmp_path, monkeypatch, capsys):
    broken = tmp_path / "blender_manifest.toml"
    broken.write_text(build.MANIFEST.read_text().replace('version = "0.1.0"', 'version = "1.0"'))
    monkeypatch.setattr(build, "MANIFEST", broken)
    status = build.main(["--platform", "linux-x64", "--wheels-dir", str(tmp_path / "wheels"),
                         "--dist-dir", str(tmp_path / "dist")])
    error = capsys.readouterr().err
    assert status == 2
    assert error.startswith("build.py: error: manifest: version '1.0'") and error.count("\n") == 1
    assert not (tmp_path / "dist").exists() and not (tmp_path / "wheels").exists()
