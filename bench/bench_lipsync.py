"""Lip sync against the speech it was made from: does the jaw follow the voice, and rest in pauses?

For the shared speech WAV at several scene rates: the Pearson correlation of jawOpen with the
speech envelope (RMS of the raw samples over each scene frame; goal >= 0.7), and the largest
jawOpen inside silent stretches (runs of at least 0.25 s whose level stays within 6 dB of the
recording's noise floor, less the first and last 50 ms: a jaw needs that long to close and
open; goal < 0.05). Also the time taken.

    .venv/bin/python bench/bench_lipsync.py
Prints a markdown table and writes bench/results/lipsync.json.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the project root holds `core`
AUDIO = ROOT.parent / "shared" / "testdata" / "audio" / "jfk_inaugural_ask_not.wav"
RATES = (24.0, 25.0, 30.0, 60.0)
SILENCE_ABOVE_FLOOR_DB = 6.0
SILENCE_MIN_SECONDS = 0.25
JAW_SETTLE_SECONDS = 0.05


def frame_envelope(samples: np.ndarray, sample_rate: int, fps: float, count: int) -> np.ndarray:
    """(count,) RMS of the samples within each scene frame's interval [k/fps, (k+1)/fps)."""
    edges = np.minimum(np.round(np.arange(count + 1) * sample_rate / fps).astype(int), len(samples))
    return np.array([np.sqrt(np.mean(samples[a:b].astype(np.float64) ** 2)) if b > a else 0.0
                     for a, b in zip(edges[:-1], edges[1:])])


def silent_frames(envelope: np.ndarray, fps: float) -> np.ndarray:
    """(count,) bool: frames in runs of at least SILENCE_MIN_SECONDS near the noise floor, each
    run shortened by JAW_SETTLE_SECONDS at both ends."""
    level = 20 * np.log10(envelope + 1e-9)
    quiet = level < np.percentile(level, 10) + SILENCE_ABOVE_FLOOR_DB
    silent = np.zeros_like(quiet)
    settle = int(round(JAW_SETTLE_SECONDS * fps))
    start = None
    for index, flag in enumerate(np.append(quiet, False)):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            if index - start >= SILENCE_MIN_SECONDS * fps:
                silent[start + settle:index - settle] = True
            start = None
    return silent


def main() -> None:
    from core.sources.lipsync import SAMPLE_RATE, lipsync_curves, read_audio

    samples = read_audio(AUDIO)
    rows = []
    for fps in RATES:
        began = time.perf_counter()
        jaw = lipsync_curves(samples, fps)["jawOpen"]
        seconds = time.perf_counter() - began
        envelope = frame_envelope(samples, SAMPLE_RATE, fps, len(jaw))
        silent = silent_frames(envelope, fps)
        rows.append({"fps": fps, "frames": len(jaw),
                     "correlation": float(np.corrcoef(jaw, envelope)[0, 1]),
                     "silent_frames": int(silent.sum()),
                     "max_jaw_in_silence": float(jaw[silent].max()) if silent.any() else None,
                     "max_jaw": float(jaw.max()), "seconds": seconds})

    print(f"Lip sync on {AUDIO.name} ({len(samples) / SAMPLE_RATE:.1f} s)\n")
    print("| fps | frames | corr(jawOpen, envelope) (goal >= 0.7) | silent frames | "
          "max jawOpen in silence (goal < 0.05) | max jawOpen | time (s) |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['fps']:g} | {row['frames']} | {row['correlation']:.3f} | "
              f"{row['silent_frames']} | {row['max_jaw_in_silence']:.4f} | {row['max_jaw']:.3f} | "
              f"{row['seconds']:.3f} |")
    out = ROOT / "bench" / "results" / "lipsync.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"audio": AUDIO.name, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
