"""Time a farm render on this machine: one whole render against chunks, as the farm runs them.

    .venv/bin/python bench/bench_farm.py [--frames 24] [--chunks 4,8,24] [--resolution 100]

Every task is its own process (tests/farm_blender.py on the bpy module, as `blender -b SCENE
--command portrait_animator render ...`) on a fresh copy of a demo scene (empty cache), run one
after another. Start-up = a task's wall time minus the render time it reports. Prints a
markdown table and writes bench/results/farm.json.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--chunks", default="4,8,24")
    parser.add_argument("--resolution", type=int, default=100)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONFAULTHANDLER="1")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run([sys.executable, "-m", "blender_addon", "demo", "--frames",
                        f"1-{args.frames}", "--resolution", str(args.resolution), "--output",
                        "d/demo.mp4", "--blend", "d/demo.blend"], cwd=tmp, env=env, check=True,
                       capture_output=True)
        for size in (int(c) for c in args.chunks.split(",")):
            folder = tmp / f"chunks{size}"
            folder.mkdir()
            scene = shutil.copy(tmp / "d" / "demo.blend", folder / "scene.blend")
            walls, renders = [], []
            for first in range(1, args.frames + 1, size):
                last = min(args.frames, first + size - 1)
                start = time.perf_counter()
                result = subprocess.run(
                    [sys.executable, str(ROOT / "tests" / "farm_blender.py"), "-b", str(scene),
                     "--command", "portrait_animator", "render", "--frames", f"{first}-{last}",
                     "--output", str(folder / "out")], env=env, capture_output=True, text=True)
                if result.returncode != 0:
                    sys.exit(f"task {first}-{last} failed ({result.returncode}):\n"
                             f"{result.stderr[-3000:]}")
                walls.append(time.perf_counter() - start)
                renders.append(float(re.search(r"in ([\d.]+) s ->", result.stdout).group(1)))
            startup = [w - r for w, r in zip(walls, renders)]
            rows.append({"frames": args.frames, "chunk": size, "tasks": len(walls),
                         "total_s": sum(walls), "rendering_s": sum(renders),
                         "startup_mean_s": sum(startup) / len(startup),
                         "startup_range_s": [min(startup), max(startup)]})
    print("| frames | chunk size | tasks | total s | rendering s | start-up per task s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        low, high = r["startup_range_s"]
        print(f"| {r['frames']} | {r['chunk']} | {r['tasks']} | {r['total_s']:.2f} | "
              f"{r['rendering_s']:.2f} | {r['startup_mean_s']:.2f} ({low:.2f}-{high:.2f}) |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "farm.json").write_text(json.dumps({"resolution": args.resolution, "rows": rows},
                                                  indent=2))


if __name__ == "__main__":
    main()
