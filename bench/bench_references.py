"""Few-shot: self-reenactment with K references of the sitter, and the driver's own mouth.

Like bench_quality.py, frame 0 of each shared clip is the portrait and the clip drives it. The
references are the most informative frames (`pick_informative_frames`) of the clip's second
half, which is never evaluated; evaluation runs on evenly spaced frames of the first half. Per
method: L1 and p95 L1 over the face box, AKD (landmarks re-detected, % of the inter-ocular
distance), and L1 over the mouth box and the eyes' box (the target's lips / eyes, grown 25 %);
`closed eyes L1`: the eyes' box on the first half's frames where an eye is closing (opening
below CLOSED_SHARE of frame 0's; up to CLOSED_FRAMES of them, the most closed first), which
the evenly spaced frames rarely catch; `cheek L1` likewise: the box of the cheek a turned head
shows (its outline grown 25 %) on up to TURNED_FRAMES first-half frames turned past
CHEEK_TURN's end from frame 0, spread evenly over them. `seam`: along the edges of the parts
references lend (the lent mouth's outline, past the outer lips; the inner lips where they
part; the closing lids' outlines; the lent cheek's outline), the mean difference of gradient
magnitude between output and real frame, in levels per pixel, in a band SEAM_BAND eye-corner
distances wide: an edge the blend adds, or one it blurs, counts.
`driver mouth` is --mouth-from-driver: here the driver is the sitter's own real frame, so it is
an upper bound on what a real interior can give, not a fair few-shot number. `driver detail` is
--detail (the driver frame's creases relative to frame 0, on K=0's frames), `driver mouth +
detail` both; `skin L1` is L1 over the target's face skin (the face oval without eyes, brows
and mouth), where the detail acts. Cost: ms per frame in-process at 1024 px, K = 0 and 8, and
K = 0 with --detail (the driver at its own size), over the evaluated and the turned frames
(the quickest of COST_ROUNDS rounds, the variants taking turns frame by frame).

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

from bench.bench_quality import driving_clips, face_region, grown_box, l1  # noqa: E402
from core.errors import PortraitError  # noqa: E402
from core.generator import Generator  # noqa: E402
from core.generator.detail import DriverDetail  # noqa: E402
from core.generator.eyes import EYE_PARTS  # noqa: E402
from core.generator.mouth import inner_lips  # noqa: E402
from core.generator.references import (CHEEK_PARTS, CHEEK_TURN, CLOSED_SHARE,  # noqa: E402
                                       MIN_OPENING, Reference, cheek_outline,
                                       cheek_warp_points, eye_ratio, head_yaw, lid_outline,
                                       mouth_outline,
                                       pick_informative_frames, skin_mask)
from core.landmarks import detect_landmarks, inter_ocular, track_frames  # noqa: E402
from core.landmarks.topology import (EYE_CORNERS, EYE_POINT_INDICES,  # noqa: E402
                                     INNER_LIP_CONTOUR, IRIS_POINT_INDICES, OUTER_LIP_CONTOUR,
                                     face_axes)
from core.media import read_video, resize_image, scale_landmarks  # noqa: E402

RESULTS = ROOT / "bench" / "results"
COUNTS = (0, 1, 4, 8)
DRIVER = "driver mouth"
DETAIL = "driver detail"
DRIVER_AND_DETAIL = "driver mouth + detail"
PART_GROW = 0.25
COST_SIZE = 1024
COST_ROUNDS = 3
MOUTH_GOAL = 0.15  # K=8 beats K=0 by this share on the mouth region (talking clips)
EYE_POINTS = sorted(set(EYE_POINT_INDICES) - set(IRIS_POINT_INDICES))
CLOSED_FRAMES = 8
TURNED_FRAMES = 8
SEAM_BAND = 0.06


def closing_frames(track: np.ndarray, frames: range) -> list[int]:
    """Up to CLOSED_FRAMES of `frames` where an eye's opening is below CLOSED_SHARE of frame
    0's, the most closed (relative to frame 0) first."""
    rest = [eye_ratio(track[0], parts) for parts in EYE_PARTS]
    share = {t: min(eye_ratio(track[t], parts) / max(open_, 1e-6)
                    for parts, open_ in zip(EYE_PARTS, rest)) for t in frames}
    closing = sorted((s, t) for t, s in share.items() if s < CLOSED_SHARE)
    return sorted(t for _, t in closing[:CLOSED_FRAMES])


