"""`python -m core solve | mocap | lipsync | life`: each writes motion JSON (the contract format).

core.cli registers them with `add_source_commands(subparsers)`; each command's function takes
the parsed arguments (main_solve(args), ...) and raises PortraitError for bad input.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..rig.motion import Motion
from .tracks import key_count


def write_motion(motion: Motion, path: str | Path, overwrite: bool) -> None:
    """Write a motion JSON atomically (same motion -> same bytes)."""
    from ..media import check_output

    motion.save(check_output(path, overwrite))


def _summary(motion: Motion, path: str) -> str:
    return (f"{path}: {len(motion.tracks)} tracks, {key_count(motion)} keys, frames "
            f"{motion.frame_start:g}..{motion.frame_end:g} at {motion.fps:g} fps")


def _portrait_landmarks(args):
    """The portrait's landmarks (478, 3) px and its size (W, H)."""
    from ..landmarks.files import read_or_detect_landmarks
    from ..media import default_portrait_path, read_image

    image = read_image(args.portrait or default_portrait_path())
    return read_or_detect_landmarks(image, args.landmarks, args.face), (image.shape[1], image.shape[0])


def _progress_bar(quiet: bool):
    """A Progress callback drawing one tqdm bar per stage on stderr."""
    from tqdm import tqdm

    bars = {}

    def progress(stage, done, total):
        bar = bars.get(stage)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[stage] = tqdm(total=total or None, desc=stage, unit="frame",
                                     disable=quiet, leave=False, file=sys.stderr)
        bar.update(done - bar.n)

    progress.close = lambda: [bar.close() for bar in bars.values()]
    return progress


def main_solve(args) -> None:
    """Solve a driving video into rig curves for a portrait."""
    from ..media import check_output
    from ..retarget import Multipliers
    from ..rig.rig import FaceRig
    from .video_solve import solve_motion, solve_video

    check_output(args.output, args.overwrite)  # before minutes of solving, not after
    landmarks, size = _portrait_landmarks(args)
    rig = FaceRig.from_landmarks(landmarks, size)
    multipliers = Multipliers(head=args.head, eyes=args.eyes, brows=args.brows, mouth=args.mouth)
    progress = _progress_bar(args.quiet)
    try:
        solve, _, missing = solve_video(args.video, rig, landmarks, smoothing=args.smoothing,
                                        neutral_frame=args.neutral_frame,
                                        multipliers=multipliers, stride=args.every,
                                        progress=progress)
    finally:
        progress.close()
    motion = solve_motion(solve, args.fps or solve.fps * args.every, args.frame_start,
                          reduce=args.reduce, reduce_degrees=args.reduce_degrees,
                          name=Path(args.video).stem)
    write_motion(motion, args.output, args.overwrite)
    print(f"{_summary(motion, args.output)}; fit residual {solve.residuals.mean():.2f}% of the "
          f"inter-ocular distance; {missing} driver frames without a face", file=sys.stderr)


def main_mocap(args) -> None:
    """Convert a Live Link Face CSV take into a motion."""
    from .livelink import import_livelink

    motion = import_livelink(args.csv, args.fps, args.frame_start, args.swap_mouth_lr,
                             args.gaze_from_eyes)
    write_motion(motion, args.output, args.overwrite)
    print(_summary(motion, args.output), file=sys.stderr)


def main_lipsync(args) -> None:
    """Lip-sync an audio file into a motion."""
    from .lipsync import lipsync_motion

    motion = lipsync_motion(args.audio, args.fps, args.frame_start)
    write_motion(motion, args.output, args.overwrite)
    print(_summary(motion, args.output), file=sys.stderr)


def main_life(args) -> None:
    """Procedural life layers, one motion file per layer: OUTPUT_blink.json, ..."""
    from .procedural import LifeSettings, life_motions

    settings = LifeSettings(blink_rate=args.blink_rate)
    motions = life_motions(args.frame_start, args.frame_end, args.fps, args.seed,
                           layers=args.layers, settings=settings)
    from ..media import check_output

    base = Path(args.output)
    paths = {layer: base.with_name(f"{base.stem}_{layer}{base.suffix or '.json'}")
             for layer in motions}
    for path in paths.values():  # all or nothing: refuse before writing the first layer
        check_output(path, args.overwrite)
    for layer, motion in motions.items():
        write_motion(motion, paths[layer], args.overwrite)
        print(_summary(motion, str(paths[layer])), file=sys.stderr)


