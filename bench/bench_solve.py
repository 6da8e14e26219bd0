"""Video performance capture: how faithfully do the solved rig curves replay the tracked face?

For each shared driving clip, on the default portrait (Grace Hopper):
  1. track the clip, retarget it onto the portrait (the targets), solve every k-th frame
     (about --solved-frames per clip) into rig curves with the same pipeline as
     `python -m core solve` (smoothing included), dense and with keyframe reduction;
  2. landmark error: the rig re-evaluated from the written curves vs the targets, mean 2D
     distance in % of the portrait's inter-ocular distance (goal <= 3 %);
  3. AKD on the generator's output, on --rendered-frames of those frames: MediaPipe landmarks
     detected on the frame generated from the targets (driving the generator with the tracked
     landmarks directly) and on the frame generated from the solved landmarks, each against the
     targets, in % IOD. Equal AKDs mean the detour through the rig costs nothing visible.

    .venv/bin/python bench/bench_solve.py [--clips N] [--solved-frames N] [--rendered-frames N]
                                          [--prior W] [--out NAME]
--prior pulls the weights towards MediaPipe's own blendshape scores (solve_video's `prior`).
Prints a markdown table and writes bench/results/NAME (solve.json).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the project root holds `core`
CLIPS = sorted((ROOT.parent / "shared" / "testdata" / "driving").glob("*.mp4"))
REDUCE_TOLERANCE = 0.02  # weight units; head angles 0.25 deg (the CLI's default)


def replay(rig, motion) -> np.ndarray:
    """(K, 478, 3) landmarks px the rig shows on each frame of a motion, as Blender plays it."""
    from core.rig.motion import motion_landmarks

    return motion_landmarks(rig, motion)


def mean_error(points: np.ndarray, targets: np.ndarray, iod: float) -> float:
    """Mean 2D landmark distance in % of the inter-ocular distance."""
    return float(100.0 * np.linalg.norm(points[..., :2] - targets[..., :2], axis=-1).mean() / iod)


def akd(generator, landmarks: np.ndarray, targets: np.ndarray, iod: float) -> tuple[float, int]:
    """Mean % IOD distance of landmarks detected on generated frames to the targets, and how
    many frames had no detectable face (left out of the mean)."""
    from core.errors import PortraitError
    from core.landmarks import detect_landmarks

    errors, lost = [], 0
    for driven, target in zip(landmarks, targets):
        try:
            detected = detect_landmarks(generator.render(driven.astype(np.float32)))
        except PortraitError:
            lost += 1
            continue
        errors.append(mean_error(detected, target, iod))
    return (float(np.mean(errors)) if errors else float("nan")), lost


def bench_clip(path: Path, rig, landmarks, generator, solved_frames: int,
               rendered_frames: int, prior: float) -> dict:
    from core.landmarks import inter_ocular
    from core.media import VideoReader
    from core.sources.tracks import key_count
    from core.sources.video_solve import solve_motion, solve_video

    iod = float(inter_ocular(landmarks))
    reader = VideoReader(path)
    count = reader.num_frames
    reader.close()
    stride = max(1, int(np.ceil(count / solved_frames)))
    began = time.perf_counter()
    solve, targets, missing = solve_video(path, rig, landmarks, stride=stride, prior=prior)
    solve_seconds = time.perf_counter() - began
    targets = targets[::stride][:len(solve.weights)]

    dense = solve_motion(solve, solve.fps)
    reduced = solve_motion(solve, solve.fps, reduce=REDUCE_TOLERANCE)
    solved_landmarks = replay(rig, dense)
    per_frame = 100 * np.linalg.norm(solved_landmarks[..., :2] - targets[..., :2],
                                     axis=-1).mean(axis=1) / iod
    pick = np.linspace(0, len(targets) - 1, min(rendered_frames, len(targets))).round().astype(int)
    akd_tracked, lost_tracked = akd(generator, targets[pick], targets[pick], iod)
    akd_solved, lost_solved = akd(generator, solved_landmarks[pick], targets[pick], iod)
    return {
        "clip": path.name, "frames": int(count), "solved": len(targets), "stride": stride,
        "no_face_frames": int(missing),
        "fit_residual_pct": float(solve.residuals.mean()),
        "landmark_error_pct": float(per_frame.mean()),
        "landmark_error_p95_pct": float(np.percentile(per_frame, 95)),
        "reduced_error_pct": mean_error(replay(rig, reduced), targets, iod),
        "keys_dense": key_count(dense),
        "keys_reduced": key_count(reduced),
        "akd_tracked_pct": akd_tracked, "akd_solved_pct": akd_solved,
        "akd_frames": len(pick), "akd_lost": lost_tracked + lost_solved,
        "solve_seconds": solve_seconds,
        "seconds_per_solved_frame": solve_seconds / len(targets),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=len(CLIPS))
    parser.add_argument("--solved-frames", type=int, default=60)
    parser.add_argument("--rendered-frames", type=int, default=8)
    parser.add_argument("--prior", type=float, default=0.0)
    parser.add_argument("--out", default="solve.json")
    args = parser.parse_args()

    from core.generator import Generator
    from core.landmarks import detect_landmarks
    from core.media import default_portrait_path, read_image
    from core.rig.rig import FaceRig

    image = read_image(default_portrait_path())
    landmarks = detect_landmarks(image)
    rig = FaceRig.from_landmarks(landmarks, (image.shape[1], image.shape[0]))
    generator = Generator(image, landmarks)
    rows = []
    for path in CLIPS[:args.clips]:
        rows.append(bench_clip(path, rig, landmarks, generator, args.solved_frames,
                               args.rendered_frames, args.prior))
        print(f"{path.name}: done", file=sys.stderr)

    print(f"Video solve on the default portrait; errors in % of inter-ocular distance "
          f"(goal: landmark error <= 3 %); reduction tolerance {REDUCE_TOLERANCE} weight units / "
          f"0.25 deg; blendshape prior {args.prior:g}\n")
    print("| clip | solved / frames | landmark error | p95 | reduced error | keys dense -> reduced "
          "| AKD tracked-driven | AKD solved-driven | s / frame |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['clip']} | {row['solved']} / {row['frames']} | "
              f"{row['landmark_error_pct']:.2f} | {row['landmark_error_p95_pct']:.2f} | "
              f"{row['reduced_error_pct']:.2f} | {row['keys_dense']} -> {row['keys_reduced']} | "
              f"{row['akd_tracked_pct']:.2f} | {row['akd_solved_pct']:.2f} | "
              f"{row['seconds_per_solved_frame']:.2f} |")
    mean = {key: float(np.mean([row[key] for row in rows]))
            for key in ("landmark_error_pct", "reduced_error_pct", "akd_tracked_pct",
                        "akd_solved_pct")}
    print(f"| **mean** | | {mean['landmark_error_pct']:.2f} | | {mean['reduced_error_pct']:.2f} | "
          f"| {mean['akd_tracked_pct']:.2f} | {mean['akd_solved_pct']:.2f} | |")
    out = ROOT / "bench" / "results" / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"portrait": "grace_hopper.jpg", "goal_landmark_error_pct": 3.0,
                               "reduce_tolerance": REDUCE_TOLERANCE, "prior": args.prior, "rows": rows, "mean": mean},
                              indent=2) + "\n")


if __name__ == "__main__":
    main()
