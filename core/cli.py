"""Command line: `python -m core animate|detect|sketch ...` — the contract Blender and bench use.

Every user error is one line on stderr and exit status 2; outputs are written atomically and
existing files are only replaced with --overwrite.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from .errors import PortraitError
from .validate import MAX_FPS, MAX_FRAME, MIN_FPS

MAX_MULTIPLIER = 4.0  # the Blender panel's limit: four times the driver's motion is a caricature

EXIT_USAGE = 2
VIDEO_REFERENCES = 8  # frames taken from --reference-video without --references: plenty


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line on stderr and exit status 2, like every other
    error (argparse prints its whole usage block). Subcommand parsers inherit it."""

    def error(self, message):
        print(f"error: {self.prog}: {message}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def finite(text: str) -> float:
    """An argparse type: a finite float (float() also takes 'nan' and 'inf')."""
    from .validate import number

    try:
        return number(float(text), text)
    except (ValueError, PortraitError):
        raise argparse.ArgumentTypeError(f"must be a finite number, not '{text}'") from None


def finite_in(low: float, high: float):
    """An argparse type: a finite float within low..high."""
    def parse(text: str) -> float:
        value = finite(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is outside {low:g}..{high:g}")
        return value
    return parse


# A region motion multiplier: 0 (frozen) .. MAX_MULTIPLIER, as the Blender panel allows.
multiplier = finite_in(0.0, MAX_MULTIPLIER)


def rate(text: str) -> float:
    """A frame rate: finite, positive, at most Blender's."""
    from .validate import frame_rate

    try:
        return frame_rate(finite(text), text)
    except PortraitError:
        raise argparse.ArgumentTypeError(f"must be a frame rate in {MIN_FPS:g}..{MAX_FPS:g}, "
                                         f"not '{text}'") from None


def whole(low: int, high: int):
    """An argparse type: a whole number within low..high."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not '{text}'") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is outside {low}..{high}")
        return value
    return parse


nonnegative = whole(0, MAX_FRAME)  # a face, a driver frame, a seed


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WxH, e.g. 1024x1024, not '{text}'") from None
    if not (16 <= width <= 16384 and 16 <= height <= 16384):
        raise argparse.ArgumentTypeError(f"size {text} out of range 16..16384")
    return width, height


def _progress(total, desc, quiet):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="frame", disable=quiet, leave=False,
                file=sys.stderr, dynamic_ncols=True)


def _load_portrait(args):
    """The portrait (maybe resized) and its landmarks in that image's pixels."""
    from .landmarks.files import read_or_detect_landmarks
    from .media import default_portrait_path, read_image, resize_image, scale_landmarks

    image = read_image(args.portrait or default_portrait_path())
    landmarks = read_or_detect_landmarks(image, args.landmarks, args.face)
    if args.size:
        landmarks = scale_landmarks(landmarks, (image.shape[1], image.shape[0]), args.size)
        image = resize_image(image, args.size)
    return image, landmarks


def _driver_targets(args, portrait_landmarks):
    """Target landmarks (T, 478, 3), fps, the count of driver frames without a face and the
    driver's own track (T, 478, 3) (None for --motion), from --driver VIDEO or --motion FILE."""
    from .landmarks import track_frames
    from .media import VideoReader
    from .retarget import Multipliers, retarget

    if args.motion:
        from .rig import FaceRig, load_motion, motion_landmarks

        motion = load_motion(args.motion)
        fps = args.fps or motion.fps
        rig = FaceRig.from_landmarks(portrait_landmarks, args.image_size)
        return motion_landmarks(rig, motion, fps), fps, 0, None
    reader = VideoReader(args.driver)
    if 0 < reader.num_frames < 2:
        raise PortraitError(f"{args.driver}: the driver has {reader.num_frames} frame; need at least 2")
    try:
        with _progress(reader.num_frames or None, "tracking", args.quiet) as bar:
            track, missing = track_frames(reader, reader.fps, progress=bar,
                                           neutral_frame=args.neutral_frame)
    finally:
        reader.close()
    if len(track) < 2:
        raise PortraitError(f"{args.driver}: the driver has {len(track)} frame; need at least 2")
    multipliers = Multipliers(head=args.head, eyes=args.eyes, brows=args.brows, mouth=args.mouth)
    targets = retarget(track, portrait_landmarks, neutral_frame=args.neutral_frame,
                       multipliers=multipliers, absolute=args.absolute)
    return targets, args.fps or reader.fps, missing, track


def _references(args) -> list:
    """The sitter's references from --reference IMG ... and --reference-video V --references N."""
    from .generator.references import load_reference, references_from_video

    references = [load_reference(path) for path in args.reference]
    if args.reference_video:
        count = VIDEO_REFERENCES if args.references is None else args.references
        references += references_from_video(args.reference_video, count)
    elif args.references is not None:
        raise PortraitError("--references N picks frames of --reference-video VIDEO: give one")
    return references


def _frame_dir(path: str | None, overwrite: bool) -> Path | None:
    if not path:
        return None
    from .media import check_frame_folder

    folder = check_frame_folder(path)
    if folder.is_dir() and any(folder.glob("frame_*.png")) and not overwrite:
        raise PortraitError(f"{folder}: already holds frames (pass --overwrite to replace them)")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cmd_animate(args) -> None:
    from contextlib import closing

    from .generator.driver import DrivingVideo
    from .generator.sequence import Scene, render_sequence
    from .media import VideoWriter, check_output, write_image
    from .sketch import draw_sketch, load_style

    if not args.driver and not args.motion:
        raise PortraitError("give a motion source: --driver VIDEO or --motion FILE.json")
    if args.driver and args.motion:
        raise PortraitError("give one motion source: --driver or --motion, not both")
    if not (args.output or args.frames_dir):
        raise PortraitError("give an output: --output OUT.mp4 and/or --frames-dir DIR")
    for flag, wanted in (("--mouth-from-driver", args.mouth_from_driver),
                         ("--detail", args.detail)):
        if wanted and not args.driver:
            raise PortraitError(f"{flag} needs --driver VIDEO (the frames it takes from)")
    if args.output:
        check_output(args.output, args.overwrite)
    if args.landmarks_out:
        check_output(args.landmarks_out, args.overwrite)
    style = load_style(args.sketch_style)
    frames_dir = _frame_dir(args.frames_dir, args.overwrite)
    sketch_dir = _frame_dir(args.sketch_dir, args.overwrite)

    image, landmarks = _load_portrait(args)
    args.image_size = (image.shape[1], image.shape[0])
    references = _references(args)
    targets, fps, missing, track = _driver_targets(args, landmarks)
    # The driver's own frames, for the layers that take real pixels from them: read here, in
    # order, and handed to whichever process renders the frame.
    driver = (DrivingVideo(args.driver, track, args.neutral_frame)
              if args.mouth_from_driver or args.detail else None)
    scene = Scene(image, landmarks, args.device, references, args.mouth_from_driver,
                  driver.frame(args.neutral_frame) if args.detail else None)

    start = time.perf_counter()
    writer = None  # opened on the first frame: a generator that cannot be built leaves nothing
    try:
        frames = render_sequence(scene, targets, driver.own_frame if driver else None,
                                 args.jobs)
        with _progress(len(targets), "rendering", args.quiet) as bar, closing(frames):
            for index, (target, frame) in enumerate(zip(targets, frames), start=1):
                if args.output and writer is None:
                    writer = VideoWriter(args.output, fps, args.image_size)
                if writer:
                    writer.write(frame)
                if frames_dir:
                    write_image(frames_dir / f"frame_{index:06d}.png", frame)
                if sketch_dir:
                    write_image(sketch_dir / f"frame_{index:06d}.png",
                                draw_sketch(target, args.image_size, style))
                bar.update(1)
    except BaseException:
        if writer:
            writer.abort()
        raise
    finally:
        if driver is not None:
            driver.close()
    if writer:
        writer.close()
    if args.landmarks_out:
        from .media import atomic_path

        with atomic_path(args.landmarks_out) as tmp:
            with open(tmp, "wb") as handle:
                np.savez_compressed(handle, portrait=landmarks, targets=targets, fps=fps)
    elapsed = time.perf_counter() - start
    summary = (f"{len(targets)} frames at {args.image_size[0]}x{args.image_size[1]}, "
               f"{len(targets) / elapsed:.1f} fps rendered"
               + (f" by {args.jobs} processes" if args.jobs > 1 else ""))
    if args.driver:
        summary += f", {missing} driver frames without a face"
    print(summary, file=sys.stderr)


def cmd_detect(args) -> None:
    from .landmarks import detect_faces, faces_to_json
    from .landmarks.detect import MIN_FACE_PX
    from .media import read_image

    image = read_image(args.portrait)
    faces = [f for f in detect_faces(image) if f.width >= MIN_FACE_PX]
    if not faces:
        raise PortraitError(f"{args.portrait}: no face found")
    size = (image.shape[1], image.shape[0])
    if args.json:
        json.dump(faces_to_json(faces, size, str(args.portrait)), sys.stdout)
        print()
        return
    print(f"{args.portrait}: {size[0]}x{size[1]}, {len(faces)} face(s)")
    for number, face in enumerate(faces):
        x0, y0, x1, y1 = face.box
        print(f"  face {number}: box {x0:.0f},{y0:.0f} - {x1:.0f},{y1:.0f} ({x1 - x0:.0f} px wide), "
              f"478 landmarks")


def cmd_sketch(args) -> None:
    from .landmarks import detect_landmarks, track_frames
    from .media import IMAGE_SUFFIXES, VideoReader, check_output, read_image, write_image
    from .sketch import draw_sketch, load_style

    style = load_style(args.style)
    if not (args.output or args.sketch_dir):
        raise PortraitError("give an output: --output FILE.png or --sketch-dir DIR")
    if Path(args.input).suffix.lower() in IMAGE_SUFFIXES:
        image = read_image(args.input)
        tracks = detect_landmarks(image, face=args.face)[None]
        size = (image.shape[1], image.shape[0])
    else:
        reader = VideoReader(args.input)
        size = (reader.width, reader.height)
        try:
            with _progress(reader.num_frames or None, "tracking", args.quiet) as bar:
                tracks, _ = track_frames(reader, reader.fps, progress=bar)
        finally:
            reader.close()
    if args.output:
        check_output(args.output, args.overwrite)
        write_image(args.output, draw_sketch(tracks[0], size, style))
    folder = _frame_dir(args.sketch_dir, args.overwrite)
    if folder:
        for index, points in enumerate(tracks, start=1):
            write_image(folder / f"frame_{index:06d}.png", draw_sketch(points, size, style))
    print(f"{len(tracks)} sketch(es) in style '{style.name}'", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m core",
                                     description="Portrait Animator engine: landmarks -> retarget -> sketch -> generator")
    sub = parser.add_subparsers(dest="command", required=True)

    animate = sub.add_parser("animate", help="animate a portrait from a driving video or a motion file")
    animate.add_argument("portrait", nargs="?",
                         help="painting or photo (default: the embedded Grace Hopper photo)")
    animate.add_argument("--driver", help="driving video (one output frame per driver frame)")
    animate.add_argument("--motion", help="rig motion JSON (presets/motions) instead of a video")
    animate.add_argument("--output", help="output video (.mp4)")
    animate.add_argument("--frames-dir", help="also write a PNG sequence here")
    animate.add_argument("--sketch-dir", help="also write the landmark sketches here")
    animate.add_argument("--sketch-style", default="paper")
    animate.add_argument("--landmarks-out", help="save portrait and target landmarks (.npz)")
    animate.add_argument("--landmarks", help="portrait landmarks JSON from 'detect --json' (skips detection)")
    animate.add_argument("--size", type=_size, help="render at WxH instead of the portrait's size")
    animate.add_argument("--device", default="cpu",
                         help="where frames are resampled: cpu (OpenCV, the default) or a torch "
                              "device such as cuda or mps (needs torch)")
    animate.add_argument("--fps", type=rate, help="output fps (default: the driver's or the motion's)")
    animate.add_argument("--face", type=nonnegative, default=0, help="which face, 0 = largest")
    animate.add_argument("--neutral-frame", type=nonnegative, default=0)
    for region in ("head", "eyes", "brows", "mouth"):
        animate.add_argument(f"--{region}", type=multiplier, default=1.0, help=f"{region} motion multiplier")
    animate.add_argument("--absolute", action="store_true",
                         help="copy the driver's landmarks (similarity-aligned) instead of its motion")
    animate.add_argument("--reference", action="append", default=[], metavar="IMG",
                         help="another picture of the sitter (repeatable): an open mouth lends "
                              "real pixels to the mouth interior, closed eyes their lids")
    animate.add_argument("--reference-video", metavar="VIDEO",
                         help="a video of the sitter to take --references N frames from")
    animate.add_argument("--references", type=whole(1, 1000), metavar="N",
                         help="how many frames of --reference-video to use (the widest mouth, "
                              "closed eyes, each head turn, then the most different; default "
                              f"{VIDEO_REFERENCES})")
    animate.add_argument("--mouth-from-driver", action="store_true",
                         help="the driver's own mouth interior, colour-matched, where it is open")
    animate.add_argument("--detail", action="store_true",
                         help="the driver's expression creases (relative to its --neutral-frame) "
                              "on the portrait's skin")
    animate.add_argument("--jobs", type=whole(1, 64), default=1, metavar="N",
                         help="render frames in N worker processes, written in order (default 1: "
                              "this process; more pays only with idle cores, each worker takes "
                              "about 1.5 s of CPU and the generator's memory to start)")
    animate.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    animate.add_argument("--quiet", action="store_true", help="no progress bars")
    animate.set_defaults(run=cmd_animate)

    detect = sub.add_parser("detect", help="face boxes and landmarks of a portrait")
    detect.add_argument("portrait")
    detect.add_argument("--json", action="store_true", help="print faces and 478 landmarks as JSON")
    detect.set_defaults(run=cmd_detect)

    sketch = sub.add_parser("sketch", help="landmark sketches of an image or a video")
    sketch.add_argument("input")
    sketch.add_argument("--output", help="sketch of the (first) face as an image")
    sketch.add_argument("--sketch-dir", help="one sketch per video frame")
    sketch.add_argument("--style", default="paper")
    sketch.add_argument("--face", type=nonnegative, default=0)
    sketch.add_argument("--overwrite", action="store_true")
    sketch.add_argument("--quiet", action="store_true")
    sketch.set_defaults(run=cmd_sketch)

    from .sources.commands import add_source_commands

    add_source_commands(sub)  # solve, mocap, lipsync, life: motion sources -> motion JSON
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except PortraitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # the file system refused: a full disk, a folder made read-only
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0