def _positive(text: str) -> float:
    from ..cli import finite

    value = finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return value


MAX_SMOOTHING = 100.0  # sigma in video frames: smoother than this is a still face


def add_source_commands(sub) -> None:
    """Register solve, mocap, lipsync and life on core.cli's subparsers."""
    from ..cli import finite_in, multiplier, nonnegative, rate, whole
    from ..validate import MAX_DEGREES, MAX_SCENE_FRAME

    scene_frame = whole(0, MAX_SCENE_FRAME)

    def common(parser, fps_help="scene frame rate (default 24)", default_fps=24.0):
        parser.add_argument("--output", required=True, help="motion JSON to write")
        parser.add_argument("--fps", type=rate, default=default_fps, help=fps_help)
        parser.add_argument("--frame-start", type=scene_frame, default=1, help="first scene frame (default 1)")
        parser.add_argument("--overwrite", action="store_true", help="replace an existing output")

    solve = sub.add_parser("solve", help="solve a driving video into rig curves (motion JSON)")
    solve.add_argument("video")
    solve.add_argument("--portrait", help="portrait image (default: the embedded Grace Hopper photo)")
    solve.add_argument("--landmarks", help="portrait landmarks JSON from 'detect --json'")
    solve.add_argument("--face", type=nonnegative, default=0)
    common(solve, "scene frame rate (default: the video's)", None)
    solve.add_argument("--reduce", type=finite_in(0.0, 1.0), metavar="TOL",
                       help="keep only the keys needed to stay within TOL weight units")
    solve.add_argument("--reduce-degrees", type=finite_in(0.0, MAX_DEGREES), default=0.25,
                       metavar="DEG",
                       help="tolerance of the head angles when reducing (default 0.25)")
    solve.add_argument("--smoothing", type=finite_in(0.0, MAX_SMOOTHING), default=1.0,
                       help="Gaussian smoothing of the curves, sigma in video frames (0 = off)")
    solve.add_argument("--every", type=whole(1, 1000), default=1, metavar="N",
                       help="solve every N-th video frame and interpolate (faster)")
    solve.add_argument("--neutral-frame", type=nonnegative, default=0)
    for region in ("head", "eyes", "brows", "mouth"):
        solve.add_argument(f"--{region}", type=multiplier, default=1.0, help=f"{region} motion multiplier")
    solve.add_argument("--quiet", action="store_true", help="no progress bars")
    solve.set_defaults(run=main_solve)

    mocap = sub.add_parser("mocap", help="Live Link Face CSV -> motion JSON")
    mocap.add_argument("csv")
    common(mocap)
    mocap.add_argument("--swap-mouth-lr", action="store_true",
                       help="swap mouthLeft/mouthRight (some app versions mirror them)")
    mocap.add_argument("--gaze-from-eyes", action="store_true",
                       help="key eyeLook* from the eye rotation columns")
    mocap.set_defaults(run=main_mocap)

    lipsync = sub.add_parser("lipsync", help="audio (WAV/FLAC/MP3) -> lip-sync motion JSON")
    lipsync.add_argument("audio")
    common(lipsync)
    lipsync.set_defaults(run=main_lipsync)

    from .procedural import LAYERS

    life = sub.add_parser("life", help="procedural blinks, breathing, saccades, sway")
    common(life)
    life.add_argument("--frame-end", type=scene_frame, required=True)
    life.add_argument("--seed", type=nonnegative, default=0)
    life.add_argument("--blink-rate", type=_positive, default=17.0, help="blinks per minute")
    life.add_argument("--layers", nargs="+", choices=LAYERS, default=list(LAYERS))
    life.set_defaults(run=main_life)
