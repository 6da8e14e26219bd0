"""Headless commands: `blender -b scene.blend --command portrait_animator render|demo ...`.

The same entry runs from the bpy module as `python -m blender_addon render|demo ...`. Bad input is
one line on stderr and exit status 2.

  render [--blend FILE] [--portrait NAME] [--frames 1-120] [--output DIR | FILE.mp4] [--save]
         [--overwrite]
  encode [--blend FILE] [--portrait NAME] [--frames 1-120] --input DIR [--output FILE.mp4]
         [--overwrite]
  demo [--portrait PATH] [--landmarks JSON] [--output out/demo.mp4] [--blend out/demo.blend]
       [--frames A-B] [--resolution PCT] [--overwrite]

`--portrait ''` (or '*') means every portrait of the scene: each gets its own subfolder of the
output folder (DIR/<portrait>/frame_NNNN.png) and `encode` writes one FILE_<portrait>.mp4 each.

Render farms run `render` once per chunk of frames into one shared folder: a chunk writes only its
own frames, each atomically (temporary file + rename), and fails only if one of its frames exists
with other content (`--overwrite` replaces it); an identical frame is kept, so a killed chunk
simply runs again. Without --save nothing is written to the .blend, so chunks never race on it.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import bpy

from ..core.errors import PortraitError
from ..core.media import atomic_path, check_frame_folder
from . import compat
from .cache import frame_file_name, remove_partials
from .portrait import create_portrait, find_portrait, load_input, portraits, scene_fps
from .render import GeneratorFrames, RenderJob, parse_frames, publish

COMMAND = "portrait_animator"
EXIT_USAGE = 2
DEMO_MOTION = "demo_talk"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 2, not argparse's usage block
        raise PortraitError(message)


def _frames(text: str) -> range:
    try:
        return parse_frames(text)
    except PortraitError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=COMMAND, description="Portrait Animator, headless.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    render = commands.add_parser("render", help="render a portrait of the open .blend")
    render.add_argument("--blend", type=Path,
                        help="open this .blend first (blender takes it before --command)")
    render.add_argument("--portrait", default=None,
                        help="portrait object name, '' or '*' for every portrait of the scene "
                             "(default: the active one, or the only one)")
    render.add_argument("--frames", type=_frames,
                        help="frame range like 1-120 (default: the scene's)")
    render.add_argument("--output", type=Path,
                        help="a folder for the PNG frames, or FILE.mp4 (H.264)")
    render.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    render.add_argument("--save", action="store_true",
                        help="save the .blend afterwards (strip and plane material updated)")
    render.set_defaults(run=cmd_render)

    encode = commands.add_parser("encode", help="encode the PNG frames `render` wrote to an mp4")
    encode.add_argument("--blend", type=Path,
                        help="open this .blend first, for its frame rate and portraits")
    encode.add_argument("--portrait", default=None,
                        help="as for render: '' or '*' encodes each portrait's subfolder")
    encode.add_argument("--frames", type=_frames,
                        help="frame range like 1-120 (default: the scene's)")
    encode.add_argument("--input", type=Path, required=True,
                        help="the folder `render --output` wrote the frames to")
    encode.add_argument("--output", default="",
                        help="the .mp4 (relative: inside the input folder); empty: do nothing")
    encode.add_argument("--overwrite", action="store_true", help="replace an existing mp4")
    encode.set_defaults(run=cmd_encode)

    demo = commands.add_parser("demo", help="a new scene with a talking portrait, rendered to mp4")
    demo.add_argument("--portrait", type=Path, help="portrait image (default: Grace Hopper)")
    demo.add_argument("--landmarks", type=Path, default=None,
                      help="landmarks JSON from `python -m core detect --json` (no mediapipe)")
    demo.add_argument("--output", type=Path, default=Path("out/demo.mp4"))
    demo.add_argument("--blend", type=Path, default=Path("out/demo.blend"))
    demo.add_argument("--frames", type=_frames, help="only these frames of the motion")
    demo.add_argument("--resolution", type=int, default=100, choices=range(1, 101),
                      metavar="PCT", help="frame size in percent of the portrait")
    demo.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    demo.set_defaults(run=cmd_demo)
    return parser


def main(argv: list[str]) -> int:
    """Run one command; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        args.run(args)
    except PortraitError as exc:
        print(f"{COMMAND}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # the file system refused: a full disk, a folder made read-only
        print(f"{COMMAND}: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    return 0


def _check_movie(path: Path, overwrite: bool) -> Path:
    from ..core.media import check_output

    if path.suffix.lower() != ".mp4":
        raise PortraitError(f"{path}: the movie output must be an .mp4 file")
    return check_output(path.resolve(), overwrite)


ALL_PORTRAITS = ("", "*")


def _pick_portraits(name: str | None) -> list[bpy.types.Object]:
    """The portraits to render: one by name, every one ('' or '*'), or the active/only one."""
    scene = bpy.context.scene
    if name is None:
        return [_pick_portrait("")]
    if name in ALL_PORTRAITS:
        found = portraits(scene)
        if not found:
            raise PortraitError(f"scene '{scene.name}' has no portraits")
        return found
    return [find_portrait(bpy.context, name)]


def _pick_portrait(name: str) -> bpy.types.Object:
    scene = bpy.context.scene
    candidates = portraits(scene)
    if not name and scene.portrait_active is None and len(candidates) == 1:
        return find_portrait(bpy.context, candidates[0].name)
    if not name and scene.portrait_active is None and len(candidates) > 1:
        raise PortraitError(f"scene '{scene.name}' has {len(candidates)} portraits: pick one with "
                            f"--portrait ({', '.join(p.name for p in candidates)}) or all "
                            f"with --portrait '*'")
    return find_portrait(bpy.context, name)


def _open_blend(path: Path | None) -> None:
    if path is None:
        return
    if not path.is_file():
        raise PortraitError(f"{path}: no such .blend file")
    try:
        bpy.ops.wm.open_mainfile(filepath=str(path.resolve()))
    except RuntimeError as exc:
        reason = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
        reason = reason.removeprefix("Error: ")
        raise PortraitError(f"{path}: cannot open this .blend file ({reason})") from None


def _open_shot(args) -> tuple[bpy.types.Scene, list[bpy.types.Object], bool, range]:
    """For render and encode: open --blend, then (the scene, its portraits to work on, whether
    that is every portrait, the frames)."""
    _open_blend(args.blend)
    scene = bpy.context.scene
    frames = args.frames or range(scene.frame_start, scene.frame_end + 1)
    return scene, _pick_portraits(args.portrait), args.portrait in ALL_PORTRAITS, frames


def _frame_folders(folder: Path, planes, by_name: bool) -> list[Path]:
    """Where each portrait's frames go: the folder, or its subfolder per portrait."""
    return [folder / plane.name if by_name else folder for plane in planes]


def export_frames(jobs, folders: list[Path], overwrite: bool) -> tuple[int, int]:
    """Copy each job's frames into its folder; returns (written, already identical).

    Only the jobs' own frames are touched. Everything is checked before anything is written: a
    frame that exists with other content stops the export unless `overwrite`.
    """
    plan = []
    for job, folder in zip(jobs, folders):
        for frame in job.frames:
            source, target = job.cache.path(frame), folder / frame_file_name(frame)
            if target.is_file():
                if target.read_bytes() == source.read_bytes():
                    continue
                if not overwrite:
                    raise PortraitError(f"{target}: exists with other content "
                                        "(pass --overwrite to replace it)")
            plan.append((source, target))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    for job, folder in zip(jobs, folders):
        remove_partials(folder, [frame_file_name(frame) for frame in job.frames])
    for source, target in plan:
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
    return len(plan), sum(len(job.frames) for job in jobs) - len(plan)


def configure_movie(scene: bpy.types.Scene, filepath: str, size: tuple[int, int]) -> None:
    """Scene output: its sequencer at the frame size, H.264 MP4 through Blender's FFmpeg."""
    settings = scene.render
    # H.264 4:2:0 needs even sizes; the strip keeps its scale, losing at most one pixel row.
    settings.resolution_x, settings.resolution_y = size[0] // 2 * 2, size[1] // 2 * 2
    settings.resolution_percentage = 100
    settings.use_sequencer = True
    compat.use_movie_output(settings.image_settings)
    settings.ffmpeg.format = "MPEG4"
    settings.ffmpeg.codec = "H264"
    settings.ffmpeg.constant_rate_factor = "HIGH"
    settings.ffmpeg.ffmpeg_preset = "GOOD"
    settings.ffmpeg.audio_codec = "NONE"
    settings.filepath = filepath
    # The frames are display-referred sRGB already: pass them through untouched.
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"


def render_movie(scene: bpy.types.Scene, path: Path) -> None:
    """Render the scene's sequencer to `path` (written beside it, renamed when complete)."""
    tmp = path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")
    final = scene.render.filepath
    scene.render.filepath = str(tmp)
    try:
        bpy.ops.render.render(animation=True, scene=scene.name)
        if not tmp.is_file():
            raise PortraitError(f"{path}: Blender's FFmpeg output wrote nothing")
        os.replace(tmp, path)
    finally:
        scene.render.filepath = final
        tmp.unlink(missing_ok=True)


def encode_frames(paths: list[Path], fps: float, path: Path) -> None:
    """Encode PNG frames to an mp4 (H.264, written beside `path` and renamed when complete).

    The frames go straight from disk to FFmpeg: a temporary scene for Blender's own movie
    output would have to be removed again, which crashes Blender 4.3 after a render.
    """
    from ..core.media import VideoWriter, read_image

    first = read_image(paths[0])
    with VideoWriter(path, fps, (first.shape[1], first.shape[0])) as writer:
        writer.write(first)
        for frame_path in paths[1:]:
            writer.write(read_image(frame_path))


def cmd_render(args) -> None:
    scene, planes, every, frames = _open_shot(args)
    movie = folder = None
    if args.output is not None and args.output.suffix:
        if every:
            raise PortraitError(f"{args.output}: one movie holds one portrait; render every "
                                "portrait into a folder and encode that")
        movie = _check_movie(args.output, args.overwrite)
    elif args.output is not None:
        folder = check_frame_folder(args.output)
    if args.save and not bpy.data.filepath:
        raise PortraitError("--save: the scene was never saved; open a .blend file first")

    jobs = []
    for channel, plane in enumerate(planes, start=1):
        job = RenderJob(scene, bpy.context.view_layer, plane, GeneratorFrames(plane),
                        frames).run()
        # The strip and plane are updated in memory only: without --save, chunks running at
        # once never write the .blend, so they cannot race on it.
        publish(job, compat.sequencer_scene(bpy.context), channel=channel)
        print(job.summary())
        jobs.append(job)
    if folder is not None:
        written, kept = export_frames(jobs, _frame_folders(folder, planes, every),
                                      args.overwrite)
        print(f"{written} frames -> {folder}" + (f" ({kept} identical kept)" if kept else ""))
    if movie is not None:
        encode_frames([jobs[0].cache.path(frame) for frame in frames], scene_fps(scene), movie)
        print(f"{len(frames)} frames -> {movie}")
    if args.save:
        bpy.ops.wm.save_mainfile()


def cmd_encode(args) -> None:
    if not args.output:
        print(f"{COMMAND} encode: no movie asked for (empty --output): nothing to encode")
        return
    scene, planes, every, frames = _open_shot(args)
    movie = Path(args.output)
    if not movie.is_absolute():
        movie = args.input / movie
    if movie.suffix.lower() != ".mp4":
        raise PortraitError(f"{args.output}: the movie output must be an .mp4 file")
    if not args.input.is_dir():
        raise PortraitError(f"{args.input}: no such folder of frames")
    work = []
    for plane, folder in zip(planes, _frame_folders(args.input, planes, every)):
        target = movie.with_name(f"{movie.stem}_{plane.name}{movie.suffix}") if every else movie
        paths = [folder / frame_file_name(frame) for frame in frames]
        missing = [path for path in paths if not path.is_file()]
        if missing:
            raise PortraitError(f"{missing[0]}: missing ({len(missing)} of {len(paths)} frames "
                                "not rendered)")
        work.append((paths, _check_movie(target, args.overwrite)))
    for paths, target in work:
        target.parent.mkdir(parents=True, exist_ok=True)
        encode_frames(paths, scene_fps(scene), target)
        print(f"{len(paths)} frames -> {target}")


def cmd_demo(args) -> None:
    from ..core.media import check_output, default_portrait_path
    from ..core.rig.motion import load_motion
    from .keying import key_motion

    movie, blend = args.output.resolve(), args.blend.resolve()
    if movie.suffix.lower() != ".mp4":
        raise PortraitError(f"{args.output}: the demo output must be an .mp4 file")
    if blend.suffix.lower() != ".blend":
        raise PortraitError(f"{args.blend}: the demo file must end in .blend")
    portrait_path = args.portrait or default_portrait_path()
    image, landmarks = load_input(str(Path(portrait_path).resolve()),
                                  str(args.landmarks.resolve()) if args.landmarks else "")
    motion = load_motion(DEMO_MOTION)
    track = motion.to_dict()
    frames = args.frames or range(int(track["frame_start"]), int(track["frame_end"]) + 1)
    # Folders are made only once everything is known good: a failed demo writes nothing.
    for path in (movie, blend):
        if path.exists() and not args.overwrite:
            raise PortraitError(f"{path}: exists (pass --overwrite to replace it)")
    for path in (movie, blend):
        path.parent.mkdir(parents=True, exist_ok=True)
        check_output(path, args.overwrite)

    bpy.ops.wm.read_homefile(use_empty=True)  # a clean file: the demo is all it holds
    scene = bpy.context.scene
    scene.name = "Portrait Demo"
    fps = float(track["fps"])
    scene.render.fps, scene.render.fps_base = round(fps), round(fps) / fps
    scene.frame_start, scene.frame_end = frames[0], frames[-1]
    plane = create_portrait(scene, str(Path(portrait_path).resolve()), image, landmarks)
    plane.portrait.source.pack()  # the .blend carries its portrait wherever it goes
    plane.portrait.resolution = args.resolution
    # The cache sits next to the .blend; absolute until the .blend is written at the very end,
    # so a demo that fails leaves no .blend behind.
    relative_cache = f"//portrait_cache/{plane.name}/"
    plane.portrait.cache_dir = str(blend.parent / "portrait_cache" / plane.name)
    key_motion(plane, track)

    renderer = GeneratorFrames(plane)
    # Output size first: a new strip is fitted to the scene's resolution when it is added.
    configure_movie(scene, str(movie), renderer.size)
    job = RenderJob(scene, bpy.context.view_layer, plane, renderer, frames).run()
    publish(job, compat.sequencer_scene(bpy.context))
    print(job.summary())
    render_movie(scene, movie)
    print(f"{len(frames)} frames -> {movie}")

    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.file.make_paths_relative()  # strip and image paths (needs the file saved once)
    plane.portrait.cache_dir = relative_cache
    scene.render.filepath = bpy.path.relpath(str(movie))
    file_paths = bpy.context.preferences.filepaths
    versions, file_paths.save_version = file_paths.save_version, 0  # no demo.blend1 backup
    try:
        bpy.ops.wm.save_mainfile()
    finally:
        file_paths.save_version = versions
    print(f"scene -> {blend}")


_handle = None


def register() -> None:
    global _handle
    if hasattr(bpy.utils, "register_cli_command"):  # Blender 4.2+
        _handle = bpy.utils.register_cli_command(COMMAND, main)


def unregister() -> None:
    global _handle
    if _handle is not None:
        bpy.utils.unregister_cli_command(_handle)
        _handle = None
