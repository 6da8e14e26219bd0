"""Generator speed and memory at 512, 1024, 2048 and 4096 px, beside a bare cv2.remap.

A real portrait is cropped square around its face (the face about 40% of the side) and resized
to each size; the targets are a real head motion (the first second of a shared driving clip,
transferred onto the portrait) with the mouth opening. Each size runs in its own process, so
its peak resident memory (ru_maxrss) is the generator's own. In the same process and in the
same loop, a bare uint8 cv2.remap of the whole image (bilinear, two threads, a float map) is
timed, in interleaved rounds, each writing into a frame it reuses (as a sequence render does:
a new frame over 32 MB is fresh memory every time, see Generator.render's out): the ratio (the
median of the rounds' ratios) is what the generator costs beyond the one resampling it cannot
avoid. The same remap of a four-channel
image (the layout the CPU resampler samples: OpenCV vectorizes it) is timed beside it, and the
ratio to it is stated too. On a machine other jobs keep busy the bare remap's second thread
waits for a core and both ratios swing from round to round, so each size is timed once more on
one thread in CPU time (ours and the bare three-channel remap, interleaved): that ratio the
load barely moves, and it is what the generator costs on a single core. --device picks the
resampler (cpu = OpenCV; torch-cpu, cuda, ... = torch).

At 512, 1024 and 2048 px on the CPU, a sequence render (`animate --jobs N`'s
core.generator.sequence) of the frames cycled is timed with 1 and 2 processes, frames taken in
order and dropped, beside the bare remap timed again after each: its fps with the workers'
start-up and from its first frame on (steady), and the bare remap's fps over the steady fps.

On a shared virtual machine the whole run's speed drifts by tens of percent from minute to
minute (the bare remap's too), more than the rounds inside a run can even out: --runs repeats
the sizes that many times, and the table gives each figure's median over the runs with its
range; the JSON keeps every run.

    .venv/bin/python bench/bench_speed.py [--sizes 512 1024 2048 4096] [--frames 70]
                                          [--runs 3] [--device cpu]

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
ROUNDS = 7           # interleaved timing rounds of ours and the bare remap
GOALS = {512: 300.0, 4096: 12.0}  # fps
MAX_RATIO = 1.5      # at 1024 px and above
MAX_PEAK_MB_4096 = 1.5 * 1024
SEQUENCE_JOBS = (1, 2)  # processes rendering a sequence (python -m core animate --jobs)
SEQUENCE_FRAMES = {512: 600, 1024: 240, 2048: 90}  # frames: about 3 s of rendering each


def time_per_frame(render: Callable[[object], object], inputs: Sequence, repeats: int,
                   warmup: int = 3, clock: Callable[[], float] = time.perf_counter) -> float:
    """Median milliseconds of render(input), cycling through inputs `repeats` times, by clock
    (wall clock, or time.process_time for CPU time)."""
    for item in inputs[:warmup]:
        render(item)
    times = []
    for k in range(repeats):
        item = inputs[k % len(inputs)]
        start = clock()
        render(item)
        times.append(clock() - start)
    return 1000.0 * float(np.median(times))


def square_portrait(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The portrait cropped square around the face, resized to size; its landmarks (478, 3)."""
    from core.landmarks import detect_landmarks
    from core.media import read_image, resize_image

    image = read_image(PORTRAIT)
    landmarks = detect_landmarks(image)
    face_width = float(np.ptp(landmarks[:, 0]))
    side = min(int(face_width / FACE_SHARE), *image.shape[:2])
    centre = landmarks[:, :2].mean(axis=0)
    x0 = int(np.clip(centre[0] - side / 2, 0, image.shape[1] - side))
    y0 = int(np.clip(centre[1] - side / 2, 0, image.shape[0] - side))
    resized = resize_image(np.ascontiguousarray(image[y0:y0 + side, x0:x0 + side]), (size, size))
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


def bare_remap(size: int, channels: int = 3):
    """A render-like callable: one bilinear uint8 cv2.remap of a (size, size, channels) image
    (4: the layout the CPU resampler samples, which OpenCV vectorizes)."""
    import cv2

    image = np.random.default_rng(0).integers(0, 256, (size, size, channels), dtype=np.uint8)
    ramp = np.arange(size, dtype=np.float32)
    grid = np.stack(np.meshgrid(ramp, ramp), axis=-1)
    grid += 2.0 * np.sin(grid / 40.0)  # a smooth, near-identity warp like the real one
    frame = np.empty_like(image)

    def run(_):
        return cv2.remap(image, grid, None, cv2.INTER_LINEAR, dst=frame,
                         borderMode=cv2.BORDER_REPLICATE)
    return run


