"""Few-shot: self-reenactment with K references of the sitter, and the driver's own mouth.

Like bench_quality.py, frame 0 of each shared clip is the portrait and the clip drives it. The
references are the most informative frames (`pick_informative_frames`) of the clip's second
half, which is never evaluated; evaluation runs on evenly spaced frames of the first half. Per
method: L1 and p95 L1 over the face box, AKD (landmarks re-detected, % of the inter-ocular
distance), and L1 over the mouth box and the eyes' box (the target's lips / eyes, grown 25 %);
`closed eyes L1`: the eyes' box on the first half's frames where an eye is closing (opening
below CLOSED_SHARE of frame 0's; up to CLOSED_FRAMES of them, the most closed first), which
the evenly spaced frames rarely catch.
`driver mouth` is --mouth-from-driver: here the driver is the sitter's own real frame, so it is
an upper bound on what a real interior can give, not a fair few-shot number. `driver detail` is
--detail (the driver frame's creases relative to frame 0, on K=0's frames), `driver mouth +
detail` both; `skin L1` is L1 over the target's face skin (the face oval without eyes, brows
and mouth), where the detail acts. Cost: ms per frame in-process at 1024 px, K = 0 and 8, and
K = 0 with --detail (the driver at its own size), over the evaluated frames: the median of 5
interleaved rounds.

    .venv/bin/python bench/bench_references.py [--frames 16] [--clips lp_d3 ...]

Prints a markdown table, writes bench/results/references.json.
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

from bench.bench_quality import face_region, grown_box, l1  # noqa: E402
from core.errors import PortraitError  # noqa: E402
from core.generator import Generator  # noqa: E402
from core.generator.detail import DriverDetail  # noqa: E402
from core.generator.eyes import EYE_PARTS  # noqa: E402
from core.generator.references import (CLOSED_SHARE, Reference, eye_ratio,  # noqa: E402
                                       pick_informative_frames, skin_mask)
from core.landmarks import detect_landmarks, inter_ocular, track_frames  # noqa: E402
from core.landmarks.topology import (EYE_POINT_INDICES, IRIS_POINT_INDICES,  # noqa: E402
                                     OUTER_LIP_CONTOUR)
from core.media import read_video, resize_image, scale_landmarks  # noqa: E402

TESTDATA = ROOT.parent / "shared" / "testdata"
RESULTS = ROOT / "bench" / "results"
COUNTS = (0, 1, 4, 8)
DRIVER = "driver mouth"
DETAIL = "driver detail"
DRIVER_AND_DETAIL = "driver mouth + detail"
PART_GROW = 0.25
COST_SIZE = 1024
COST_ROUNDS = 5
MOUTH_GOAL = 0.15  # K=8 beats K=0 by this share on the mouth region (talking clips)
EYE_POINTS = sorted(set(EYE_POINT_INDICES) - set(IRIS_POINT_INDICES))
CLOSED_FRAMES = 8


def closing_frames(track: np.ndarray, frames: range) -> list[int]:
    """Up to CLOSED_FRAMES of `frames` where an eye's opening is below CLOSED_SHARE of frame
    0's, the most closed (relative to frame 0) first."""
    rest = [eye_ratio(track[0], parts) for parts in EYE_PARTS]
    share = {t: min(eye_ratio(track[t], parts) / max(open_, 1e-6)
                    for parts, open_ in zip(EYE_PARTS, rest)) for t in frames}
    closing = sorted((s, t) for t, s in share.items() if s < CLOSED_SHARE)
    return sorted(t for _, t in closing[:CLOSED_FRAMES])