def turned_frames(track: np.ndarray, frames: range) -> list[tuple[int, int]]:
    """Up to TURNED_FRAMES (frame, side) of `frames` whose head is turned from frame 0's past
    CHEEK_TURN's end, showing more of cheek CHEEK_PARTS[side]; evenly spread over them, so
    that every turn of the clip, either way, is scored (the most turned frames lie together)."""
    turns = []
    for t in frames:
        yaw = head_yaw(track[t], track[0])
        side = int(np.argmax([parts.shown_by * yaw for parts in CHEEK_PARTS]))
        if CHEEK_PARTS[side].shown_by * yaw > CHEEK_TURN[1]:
            turns.append((t, side))
    if len(turns) <= TURNED_FRAMES:
        return turns
    return [turns[i] for i in np.linspace(0, len(turns) - 1, TURNED_FRAMES).round().astype(int)]


def seam(output: np.ndarray, real: np.ndarray, outline: np.ndarray, scale: float) -> float:
    """Mean |(|grad output| - |grad real|)| (levels per pixel, grey) over a band SEAM_BAND *
    scale pixels wide along the closed polygon outline (N, 2)."""
    import cv2

    band = np.zeros(real.shape[:2], np.uint8)
    cv2.polylines(band, [np.round(outline[:, :2]).astype(np.int32)], True, 1,
                  max(1, int(round(SEAM_BAND * scale))))
    rows, cols = np.nonzero(band)
    box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))

    def gradient(image):
        grey = image[box].astype(np.float32) @ np.float32([0.299, 0.587, 0.114])
        return np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)) / 8

    return float(np.abs(gradient(output) - gradient(real))[band[box] > 0].mean())


def lent_edges(points: np.ndarray, shape: tuple[int, ...], closing: bool,
               side: int | None) -> list[np.ndarray]:
    """The outlines (N, 2) of the parts references can lend to target landmarks (478, 3) in
    an image of `shape`: the lent mouth's (mouth_outline), the inner lips when they part, the
    lids when closing, the shown cheek (side; its outline reaches the first head ring, see
    cheek_outline)."""
    outlines = [mouth_outline(points)]
    if inner_lips(points, face_axes(points)[0]).ratio >= MIN_OPENING:
        outlines.append(points[INNER_LIP_CONTOUR, :2])
    if closing:
        outlines += [points[lid_outline(parts), :2] for parts in EYE_PARTS]
    if side is not None:
        warp_points = cheek_warp_points(points, shape[1], shape[0])
        outlines.append(cheek_outline(warp_points, CHEEK_PARTS[side]))
    return outlines


