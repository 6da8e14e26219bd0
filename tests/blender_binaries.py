#!/usr/bin/env python3
"""The extension zip in real Blender binaries: Debian's blender package in chroots.

    sudo python3 tests/blender_binaries.py [ZIP] [--suite trixie --suite sid] [--xvfb]

Not a pytest module (the name does not start with test_): `make test-blender-binaries` builds
the linux-x64 zip, builds or reuses the chroots with tests/make_chroots.sh and runs this. ZIP
defaults to the newest dist/portrait_animator-*-linux-x64.zip. Each chroot in .cache/chroots/
(trixie: Blender 4.3 on Python 3.13, sid: Blender 5.x on Python 3.14) gets the zip and a shared
painting copied into /tmp, and as the unprivileged user `tester`, with a fresh Blender config:

  1. blender --command extension validate ZIP                                 -> exit 0
  2. blender --command extension install-file -r user_default -e ZIP          -> exit 0
  3. blender -b --command portrait_animator demo --portrait PAINTING ...      -> exit 0, the face
     detected by MediaPipe (no --landmarks), and the frames of the .mp4 move
  4. blender -b scene.blend --command portrait_animator render --frames 1-12  -> 12 frames
  5. the render-farm job farm/portrait_render.yaml run by `openjd run` on the host, its
     Blender the chroot's (through a launcher): frames 1-12 in chunks of 5 and the mp4 ->
     frames byte-identical to one whole `render --output DIR` of 1-12, and 12 movie frames

Frames are decoded with the chroot's ffmpeg (64x64 grey) and compared here. One PASS/FAIL line
per step and per Blender; exit status 1 if anything failed. Needs root (mount, chroot); stdlib
only. The mounts are undone on exit, also after a failure, a timeout or Ctrl-C.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROOTS = ROOT / ".cache" / "chroots"
PAINTING = ROOT.parent / "shared" / "testdata" / "portraits" / "painting_mona_lisa.jpg"
USER, UID = "tester", 1000
HOME = f"/home/{USER}"
WORK = "/tmp/portrait_animator_test"  # inside the chroot
ADDON = "bl_ext.user_default.portrait_animator"
TEMPLATE = ROOT / "farm" / "portrait_render.yaml"
OPENJD = ROOT / ".venv" / "bin" / "openjd"
SIDE = 64  # decoded frames are SIDE x SIDE grey
# Per-command timeouts in seconds (--timeout-scale multiplies them).
TIMEOUTS = {"version": 60, "validate": 300, "install": 1200, "demo": 3600, "render": 1800,
            "decode": 300, "farm": 3600}
DEMO_MIN_DIFF = 0.5  # mean absolute grey difference (0..255) some frame must reach vs the first


class Chroot:
    """A chroot with /proc, /sys, /dev and /dev/shm mounted while in use (MediaPipe's tcmalloc
    aborts in NumCPUs without /sys)."""

    def __init__(self, path: Path):
        self.path = path
        self.mounted: list[Path] = []

    def __enter__(self):
        for source, target, options in (("proc", "proc", ["-t", "proc"]),
                                        ("/sys", "sys", ["--bind", "-o", "ro"]),
                                        ("/dev", "dev", ["--bind"]),
                                        ("/dev/shm", "dev/shm", ["--bind"])):
            point = self.path / target
            subprocess.run(["mount", *options, source, str(point)], check=True)
            self.mounted.append(point)
        return self

    def __exit__(self, *exc):
        for point in reversed(self.mounted):
            if subprocess.run(["umount", str(point)], stderr=subprocess.DEVNULL).returncode:
                subprocess.run(["umount", "-l", str(point)])
        self.mounted.clear()

    def host(self, inner: str) -> Path:
        return self.path / inner.lstrip("/")

    def command(self, argv: list[str]) -> list[str]:
        """The host command that runs argv as `tester` in WORK inside the chroot."""
        return ["chroot", f"--userspec={UID}:{UID}", str(self.path),
                "env", "-i", "-C", WORK, f"HOME={HOME}", f"USER={USER}", "LANG=C.UTF-8",
                "PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=/tmp", *argv]

    def run(self, argv: list[str], timeout: float, binary: bool = False):
        """argv as `tester` in WORK; (exit status or 'timeout', stdout, stderr)."""
        command = self.command(argv)
        # Its own process group, so a timeout also ends Blender's children (Xvfb, ffmpeg).
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            return "timeout", out if binary else out.decode(errors="replace"), \
                err.decode(errors="replace")
        except BaseException:  # Ctrl-C, SIGTERM: no Blender left running in the chroot
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        return proc.returncode, out if binary else out.decode(errors="replace"), \
            err.decode(errors="replace")


def tail(text: str, lines: int = 15) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n".join("      | " + line for line in kept)


def decode(chroot: Chroot, movie: str, scale: float) -> list[bytes]:
    """The frames of a movie in the chroot, SIDE x SIDE grey; [] when ffmpeg fails."""
    status, out, err = chroot.run(
        ["ffmpeg", "-v", "error", "-i", movie, "-vf", f"scale={SIDE}:{SIDE}", "-pix_fmt", "gray",
         "-f", "rawvideo", "-"], TIMEOUTS["decode"] * scale, binary=True)
    if status != 0:
        print(f"      ffmpeg: exit {status}\n{tail(err)}")
        return []
    size = SIDE * SIDE
    return [out[i:i + size] for i in range(0, len(out) - size + 1, size)]


def mean_diff(a: bytes, b: bytes) -> float:
    return sum(abs(x - y) for x, y in zip(a, b)) / len(a)


def test_blender(suite: str, zip_path: Path, painting: Path, args) -> bool:
    path = CHROOTS / suite
    if not (path / "usr" / "bin" / "blender").exists():
        print(f"FAIL {suite}: no chroot at {path} (run tests/make_chroots.sh {suite})")
        return False
    ok = True
    with Chroot(path) as chroot:
        work = chroot.host(WORK)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        for name in (".config/blender", ".cache/blender"):  # a fresh user: no old extension
            shutil.rmtree(chroot.host(HOME) / name, ignore_errors=True)
        shutil.copyfile(zip_path, work / zip_path.name)
        shutil.copyfile(painting, work / painting.name)
        for item in [work, *work.iterdir()]:
            os.chown(item, UID, UID)
        blender = ["xvfb-run", "-a", "blender"] if args.xvfb else ["blender"]

        status, out, err = chroot.run(
            blender + ["-b", "--factory-startup", "--python-expr",
                       "import sys; print('PYTHON', sys.version.split()[0])"],
            TIMEOUTS["version"] * args.timeout_scale)
        version = next((line for line in out.splitlines() if line.startswith("Blender ")), "?")
        python = next((line.split()[1] for line in out.splitlines()
                       if line.startswith("PYTHON ")), "?")
        print(f"== {suite}: {version}, Python {python}")
        if status != 0 or version == "?":
            print(f"FAIL {suite}: blender does not start (exit {status})\n{tail(out + err)}")
            return False

        def step(name: str, argv: list[str], timeout_key: str, check=None) -> bool:
            nonlocal ok
            started = time.monotonic()
            status, out, err = chroot.run(argv, TIMEOUTS[timeout_key] * args.timeout_scale)
            seconds = time.monotonic() - started
            problem = f"exit {status}" if status != 0 else (check(out + err) if check else None)
            if problem:
                ok = False
                print(f"FAIL {suite} {name} ({seconds:.0f} s): {problem}\n{tail(out + err)}")
                return False
            print(f"PASS {suite} {name} ({seconds:.0f} s)")
            return True

        zip_in = zip_path.name
        if not step("validate", blender + ["--command", "extension", "validate", zip_in],
                    "validate"):
            return False
        def enabled(out: str) -> str | None:
            # Blender 4.3 exits 0 when it refuses a package (e.g. blender_version_min).
            status, listing, err = chroot.run(
                blender + ["-b", "--python-expr", "import bpy; print('ADDON', "
                           f"{ADDON!r} in bpy.context.preferences.addons)"],
                TIMEOUTS["version"] * args.timeout_scale)
            return None if "ADDON True" in listing else f"{ADDON} is not enabled afterwards"

        if not step("install-file", blender + ["--command", "extension", "install-file",
                                               "-r", "user_default", "-e", zip_in], "install",
                    enabled):
            return False

        def demo_moves(out: str) -> str | None:
            rendered = re.search(r"(\d+) frame\(s\) rendered", out)
            if not rendered or int(rendered.group(1)) == 0:
                return "the generator rendered no frame (no 'N frame(s) rendered' line)"
            frames = decode(chroot, "demo.mp4", args.timeout_scale)
            if len(frames) < 2:
                return f"demo.mp4 has {len(frames)} decodable frame(s)"
            moved = max(mean_diff(frames[0], frame) for frame in frames[1:])
            distinct = len(set(frames))
            print(f"      demo.mp4: {len(frames)} frames, {distinct} distinct, "
                  f"largest mean difference from frame 1: {moved:.2f} / 255")
            if distinct < 2 or moved < DEMO_MIN_DIFF:
                return f"the portrait does not move (largest difference {moved:.2f})"
            return None

        demo = ["-b", "--command", "portrait_animator", "demo", "--portrait", painting.name,
                "--output", "demo.mp4", "--blend", "scene.blend", "--overwrite"]
        if args.demo_frames:
            demo += ["--frames", args.demo_frames]
        if not step("demo", blender + demo, "demo", demo_moves):
            return False

        def twelve_frames(out: str) -> str | None:
            if not chroot.host(WORK).joinpath("render.mp4").is_file():
                return "render.mp4 was not written"
            frames = decode(chroot, "render.mp4", args.timeout_scale)
            print(f"      render.mp4: {len(frames)} frames")
            return None if len(frames) == 12 else f"render.mp4 has {len(frames)} frames, not 12"

        if not step("render", blender + ["-b", "scene.blend", "--command", "portrait_animator",
                                         "render", "--frames", "1-12", "--output", "render.mp4",
                                         "--overwrite"], "render", twelve_frames):
            return False
        if not step("render frames", blender + ["-b", "scene.blend", "--command",
                                                "portrait_animator", "render", "--frames",
                                                "1-12", "--output", "whole"], "render"):
            return False
        ok = farm(chroot, suite, blender, args) and ok
    return ok


def farm(chroot: Chroot, suite: str, blender: list[str], args) -> bool:
    """The OpenJD job on the host, each task's Blender the chroot's (a launcher script)."""
    if not args.openjd.is_file():
        print(f"FAIL {suite} farm: no openjd at {args.openjd} (make sets up .venv)")
        return False
    launcher = chroot.host(WORK) / "blender-in-chroot"
    launcher.write_text("#!/bin/sh\nexec " + " ".join(
        f"'{part}'" for part in chroot.command(blender)) + ' "$@"\n')
    launcher.chmod(0o755)
    # A copy of the scene in a folder of its own: its cache (beside it) is empty, so the
    # tasks render every frame anew instead of copying the whole render's.
    scene = chroot.host(WORK) / "farm_scene"
    scene.mkdir()
    shutil.copyfile(chroot.host(WORK) / "scene.blend", scene / "scene.blend")
    for item in (scene, scene / "scene.blend"):
        os.chown(item, UID, UID)
    params = {"BlendFile": f"{WORK}/farm_scene/scene.blend", "Frames": "1-12", "ChunkSize": "5",
              "OutputDir": f"{WORK}/farm", "Portrait": "", "Movie": "farm.mp4",
              "Blender": str(launcher)}
    command = [str(args.openjd), "run", str(TEMPLATE),
               *(arg for name, value in params.items() for arg in ("-p", f"{name}={value}"))]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True,
                            timeout=TIMEOUTS["farm"] * args.timeout_scale)
    seconds = time.monotonic() - started
    whole = chroot.host(WORK) / "whole"
    (portrait,) = [folder.name for folder in chroot.host(f"{WORK}/farm").iterdir()
                   if folder.is_dir()] or [None]
    problem = None
    if result.returncode != 0:
        problem = f"openjd exit {result.returncode}"
    elif portrait is None:
        problem = "the job wrote no portrait folder"
    else:
        chunked = chroot.host(f"{WORK}/farm/{portrait}")
        expected = {p.name: p.read_bytes() for p in sorted(whole.glob("frame_*.png"))}
        got = {p.name: p.read_bytes() for p in sorted(chunked.glob("frame_*.png"))}
        if len(expected) != 12 or got != expected:
            problem = (f"{len(got)} chunked frames against {len(expected)} whole ones, "
                       f"{sum(got.get(k) == v for k, v in expected.items())} identical")
        else:
            movie = f"{WORK}/farm/farm_{portrait}.mp4"
            frames = decode(chroot, movie, args.timeout_scale)
            print(f"      farm: 12 frames in chunks of 5 identical to one render; "
                  f"{movie.rsplit('/', 1)[1]}: {len(frames)} frames")
            if len(frames) != 12:
                problem = f"the job's mp4 has {len(frames)} frames, not 12"
    if problem:
        print(f"FAIL {suite} farm ({seconds:.0f} s): {problem}\n"
              f"{tail(result.stdout + result.stderr, 25)}")
        return False
    print(f"PASS {suite} farm ({seconds:.0f} s)")
    return True


def newest_zip() -> Path | None:
    zips = sorted((ROOT / "dist").glob("portrait_animator-*-linux-x64.zip"),
                  key=lambda p: p.stat().st_mtime)
    return zips[-1] if zips else None


def _interrupt(*_):
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("zip", nargs="?", type=Path,
                        help="extension zip (default: newest dist/*-linux-x64.zip)")
    parser.add_argument("--suite", action="append",
                        help="chroot(s) in .cache/chroots to test (default: trixie and sid)")
    parser.add_argument("--painting", type=Path, default=PAINTING)
    parser.add_argument("--demo-frames", help="pass --frames A-B to the demo (default: all)")
    parser.add_argument("--xvfb", action="store_true", help="run Blender under xvfb-run")
    parser.add_argument("--openjd", type=Path, default=OPENJD,
                        help="openjd-cli's command on the host (default: .venv's)")
    parser.add_argument("--timeout-scale", type=float, default=1.0,
                        help="multiply every per-command timeout")
    args = parser.parse_args()
    if os.geteuid() != 0:
        parser.error("needs root (mount and chroot)")
    zip_path = args.zip or newest_zip()
    if zip_path is None or not zip_path.is_file():
        parser.error(f"no extension zip {zip_path or 'in dist/'} (python build.py "
                     "--platform linux-x64)")
    if not args.painting.is_file():
        parser.error(f"{args.painting}: no such painting")
    # SIGTERM (make killed, a CI timeout) unwinds like Ctrl-C, so the mounts come off.
    signal.signal(signal.SIGTERM, _interrupt)

    print(f"zip: {zip_path} ({zip_path.stat().st_size / 2**20:.1f} MiB)")
    results = {}
    started = time.monotonic()
    for suite in args.suite or ["trixie", "sid"]:
        suite_started = time.monotonic()
        try:
            results[suite] = test_blender(suite, zip_path.resolve(), args.painting.resolve(),
                                          args)
        except KeyboardInterrupt:
            print(f"FAIL {suite}: interrupted (Blender killed, chroot unmounted)")
            return 130
        print(f"{'PASS' if results[suite] else 'FAIL'} {suite} "
              f"({time.monotonic() - suite_started:.0f} s)")
    print(f"{'PASS' if all(results.values()) else 'FAIL'}: "
          + ", ".join(f"{s} {'ok' if r else 'failed'}" for s, r in results.items())
          + f" ({time.monotonic() - started:.0f} s)")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
