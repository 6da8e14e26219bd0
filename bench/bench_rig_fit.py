"""How well the face rig's blendshapes explain real faces: fit residuals on the driving clips.

For each clip in ../shared/testdata/driving/: track the landmarks (core.landmarks.track_frames),
build a FaceRig from frame 0 (a neutral frontal face), fit every k-th frame with the full rig
(52 weights + head pose) and with the head pose alone (weights = 0), and report the mean 2D
landmark error in % of the inter-ocular distance, overall and for the mouth, eyes and brows.

    .venv/bin/python bench/bench_rig_fit.py [--step 3] [--clips NAME ...]

Prints a markdown table and writes bench/results/rig_fit.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.landmarks import track_frames  # noqa: E402
from core.landmarks.topology import LEFT_EYE_CONTOUR, PARTS, RIGHT_EYE_CONTOUR  # noqa: E402
from core.media import read_video  # noqa: E402
from core.rig import FaceRig, fit_sequence  # noqa: E402
from core.rig.basis import LIPS, LEFT_IRIS_POINTS, RIGHT_IRIS_POINTS  # noqa: E402
from core.rig.fit import rig_iod  # noqa: E402

DRIVING = ROOT.parent / "shared" / "testdata" / "driving"
REGIONS = {
    "mouth": sorted(set(LIPS)),
    "eyes": sorted(set(RIGHT_EYE_CONTOUR + LEFT_EYE_CONTOUR + RIGHT_IRIS_POINTS + LEFT_IRIS_POINTS)),
    "brows": sorted({i for line in PARTS["right_brow"] + PARTS["left_brow"] for i in line}),
}
TARGET = 3.0  # % IOD: the bound the video solve needs


def region_errors(rig: FaceRig, weights, heads, translations, targets) -> dict[str, float]:
    """Mean 2D error (% IOD) of the fitted rig against the targets, overall and per region."""
    fitted = rig.evaluate_batch(weights, heads, translations)
    iod_px = rig_iod(rig) * max(rig.image_size) / 2
    errors = np.linalg.norm((fitted - targets)[..., :2], axis=-1) / iod_px * 100  # (T, 478)
    out = {"mean": float(errors.mean()), "p95_frame": float(np.percentile(errors.mean(axis=1), 95))}
    out.update({name: float(errors[:, idx].mean()) for name, idx in REGIONS.items()})
    return out


def bench_clip(path: Path, step: int) -> dict:
    frames, fps = read_video(path)
    track, missing = track_frames(frames, fps)
    height, width = frames.shape[1:3]
    rig = FaceRig.from_landmarks(track[0], (width, height))
    targets = track[::step].astype(np.float64)
    row = {"clip": path.stem, "frames": len(targets), "missing": missing}
    for name, pose_only in (("rig", False), ("pose_only", True)):
        started = time.perf_counter()
        weights, heads, translations, _ = fit_sequence(rig, targets, pose_only=pose_only)
        row[f"{name}_ms_per_frame"] = 1000 * (time.perf_counter() - started) / len(targets)
        row[name] = region_errors(rig, weights, heads, translations, targets)
        if not pose_only:
            active = (weights > 0.05).mean(axis=0)
            row["most_used"] = [rig.names[k] for k in np.argsort(-active)[:5]]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, default=3, help="fit every k-th frame")
    parser.add_argument("--clips", nargs="*", help="clip names (default: all)")
    args = parser.parse_args()
    clips = sorted(DRIVING.glob("*.mp4"))
    if args.clips:
        clips = [c for c in clips if c.stem in args.clips]
    rows = [bench_clip(path, args.step) for path in clips]

    print("| clip | frames | rig mean | mouth | eyes | brows | p95 frame | pose-only mean | mouth | eyes | brows | fit ms/frame |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        a, b = r["rig"], r["pose_only"]
        print(f"| {r['clip']} | {r['frames']} | {a['mean']:.2f} | {a['mouth']:.2f} | {a['eyes']:.2f} | "
              f"{a['brows']:.2f} | {a['p95_frame']:.2f} | {b['mean']:.2f} | {b['mouth']:.2f} | "
              f"{b['eyes']:.2f} | {b['brows']:.2f} | {r['rig_ms_per_frame']:.1f} |")
    overall = {key: float(np.mean([r[key]["mean"] for r in rows])) for key in ("rig", "pose_only")}
    print(f"\nmean over clips (% of inter-ocular distance): rig {overall['rig']:.2f}, "
          f"pose only {overall['pose_only']:.2f}, target <= {TARGET:.1f}")
    out = ROOT / "bench" / "results" / "rig_fit.json"
    out.write_text(json.dumps({"step": args.step, "units": "% of inter-ocular distance (2D)",
                               "target": TARGET, "overall": overall, "clips": rows}, indent=1) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