def sequence_throughput(scene, targets: np.ndarray, jobs: int) -> tuple[float, float]:
    """Frames per second of a sequence render (core.generator.sequence) of targets with `jobs`
    processes: over the whole render (starting the workers included) and from its first frame
    on (the steady rate a long render approaches)."""
    from core.generator.sequence import render_sequence

    start = time.perf_counter()
    first = None
    for _ in render_sequence(scene, targets, jobs=jobs):
        first = first or time.perf_counter()
    end = time.perf_counter()
    return len(targets) / (end - start), (len(targets) - 1) / (end - first)


def worker(size: int, frames: int, data: Path, device: str) -> dict:
    """Time one size in this process: generator and bare remap, interleaved."""
    from core.generator import Generator

    saved = np.load(data)
    scale = size / int(saved["size"])
    portrait, landmarks = square_portrait(size)
    targets = saved["targets"] * np.float32(scale)
    generator = Generator(portrait, landmarks, device=device)
    frame = np.empty_like(portrait)

    def render(target):
        return generator.render(target, out=frame)

    remap, remap_rgba = bare_remap(size), bare_remap(size, 4)
    ours, bare, bare_rgba = [], [], []
    per_round = max(frames // ROUNDS, 1)
    for round_ in range(ROUNDS):  # interleaved rounds: both see the same machine load
        start = round_ * per_round % len(targets)  # the rounds go on through the motion
        ours.append(time_per_frame(render, list(np.roll(targets, -start, axis=0)),
                                   per_round))
        bare.append(time_per_frame(remap, [None], per_round))
        bare_rgba.append(time_per_frame(remap_rgba, [None], per_round))
    ratios = np.array(ours) / np.array(bare)  # per round: the load changes between rounds
    ms, bare_ms = float(np.median(ours)), float(np.median(bare))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # the generator's
    sequence = {}
    if device == "cpu" and size in SEQUENCE_FRAMES:
        from core.generator.sequence import Scene

        scene = Scene(portrait, landmarks, device)
        count = SEQUENCE_FRAMES[size]
        sequence_targets = np.resize(targets, (count, *targets.shape[1:]))
        remap_after = []
        for jobs in SEQUENCE_JOBS:
            whole, steady = sequence_throughput(scene, sequence_targets, jobs)
            remap_after.append(time_per_frame(remap, [None], per_round))
            sequence[str(jobs)] = {"frames": count, "fps": whole, "steady_fps": steady}
        remap_fps = 1000.0 / float(np.median(remap_after + [bare_ms]))
        for row in sequence.values():
            row["bare_remap_fps"] = remap_fps
            row["ratio"] = remap_fps / row["steady_fps"]
    cpu_ratios = []
    if device == "cpu":
        import cv2

        cv2.setNumThreads(1)
        for round_ in range(ROUNDS):
            start = round_ * per_round % len(targets)
            inputs = list(np.roll(targets, -start, axis=0))
            cpu_ratios.append(time_per_frame(render, inputs, per_round,
                                             clock=time.process_time)
                              / time_per_frame(remap, [None], per_round,
                                               clock=time.process_time))
    return {"size": size, "device": device, "ms_per_frame": ms, "fps": 1000.0 / ms,
            "remap_ms": bare_ms, "remap_rgba_ms": float(np.median(bare_rgba)),
            "ratio": float(np.median(ratios)),
            "ratio_rgba": float(np.median(np.array(ours) / np.array(bare_rgba))),
            "ratio_range": [float(ratios.min()), float(ratios.max())],
            "cpu_ratio_one_thread": float(np.median(cpu_ratios)) if cpu_ratios else None,
            "sequence": sequence,
            "peak_rss_mb": peak_mb}


def machine() -> str:
    """The CPU's architecture, model name, core count and memory, for the record."""
    import os
    import platform

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    return f"{platform.machine()} {model}, {os.cpu_count()} cores, {memory:.0f} GB"


def median_row(rows: list[dict]) -> dict:
    """One size's runs (dicts as worker returns) summed up: each figure's median over the runs,
    and in "spread" the (lowest, highest) of the figures the table shows; the ratio's range by
    round spans all runs' rounds."""
    numbers = [key for key, value in rows[0].items()
               if isinstance(value, (int, float))]
    row = {key: float(np.median([r[key] for r in rows])) for key in numbers}
    row.update(size=rows[0]["size"], device=rows[0]["device"],
               ratio_range=[min(r["ratio_range"][0] for r in rows),
                            max(r["ratio_range"][1] for r in rows)],
               spread={key: [min(r[key] for r in rows), max(r[key] for r in rows)]
                       for key in numbers},
               sequence={jobs: {key: float(np.median([r["sequence"][jobs][key] for r in rows]))
                                for key in sequence}
                         for jobs, sequence in rows[0]["sequence"].items()})
    if rows[0]["cpu_ratio_one_thread"] is None:
        row["cpu_ratio_one_thread"] = None
    return row


def markdown(rows: list[dict], runs: int) -> str:
    """The table of median rows (see median_row), each figure with its range over the runs."""
    def cell(r: dict, key: str, digits: int) -> str:
        low, high = r["spread"].get(key, (None, None))
        value = f"{r[key]:.{digits}f}"
        return value if runs == 1 or low is None else \
            f"{value} ({low:.{digits}f}-{high:.{digits}f})"

    lines = [f"Median of {runs} run(s), (lowest-highest) over them:", "",
             "| size | ms/frame | fps | bare remap ms | ratio | ratio by round "
             "| bare RGBA remap ms | ratio to it | CPU ratio, one thread | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        low, high = r["ratio_range"]
        cpu = "-" if r["cpu_ratio_one_thread"] is None else cell(r, "cpu_ratio_one_thread", 2)
        lines.append(f"| {r['size']} | {cell(r, 'ms_per_frame', 1)} | {cell(r, 'fps', 1)} | "
                     f"{r['remap_ms']:.1f} | {cell(r, 'ratio', 2)} | {low:.2f}-{high:.2f} | "
                     f"{r['remap_rgba_ms']:.1f} | {r['ratio_rgba']:.2f} | {cpu} | "
                     f"{r['peak_rss_mb']:.0f} |")
    sequences = [r for r in rows if r.get("sequence")]
    if sequences:
        lines += ["", "Sequence render (frames in order, core.generator.sequence), medians:", "",
                  "| size | frames | jobs | fps (with start-up) | steady fps | bare remap fps "
                  "| bare remap fps / steady fps |", "|---|---|---|---|---|---|---|"]
        for r in sequences:
            for jobs, s in r["sequence"].items():
                lines.append(f"| {r['size']} | {s['frames']:.0f} | {jobs} | {s['fps']:.1f} | "
                             f"{s['steady_fps']:.1f} | {s['bare_remap_fps']:.1f} | "
                             f"{s['ratio']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[512, 1024, 2048, 4096])
    parser.add_argument("--frames", type=int, default=70, help="timed frames per size")
    parser.add_argument("--runs", type=int, default=3, help="times the sizes are run; "
                        "the table gives medians")
    parser.add_argument("--device", default="cpu", help="the resampler: cpu (OpenCV) or a "
                        "torch device (torch-cpu, cuda, ...)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.frames, args.data, args.device)))
        return

    reference = 512
    _, landmarks = square_portrait(reference)
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "targets.npz"
        np.savez(data, targets=motion_targets(landmarks), size=reference)
        for run in range(args.runs):
            rows = []
            for size in args.sizes:
                done = subprocess.run([sys.executable, __file__, "--worker", str(size),
                                       "--frames", str(args.frames), "--data", str(data),
                                       "--device", args.device],
                                      capture_output=True, text=True, check=True)
                rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(f"run {run + 1}, {size}: done", file=sys.stderr)
            runs.append(rows)
    rows = [median_row(list(of_size)) for of_size in zip(*runs)]
    print(markdown(rows, args.runs))
    goals = {}
    for r in rows:
        goal = {"ratio": r["ratio"] <= MAX_RATIO} if r["size"] >= 1024 else {}
        if r["size"] in GOALS:
            goal["fps"] = r["fps"] >= GOALS[r["size"]]
        if r["size"] == 4096:
            goal["peak_memory"] = r["peak_rss_mb"] <= MAX_PEAK_MB_4096
        goals[str(r["size"])] = goal
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "speed.json" if args.device == "cpu" else f"speed_{args.device}.json"
    (RESULTS / name).write_text(json.dumps(
        {"machine": machine(), "portrait": PORTRAIT.name, "driving": DRIVING.name,
         "face_share": FACE_SHARE,
         "runs": runs, "rows": rows, "goals": goals}, indent=2))


if __name__ == "__main__":
    main()