def part_box(points: np.ndarray, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """Rows and columns of the box around points (N, 2+) grown by PART_GROW."""
    return grown_box(points, PART_GROW, shape)


def costs_ms(frames, track, references, chosen) -> dict[str, float]:
    """ms per frame rendering the chosen frames at COST_SIZE px (the portrait, frame 0,
    scaled): K=0, K=8, and K=0 with the driver's detail (the driver's frames at their own
    size). The median of COST_ROUNDS interleaved rounds: a change in the shared machine's load
    hits every variant alike."""
    portrait = frames[0]
    size = (COST_SIZE, COST_SIZE * portrait.shape[0] // portrait.shape[1])
    original = (portrait.shape[1], portrait.shape[0])
    image, landmarks = resize_image(portrait, size), scale_landmarks(track[0], original, size)
    plain = Generator(image, landmarks)
    variants = {"K=0": (plain, None),
                f"K={max(COUNTS)}": (Generator(image, landmarks,
                                               references=references[:max(COUNTS)]), None),
                DETAIL: (plain, DriverDetail(Reference(portrait, track[0])))}
    targets = [(scale_landmarks(track[t], original, size), Reference(frames[t], track[t]))
               for t in chosen]
    times = {name: [] for name in variants}
    for _ in range(COST_ROUNDS):
        for name, (generator, creases) in variants.items():
            start = time.perf_counter()
            for target, driver in targets:
                frame = generator.render(target)
                if creases is not None:
                    creases.add(frame, target, driver)
            times[name].append(1000 * (time.perf_counter() - start) / len(targets))
    return {name: float(np.median(values)) for name, values in times.items()}


def evaluate_clip(path: Path, count: int) -> dict:
    frames, fps = read_video(path)
    track, _ = track_frames(frames, fps)
    half = len(frames) // 2
    picked = [half + i for i in pick_informative_frames(track[half:], max(COUNTS))]
    references = [Reference(frames[i], track[i], f"frame {i}") for i in picked]
    chosen = np.unique(np.linspace(1, half - 1, min(count, half - 1)).round().astype(int))
    portrait = frames[0]
    generators = {f"K={k}": Generator(portrait, track[0], references=references[:k])
                  for k in COUNTS}
    methods = {name: (lambda t, g=g: g.render(track[t])) for name, g in generators.items()}
    plain = generators["K=0"]
    creases = DriverDetail(Reference(portrait, track[0], "frame 0"))

    def driver(t):
        return Reference(frames[t], track[t], f"frame {t}")
    methods[DRIVER] = lambda t: plain.render(track[t], driver(t))
    methods[DETAIL] = lambda t: creases.add(plain.render(track[t]), track[t], driver(t))
    methods[DRIVER_AND_DETAIL] = lambda t: creases.add(plain.render(track[t], driver(t)),
                                                       track[t], driver(t))
    scores = {name: {"l1": [], "mouth": [], "eyes": [], "skin": [], "akd": [], "closed": []}
              for name in methods}
    closing = closing_frames(track, range(1, half))
    for t in closing:
        eyes = part_box(track[t][EYE_POINTS], frames[t].shape)
        for name, render in methods.items():
            scores[name]["closed"].append(l1(render(t)[eyes], frames[t][eyes]))
    for t in chosen:
        real = frames[t]
        try:
            real_landmarks = detect_landmarks(real)
        except PortraitError:
            real_landmarks = None
        face = face_region(real_landmarks if real_landmarks is not None else track[t], real.shape)
        mouth = part_box(track[t][OUTER_LIP_CONTOUR], real.shape)
        eyes = part_box(track[t][EYE_POINTS], real.shape)
        skin = skin_mask(track[t], real.shape[:2])
        for name, render in methods.items():
            output = render(t)
            score = scores[name]
            for key, region in (("l1", face), ("mouth", mouth), ("eyes", eyes), ("skin", skin)):
                score[key].append(l1(output[region], real[region]))
            if real_landmarks is not None:
                try:
                    found = detect_landmarks(output)
                except PortraitError:
                    continue
                distance = np.linalg.norm(found[:, :2] - real_landmarks[:, :2], axis=1).mean()
                score["akd"].append(100 * distance / inter_ocular(real_landmarks))
    summary = {name: {"l1": float(np.mean(s["l1"])), "l1_p95": float(np.percentile(s["l1"], 95)),
                      "akd": float(np.mean(s["akd"])) if s["akd"] else None,
                      "mouth_l1": float(np.mean(s["mouth"])), "eyes_l1": float(np.mean(s["eyes"])),
                      "skin_l1": float(np.mean(s["skin"])),
                      "closed_eyes_l1": float(np.mean(s["closed"])) if s["closed"] else None}
               for name, s in scores.items()}
    costs = costs_ms(frames, track, references, chosen)
    gain = 1 - summary[f"K={max(COUNTS)}"]["mouth_l1"] / summary["K=0"]["mouth_l1"]
    return {"frames": [int(t) for t in chosen], "closing_frames": closing,
            "reference_frames": picked,
            "methods": summary, "ms_per_frame_1024": costs, "mouth_gain_k8": gain}


def markdown(results: dict) -> str:
    lines = ["| clip | method | AKD % IOD | L1 | p95 L1 | mouth L1 | eyes L1 | closed eyes L1 | "
             "skin L1 |", "|---|---|---|---|---|---|---|---|---|"]
    for clip, result in results.items():
        for name, m in result["methods"].items():
            akd = "n/a" if m["akd"] is None else f"{m['akd']:.2f}"
            closed = "n/a" if m["closed_eyes_l1"] is None else f"{m['closed_eyes_l1']:.2f}"
            lines.append(f"| {clip} | {name} | {akd} | {m['l1']:.2f} | {m['l1_p95']:.2f} | "
                         f"{m['mouth_l1']:.2f} | {m['eyes_l1']:.2f} | {closed} | "
                         f"{m['skin_l1']:.2f} |")
        cost = result["ms_per_frame_1024"]
        lines.append(f"| {clip} | **K=8 mouth gain; ms/frame at {COST_SIZE} px K=0 / K=8 / "
                     f"detail** | {100 * result['mouth_gain_k8']:.1f} % | {cost['K=0']:.0f} / "
                     f"{cost['K=8']:.0f} / {cost[DETAIL]:.0f} | | | | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=16,
                        help="evaluated frames per clip, evenly spaced in the first half")
    parser.add_argument("--clips", nargs="*", default=None, help="clip name prefixes")
    args = parser.parse_args()
    clips = sorted((TESTDATA / "driving").glob("*.mp4"))
    if args.clips:
        clips = [c for c in clips if any(c.stem.startswith(p) for p in args.clips)]
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = {}
    for clip in clips:
        results[clip.stem] = evaluate_clip(clip, args.frames)
        print(f"{clip.stem}: done", file=sys.stderr)
    print(markdown(results))
    report = {"frames_per_clip": args.frames, "clips": results,
              "mouth_goal": MOUTH_GOAL}
    (RESULTS / "references.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
