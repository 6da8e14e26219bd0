"""Self-reenactment quality of the generator against the baselines, on the shared driving clips.

Frame 0 of each clip is the portrait; each frame is re-rendered from the portrait and compared
with the real frame in the face region (the real frame's landmark box grown 10%): keypoint distance AKD (landmarks
re-detected on both, mean distance in % of the inter-ocular distance), L1 (0..255), PSNR, and
the 95th percentile of the per-frame L1. Goal per clip: L1 and p95 L1 below the best baseline's,
AKD at most the best baseline's + 0.5.

The project is driven by its own track (`track_frames`, smoothing included) and measured on
its PNG output as written and read back; the baselines are driven by the landmarks detected on
each frame as a still image, the same landmarks AKD is measured against, so that tracking
defects show.

    .venv/bin/python bench/bench_quality.py [--frames 24] [--clips lp_d3 ...]

Prints a markdown table, writes bench/results/quality.json and one side-by-side PNG per clip
(portrait | TPS | ours | real) at the frame where the head turns most.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.errors import PortraitError  # noqa: E402
from core.generator import Generator  # noqa: E402
from core.generator.baselines import BASELINES  # noqa: E402
from core.landmarks import detect_landmarks, inter_ocular, track_frames  # noqa: E402
from core.media import read_image, read_video, write_image  # noqa: E402
from core.retarget import head_pose  # noqa: E402
from core.retarget.pose import rotation_angle  # noqa: E402

TESTDATA = ROOT.parent / "shared" / "testdata"
RESULTS = ROOT / "bench" / "results"
METHODS = ["ours", *BASELINES]
FACE_GROW = 0.10
AKD_SLACK = 0.5


def face_region(landmarks: np.ndarray, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """Rows and columns of the landmarks' bounding box grown by FACE_GROW, inside the image."""
    return grown_box(landmarks, FACE_GROW, shape)