def part_box(points: np.ndarray, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """Rows and columns of the box around points (N, 2+) grown by PART_GROW."""
    return grown_box(points, PART_GROW, shape)


def cost_ms(frames, track, reference_sets: dict, chosen) -> dict:
    """ms per frame rendering the chosen frames at COST_SIZE px (the portrait, frame 0,
    scaled), per name of reference_sets ({name: references}), and K=0 with the driver's detail
    (DETAIL; the driver's frames at their own size). The variants take turns frame by frame,
    over COST_ROUNDS rounds, and each keeps its quickest round: on a shared machine the load
    moves between rounds, and a turn each keeps the variants comparable."""
    portrait = frames[0]
    size = (COST_SIZE, COST_SIZE * portrait.shape[0] // portrait.shape[1])
    original = (portrait.shape[1], portrait.shape[0])
    image, landmarks = resize_image(portrait, size), scale_landmarks(track[0], original, size)
    variants = {name: (Generator(image, landmarks, references=references), None)
                for name, references in reference_sets.items()}
    variants[DETAIL] = (Generator(image, landmarks), DriverDetail(Reference(portrait, track[0])))
    targets = [(scale_landmarks(track[t], original, size), Reference(frames[t], track[t]))
               for t in chosen]
    best = dict.fromkeys(variants, np.inf)
    for _ in range(COST_ROUNDS):
        spent = dict.fromkeys(variants, 0.0)
        for target, driver in targets:
            for name, (generator, creases) in variants.items():
                start = time.perf_counter()
                frame = generator.render(target)
                if creases is not None:
                    creases.add(frame, target, driver)
                spent[name] += time.perf_counter() - start
        best = {name: min(best[name], 1000 * spent[name] / len(targets)) for name in best}
    return best


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
    scores = {name: {"l1": [], "mouth": [], "eyes": [], "skin": [], "akd": [], "closed": [],
                     "cheek": [], "seam": []} for name in methods}

    def seams(name, t, output, closing=False, side=None):
        scale = float(np.linalg.norm(np.subtract(*track[t][list(EYE_CORNERS), :2])))
        scores[name]["seam"] += [seam(output, frames[t], outline, scale)
                                 for outline in lent_edges(track[t], frames[t].shape, closing,
                                                           side)]

    closing = closing_frames(track, range(1, half))
    for t in closing:
        eyes = part_box(track[t][EYE_POINTS], frames[t].shape)
        for name, render in methods.items():
            output = render(t)
            scores[name]["closed"].append(l1(output[eyes], frames[t][eyes]))
            seams(name, t, output, closing=True)
    turned = turned_frames(track, range(1, half))
    for t, side in turned:
        cheek = part_box(track[t][CHEEK_PARTS[side].outline], frames[t].shape)
        for name, render in methods.items():
            output = render(t)
            scores[name]["cheek"].append(l1(output[cheek], frames[t][cheek]))
            seams(name, t, output, side=side)
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
            seams(name, t, output)
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
                      "closed_eyes_l1": float(np.mean(s["closed"])) if s["closed"] else None,
                      "cheek_l1": float(np.mean(s["cheek"])) if s["cheek"] else None,
                      "seam": float(np.mean(s["seam"])) if s["seam"] else None}
               for name, s in scores.items()}
    timed = sorted(set(chosen.tolist()) | {t for t, _ in turned})
    costs = cost_ms(frames, track, {f"K={k}": references[:k] for k in (0, max(COUNTS))}, timed)
    gain = 1 - summary[f"K={max(COUNTS)}"]["mouth_l1"] / summary["K=0"]["mouth_l1"]
    return {"frames": [int(t) for t in chosen], "closing_frames": closing,
            "turned_frames": [[t, side] for t, side in turned],
            "reference_frames": picked,
            "methods": summary, "ms_per_frame_1024": costs, "mouth_gain_k8": gain}


def markdown(results: dict) -> str:
    lines = ["| clip | method | AKD % IOD | L1 | p95 L1 | mouth L1 | eyes L1 | closed eyes L1 "
             "| skin L1 | cheek L1 | seam |", "|---|---|---|---|---|---|---|---|---|---|---|"]

    def optional(value):
        return "n/a" if value is None else f"{value:.2f}"

    for clip, result in results.items():
        for name, m in result["methods"].items():
            lines.append(f"| {clip} | {name} | {optional(m['akd'])} | {m['l1']:.2f} | "
                         f"{m['l1_p95']:.2f} | {m['mouth_l1']:.2f} | {m['eyes_l1']:.2f} | "
                         f"{optional(m['closed_eyes_l1'])} | {m['skin_l1']:.2f} | "
                         f"{optional(m['cheek_l1'])} | {optional(m['seam'])} |")
        cost = result["ms_per_frame_1024"]
        lines.append(f"| {clip} | **K=8 mouth gain; ms/frame at {COST_SIZE} px K=0 / K=8 / "
                     f"detail** | {100 * result['mouth_gain_k8']:.1f} % | {cost['K=0']:.0f} / "
                     f"{cost['K=8']:.0f} / {cost[DETAIL]:.0f} | | | | | | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=16,
                        help="evaluated frames per clip, evenly spaced in the first half")
    parser.add_argument("--clips", nargs="*", default=None, help="clip name prefixes")
    args = parser.parse_args()
    clips = driving_clips(args.clips)
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
