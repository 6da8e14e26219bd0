"""Generator speed and memory at 512, 1024, 2048 and 4096 px, beside a bare grid_sample.

A real portrait is cropped square around its face (the face about 40% of the side) and resized
to each size; the targets are a real head motion (the first second of a shared driving clip,
transferred onto the portrait) with the mouth opening. Each size runs in its own process, so
its peak resident memory (ru_maxrss) is the generator's own. In the same process and in the
same loop, a bare torch grid_sample of the same size is timed, in interleaved rounds: the ratio
(the median of the rounds' ratios) is what the generator costs beyond the one resampling it
cannot avoid.

    .venv/bin/python bench/bench_speed.py [--sizes 512 1024 2048 4096] [--frames 70]

Prints a markdown table and writes bench/results/speed.json. `time_per_frame` is the timing
loop, for other stages' benchmarks (e.g. end-to-end animate).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TESTDATA = ROOT.parent / "shared" / "testdata"
RESULTS = ROOT / "bench" / "results"
PORTRAIT = TESTDATA / "portraits" / "photo_obama_official_portrait.jpg"
DRIVING = TESTDATA / "driving" / "lp_d3_woman_talking.mp4"
FACE_SHARE = 0.4     # face width / image side
MOTION_FRAMES = 30   # driving frames used as targets
ROUNDS = 7           # interleaved timing rounds of ours and the bare grid_sample
GOALS = {512: 60.0, 1024: 25.0}  # fps
MAX_RATIO = 3.0
MAX_PEAK_MB_4096 = 3 * 1024


def time_per_frame(render: Callable[[object], object], inputs: Sequence, repeats: int,
                   warmup: int = 3) -> float:
    """Median milliseconds of render(input), cycling through inputs `repeats` times."""
    for item in inputs[:warmup]:
        render(item)
    times = []
    for k in range(repeats):
        item = inputs[k % len(inputs)]
        start = time.perf_counter()
        render(item)
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def square_portrait(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The portrait cropped square around the face, resized to size; its landmarks (478, 3)."""
    import torch
    import torch.nn.functional as F

    from core.landmarks import detect_landmarks
    from core.media import read_image

    image = read_image(PORTRAIT)
    landmarks = detect_landmarks(image)
    face_width = float(np.ptp(landmarks[:, 0]))
    side = min(int(face_width / FACE_SHARE), *image.shape[:2])
    centre = landmarks[:, :2].mean(axis=0)
    x0 = int(np.clip(centre[0] - side / 2, 0, image.shape[1] - side))
    y0 = int(np.clip(centre[1] - side / 2, 0, image.shape[0] - side))
    crop = torch.from_numpy(np.ascontiguousarray(image[y0:y0 + side, x0:x0 + side]))
    resized = F.interpolate(crop.permute(2, 0, 1)[None].float(), size=(size, size),
                            mode="bilinear", align_corners=False, antialias=size < side)
    resized = resized[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()
    scale = size / side
    moved = (landmarks - np.array([x0, y0, 0], np.float32)) * np.float32(scale)
    return resized, moved


def motion_targets(portrait_landmarks: np.ndarray) -> np.ndarray:
    """(MOTION_FRAMES, 478, 3): a real head motion transferred onto the portrait, mouth open."""
    from core.retarget import fit_similarity
    from core.landmarks import inter_ocular, track_frames
    from core.landmarks.topology import INNER_LIP_LOWER, OUTER_LIP_LOWER
    from core.media import VideoReader

    reader = VideoReader(DRIVING)
    frames = [frame for _, frame in zip(range(MOTION_FRAMES), reader)]
    reader.close()
    track, _ = track_frames(frames, reader.fps)
    # Driver frame 0 -> portrait: a similarity in 3D, then each frame's change carried over.
    to_portrait = fit_similarity(track[0], portrait_landmarks)
    driven = to_portrait.apply(track.reshape(-1, 3)).reshape(track.shape)
    targets = portrait_landmarks[None] + (driven - driven[:1])
    lower_lip = sorted(set(INNER_LIP_LOWER[1:-1] + OUTER_LIP_LOWER[1:-1]) | {152, 148, 377})
    opening = 0.35 * inter_ocular(portrait_landmarks) * np.sin(
        np.linspace(0, np.pi, MOTION_FRAMES)) ** 2
    targets[:, lower_lip, 1] += opening[:, None]
    return targets.astype(np.float32)


def bare_grid_sample(size: int):
    """A render-like callable: one bilinear grid_sample of a (1, 3, size, size) image."""
    import torch
    import torch.nn.functional as F

    image = torch.rand(1, 3, size, size) * 255
    ramp = torch.linspace(-1, 1, size)
    grid = torch.stack(torch.meshgrid(ramp, ramp, indexing="xy"), dim=-1)[None]
    grid = grid + 0.01 * torch.sin(grid * 6)  # a smooth, near-identity warp like the real one

    def run(_):
        with torch.inference_mode():
            return F.grid_sample(image, grid, mode="bilinear", padding_mode="border",
                                 align_corners=True)
    return run


def worker(size: int, frames: int, data: Path) -> dict:
    """Time one size in this process: generator and bare grid_sample, interleaved."""
    from core.generator import Generator

    saved = np.load(data)
    scale = size / int(saved["size"])
    portrait, landmarks = square_portrait(size)
    targets = saved["targets"] * np.float32(scale)
    generator = Generator(portrait, landmarks)
    grid_sample = bare_grid_sample(size)
    ours, bare = [], []
    per_round = max(frames // ROUNDS, 1)
    for round_ in range(ROUNDS):  # interleaved rounds: both see the same machine load
        start = round_ * per_round % len(targets)  # the rounds go on through the motion
        ours.append(time_per_frame(generator.render, list(np.roll(targets, -start, axis=0)),
                                   per_round))
        bare.append(time_per_frame(grid_sample, [None], per_round))
    ratios = np.array(ours) / np.array(bare)  # per round: the load changes between rounds
    ms, bare_ms = float(np.median(ours)), float(np.median(bare))
    return {"size": size, "ms_per_frame": ms, "fps": 1000.0 / ms, "grid_sample_ms": bare_ms,
            "ratio": float(np.median(ratios)),
            "ratio_range": [float(ratios.min()), float(ratios.max())],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


def markdown(rows: list[dict]) -> str:
    lines = ["| size | ms/frame | fps | bare grid_sample ms | ratio | ratio by round | peak RSS MB |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        low, high = r["ratio_range"]
        lines.append(f"| {r['size']} | {r['ms_per_frame']:.1f} | {r['fps']:.1f} | "
                     f"{r['grid_sample_ms']:.1f} | {r['ratio']:.2f} | {low:.2f}-{high:.2f} | "
                     f"{r['peak_rss_mb']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[512, 1024, 2048, 4096])
    parser.add_argument("--frames", type=int, default=70, help="timed frames per size")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.frames, args.data)))
        return

    reference = 512
    _, landmarks = square_portrait(reference)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "targets.npz"
        np.savez(data, targets=motion_targets(landmarks), size=reference)
        for size in args.sizes:
            done = subprocess.run([sys.executable, __file__, "--worker", str(size),
                                   "--frames", str(args.frames), "--data", str(data)],
                                  capture_output=True, text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"{size}: done", file=sys.stderr)
    print(markdown(rows))
    goals = {}
    for r in rows:
        goal = {"ratio": r["ratio"] <= MAX_RATIO}
        if r["size"] in GOALS:
            goal["fps"] = r["fps"] >= GOALS[r["size"]]
        if r["size"] == 4096:
            goal["peak_memory"] = r["peak_rss_mb"] <= MAX_PEAK_MB_4096
        goals[str(r["size"])] = goal
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "speed.json").write_text(json.dumps(
        {"portrait": PORTRAIT.name, "driving": DRIVING.name, "face_share": FACE_SHARE,
         "rows": rows, "goals": goals}, indent=2))


if __name__ == "__main__":
    main()
