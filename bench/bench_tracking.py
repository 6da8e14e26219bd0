"""Tracking: how far the smoothed track is from per-frame detection, and how much jitter it keeps.

For each shared driving clip:
  - the reference: MediaPipe's landmarks detected on every frame as a still image, the same
    landmarks the quality bench's AKD is measured against. Raw tracking is exactly this.
  - its noise: every frame detected again half a pixel over (the same picture, sampled
    differently); the median point distance between the two, over sqrt(2), in % IOD.
  - the project's track: `track_frames` as `animate` and the video solve run it.
  - error: per frame, the mean 2D point distance to the reference in % of the inter-ocular
    distance (IOD); mean and 95th percentile over frames.
  - jitter: the mean length of the second difference of each point (% IOD per frame) at the
    points and frames where the point is still (its speed, Gaussian-smoothed over 2 frames, is
    below 0.3 % IOD per frame), for the track and for raw tracking.
  - the neutral frame (frame 0): how far the track moved it (must be 0).
Goal per clip: error within 0.3 % IOD of raw tracking's (which is 0), jitter below raw's, the
neutral frame never moved.

    .venv/bin/python bench/bench_tracking.py [--clips lp_d3 ...]
Prints a markdown table and writes bench/results/tracking.json.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_quality import driving_clips  # noqa: E402
from core.landmarks import inter_ocular  # noqa: E402
from core.landmarks.detect import FaceLandmarker  # noqa: E402
from core.landmarks.tracking import detection_noise, half_pixel_shift, track_frames  # noqa: E402
from core.media import read_video  # noqa: E402
from core.smoothing import gaussian_smooth  # noqa: E402

RESULTS = ROOT / "bench" / "results"
STILL_SPEED = 0.3  # % IOD per frame
ERROR_SLACK = 0.3  # % IOD


def reference(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame still-image detections (T, 478, 3) and the same on half-pixel-shifted frames,
    shifted back."""
    detected, shifted = [], []
    with FaceLandmarker(max_faces=1) as landmarker:
        for frame in frames:
            detected.append(landmarker.detect(frame)[0].landmarks)
            shifted.append(landmarker.detect(half_pixel_shift(frame))[0].landmarks - [0.5, 0.5, 0])
    return np.stack(detected), np.stack(shifted)


def point_error(track: np.ndarray, ref: np.ndarray, iod: float) -> np.ndarray:
    """(T,) mean 2D point distance per frame, % IOD."""
    return 100 * np.linalg.norm(track[..., :2] - ref[..., :2], axis=-1).mean(axis=1) / iod


def still_jitter(track: np.ndarray, still: np.ndarray, iod: float) -> float:
    """Mean second-difference length (% IOD per frame) at still (frame, point) pairs."""
    second = np.linalg.norm(np.diff(track[..., :2], n=2, axis=0), axis=-1)
    return float(100 * second[still[1:-1]].mean() / iod)


def evaluate_clip(path: Path) -> dict:
    frames, fps = read_video(path)
    ref, shifted = reference(frames)
    track, missing = track_frames(frames, fps)
    iod = float(np.median(inter_ocular(ref)))
    speed = np.linalg.norm(np.gradient(gaussian_smooth(ref[..., :2], 2.0, edges="nearest"),
                                       axis=0), axis=-1)
    still = 100 * speed / iod < STILL_SPEED
    error = point_error(track, ref, iod)
    result = {
        "frames": len(frames), "fps": fps, "iod_px": iod, "missing": missing,
        "reference_noise": 100 * detection_noise(ref, shifted) / iod,
        "still_share": float(still.mean()),
        "error_mean": float(error.mean()), "error_p95": float(np.percentile(error, 95)),
        "jitter_raw": still_jitter(ref, still, iod), "jitter": still_jitter(track, still, iod),
        "neutral_moved_px": float(np.abs(track[0] - ref[0]).max()),
    }
    result["goals"] = {"error": result["error_mean"] <= ERROR_SLACK,
                       "jitter": result["jitter"] < result["jitter_raw"],
                       "neutral": result["neutral_moved_px"] == 0.0}
    result["meets_goals"] = all(result["goals"].values())
    return result


def markdown(results: dict) -> str:
    lines = ["| clip | reference noise | error mean | error p95 | jitter raw | jitter ours | "
             "neutral moved | goals met |", "|---|---|---|---|---|---|---|---|"]
    for clip, r in results.items():
        lines.append(f"| {clip} | {r['reference_noise']:.3f} | {r['error_mean']:.3f} | "
                     f"{r['error_p95']:.3f} | {r['jitter_raw']:.3f} | {r['jitter']:.3f} | "
                     f"{r['neutral_moved_px']:.1f} px | {'yes' if r['meets_goals'] else 'no'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="*", default=None, help="clip name prefixes")
    args = parser.parse_args()
    clips = driving_clips(args.clips)
    results = {}
    for clip in clips:
        results[clip.stem] = evaluate_clip(clip)
        print(f"{clip.stem}: done", file=sys.stderr)
    print("All figures in % of the inter-ocular distance (jitter: per frame).\n")
    print(markdown(results))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tracking.json").write_text(json.dumps(
        {"still_speed": STILL_SPEED, "error_slack": ERROR_SLACK, "clips": results,
         "all_goals_met": all(r["meets_goals"] for r in results.values())}, indent=2))


if __name__ == "__main__":
    main()