def grown_box(points: np.ndarray, grow: float, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """Rows and columns of the bounding box of points (N, 2+) grown by `grow` of its size,
    inside an image of `shape`."""
    low, high = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    pad = (high - low) * grow / 2
    x0, y0 = np.maximum(np.floor(low - pad).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(high + pad).astype(int), [shape[1], shape[0]])
    return slice(y0, y1), slice(x0, x1)


def l1(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def head_turn(source: np.ndarray, target: np.ndarray) -> float:
    """Angle (degrees) of the fitted 3D head rotation from source to target landmarks."""
    rotation = head_pose(target, source).rotation
    return float(np.degrees(rotation_angle(rotation)))


def through_png(image: np.ndarray, folder: Path) -> np.ndarray:
    """The frame as the project's PNG output holds it: written, then read back."""
    path = folder / "frame.png"
    write_image(path, image)
    return read_image(path)


def renderers(portrait: np.ndarray, track: np.ndarray, detected: np.ndarray) -> dict:
    """name -> render(frame index): the project from its track, the baselines from the
    per-frame detections; each from frame 0 as the portrait."""
    generator = Generator(portrait, track[0])
    methods = {"ours": lambda t: generator.render(track[t])}
    for name, baseline in BASELINES.items():
        methods[name] = lambda t, baseline=baseline: baseline(portrait, detected[0], detected[t])
    return methods


def evaluate_clip(path: Path, count: int, folder: Path) -> dict:
    frames, fps = read_video(path)
    track, missing = track_frames(frames, fps)
    detected, _ = track_frames(frames, fps, smooth=False)
    portrait, source = frames[0], detected[0]
    chosen = np.unique(np.linspace(1, len(frames) - 1, min(count, len(frames) - 1)).round()
                       .astype(int))
    methods = renderers(portrait, track, detected)
    per_frame = {name: {"l1": [], "psnr": [], "akd": [], "akd_failed": 0} for name in methods}
    turns = {int(t): head_turn(source, detected[t]) for t in chosen}
    showcase = max(turns, key=turns.get)
    seconds = {name: 0.0 for name in methods}
    for t in chosen:
        real = frames[t]
        try:
            real_landmarks = detect_landmarks(real)
        except PortraitError:  # no face re-detected on the real frame: no AKD reference
            real_landmarks = None
        rows, cols = face_region(real_landmarks if real_landmarks is not None else detected[t],
                                 real.shape)
        for name, render in methods.items():
            start = time.perf_counter()
            output = render(t)
            seconds[name] += time.perf_counter() - start
            if name == "ours":
                output = through_png(output, folder)
            scores = per_frame[name]
            scores["l1"].append(l1(output[rows, cols], real[rows, cols]))
            scores["psnr"].append(psnr(output[rows, cols], real[rows, cols]))
            if real_landmarks is not None:
                try:
                    found = detect_landmarks(output)
                except PortraitError:
                    scores["akd_failed"] += 1
                    continue
                distance = np.linalg.norm(found[:, :2] - real_landmarks[:, :2], axis=1).mean()
                scores["akd"].append(100 * distance / inter_ocular(real_landmarks))
            if t == showcase and name in ("ours", "tps"):
                scores["showcase"] = output
    panel = np.concatenate([portrait, per_frame["tps"].pop("showcase"),
                            per_frame["ours"].pop("showcase"), frames[showcase]], axis=1)
    write_image(RESULTS / f"quality_{path.stem}.png", panel)

    summary = {}
    for name, scores in per_frame.items():
        summary[name] = {
            "l1": float(np.mean(scores["l1"])),
            "l1_p95": float(np.percentile(scores["l1"], 95)),
            "psnr": float(np.mean(scores["psnr"])),
            "akd": float(np.mean(scores["akd"])) if scores["akd"] else None,
            "akd_failed": scores["akd_failed"],
            "ms_per_frame": 1000 * seconds[name] / len(chosen),
        }
    baselines = [summary[name] for name in BASELINES]
    best_l1 = min(b["l1"] for b in baselines)
    best_p95 = min(b["l1_p95"] for b in baselines)
    best_akd = min(b["akd"] for b in baselines if b["akd"] is not None)
    ours = summary["ours"]
    goals = {"l1": ours["l1"] < best_l1, "l1_p95": ours["l1_p95"] < best_p95,
             "akd": ours["akd"] is not None and ours["akd"] <= best_akd + AKD_SLACK}
    return {"frames": [int(t) for t in chosen], "tracking_missing": missing,
            "showcase_frame": int(showcase), "showcase_turn_deg": turns[showcase],
            "methods": summary, "goals": goals, "meets_goals": all(goals.values())}


def markdown(results: dict) -> str:
    lines = ["| clip | method | AKD % IOD | L1 | p95 L1 | PSNR dB | ms/frame |",
             "|---|---|---|---|---|---|---|"]
    for clip, result in results.items():
        for name, m in result["methods"].items():
            akd = "n/a" if m["akd"] is None else f"{m['akd']:.2f}"
            if m["akd_failed"]:
                akd += f" ({m['akd_failed']} undetected)"
            lines.append(f"| {clip} | {name} | {akd} | {m['l1']:.2f} | {m['l1_p95']:.2f} | "
                         f"{m['psnr']:.2f} | {m['ms_per_frame']:.0f} |")
        verdict = "yes" if result["meets_goals"] else \
            "no (" + ", ".join(k for k, ok in result["goals"].items() if not ok) + ")"
        lines.append(f"| {clip} | **goals met** | {verdict} | | | | |")
    return "\n".join(lines)


def driving_clips(prefixes: list[str] | None = None) -> list[Path]:
    """The shared driving clips in name order; with prefixes, those whose name starts with one
    (the benches' --clips)."""
    clips = sorted((TESTDATA / "driving").glob("*.mp4"))
    return [c for c in clips if not prefixes or any(c.stem.startswith(p) for p in prefixes)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24,
                        help="frames per clip, evenly spaced (default 24)")
    parser.add_argument("--clips", nargs="*", default=None,
                        help="clip name prefixes (default: every clip)")
    args = parser.parse_args()
    clips = driving_clips(args.clips)
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for clip in clips:
            results[clip.stem] = evaluate_clip(clip, args.frames, Path(folder))
            print(f"{clip.stem}: done", file=sys.stderr)
    print(markdown(results))
    report = {"frames_per_clip": args.frames, "clips": results,
              "all_goals_met": all(r["meets_goals"] for r in results.values())}
    (RESULTS / "quality.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
