"""End-to-end speed of `python -m core animate` on a 512 px portrait and a 512 px clip.

Wall clock of the whole command (start-up, decoding, tracking, retargeting, rendering, H.264
encoding), and the render loop's own fps from its summary line.

    .venv/bin/python bench/bench_animate.py
Prints a markdown table and writes bench/results/animate.json.
"""
from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT.parent / "shared" / "testdata"
PORTRAIT = TESTDATA / "portraits" / "photo_astronaut_eileen_collins.png"  # 512x512
DRIVER = TESTDATA / "driving" / "lp_d3_woman_talking.mp4"  # 512x512, 354 frames at 30 fps


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "core", "animate", str(PORTRAIT), "--driver", str(DRIVER),
             "--output", str(Path(folder) / "out.mp4"), "--quiet"],
            cwd=ROOT, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - began
    summary = result.stderr.strip().splitlines()[-1]
    frames = int(re.match(r"(\d+) frames", summary).group(1))
    render_fps = float(re.search(r"([\d.]+) fps rendered", summary).group(1))
    row = {"portrait": PORTRAIT.name, "driver": DRIVER.name, "frames": frames,
           "wall_seconds": wall, "end_to_end_fps": frames / wall, "render_loop_fps": render_fps,
           "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}"}
    print("| portrait | driver | frames | wall (s) | end-to-end fps | render loop fps |")
    print("|---|---|---|---|---|---|")
    print(f"| {PORTRAIT.name} | {DRIVER.name} | {frames} | {wall:.1f} | "
          f"{row['end_to_end_fps']:.1f} | {render_fps:.1f} |")
    out = ROOT / "bench" / "results" / "animate.json"
    out.write_text(json.dumps(row, indent=1) + "\n")
    print(f"-> {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
