"""The frame cache's own cost per stored frame over a long render, against an earlier version.

Stores FRAMES tiny frames (16x16: the PNG costs next to nothing, the manifest is what is
measured) one after another into an empty cache, as a render does, then closes it; the same
with the cache module of git revision --baseline, in the same run. Per stored frame: the median
over 100 frames at the start, the middle and the end, and the mean over all of them with the
final close() (which folds the journal into the manifest).

    .venv/bin/python bench/bench_cache.py [--frames 2000] [--baseline REV]
Prints a markdown table and writes bench/results/cache.json.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))
from blender_addon.__main__ import PACKAGE, load_project  # noqa: E402  (the one loader)

EDGE = 100  # frames averaged at the start and at the end


def baseline_module(revision: str):
    """blender_addon/cache.py as it was at `revision`, loaded beside the current one."""
    source = subprocess.run(["git", "show", f"{revision}:blender_addon/cache.py"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout
    name = f"{PACKAGE}.blender_addon.cache_baseline"
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader=None))
    module.__package__ = f"{PACKAGE}.blender_addon"
    exec(compile(source, f"{revision}:blender_addon/cache.py", "exec"), module.__dict__)
    return module


def per_frame_ms(cache_module, frames: int) -> dict[str, float]:
    image = np.zeros((16, 16, 3), np.uint8)
    times = []
    with tempfile.TemporaryDirectory() as folder:
        cache = cache_module.FrameCache(Path(folder) / "cache")
        for frame in range(1, frames + 1):
            began = time.perf_counter()
            cache.store(frame, image, f"{frame:064x}")
            times.append(time.perf_counter() - began)
        began = time.perf_counter()
        getattr(cache, "close", lambda: None)()
        closing = time.perf_counter() - began
        assert cache_module.FrameCache(Path(folder) / "cache").frames() == \
            list(range(1, frames + 1))
    blocks = {f"median_ms_{start + 1}_{start + EDGE}":
              1000 * float(np.median(times[start:start + EDGE]))
              for start in (0, frames // 2 - EDGE, frames - EDGE)}
    return {**blocks, "mean_ms": 1000 * (sum(times) + closing) / frames,
            "close_ms": 1000 * closing, "total_s": sum(times) + closing}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--baseline", default="fb3cd00",
                        help="git revision whose cache.py is measured beside the current one")
    args = parser.parse_args()
    load_project()
    current = importlib.import_module(f"{PACKAGE}.blender_addon.cache")
    rows = {f"{args.baseline} (before)": per_frame_ms(baseline_module(args.baseline),
                                                      args.frames),
            "current": per_frame_ms(current, args.frames)}
    columns = list(next(iter(rows.values())))
    print(f"| cache, {args.frames} frames | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[column]:.2f}" for column in columns) + " |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "cache.json").write_text(json.dumps({"frames": args.frames, "rows": rows},
                                                   indent=2) + "\n")


if __name__ == "__main__":
    main()
