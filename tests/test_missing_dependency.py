"""Without mediapipe (a Python Blender has no wheel for) the extension still registers and works.

A fresh Blender process blocks `import mediapipe` with a meta-path finder: this simulates the
missing package, Blender itself is real. Landmarks then come from `python -m core detect --json`.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from extension_scenarios import run as run_scenario

pytestmark = pytest.mark.blender

ROOT = Path(__file__).resolve().parents[1]


def detect_json(image: Path, destination: Path) -> Path:
    """Landmarks as a machine with mediapipe writes them for one without."""
    result = subprocess.run([sys.executable, "-m", "core", "detect", "--json", str(image)],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    destination.write_text(result.stdout)
    return destination


def test_without_mediapipe_add_needs_landmarks_json_then_renders(tmp_path):
    from core.media import default_portrait_path

    image = default_portrait_path()
    landmarks = detect_json(image, tmp_path / "landmarks.json")

    report = run_scenario("no_mediapipe", tmp_path / "blender", str(image), str(landmarks))

    assert report["registered"] == ["PORTRAIT_OT_add", "PORTRAIT_OT_render"]
    assert list(report["missing"]) == ["mediapipe"]
    assert "pip install" in report["missing"]["mediapipe"]
    assert "mediapipe>=1.2" in report["hint"]
    # Face detection needs mediapipe: a one-line error and nothing created.
    error = report["add_without_landmarks"]
    assert error.startswith("Error:") and "mediapipe" in error and len(error.splitlines()) == 1
    assert set(report["created_without_landmarks"].values()) == {0}
    # With landmarks from the JSON the portrait is added, keyed and rendered.
    assert report["add_with_landmarks"] == ["FINISHED"]
    assert report["rig_vertices"] == 478
    assert report["rendered"] == ["FINISHED"]
    assert not report["mediapipe_imported"]
    assert len(report["frames"]) == 2
    closed, opened = (iio.imread(path).astype(np.int16) for path in report["frames"])
    assert closed.shape == opened.shape
    assert (np.abs(closed - opened).max(axis=2) > 16).mean() > 0.002


def test_without_opencv_the_extension_registers_and_names_it(tmp_path):
    report = run_scenario("no_opencv", tmp_path / "blender")
    assert report["registered"] == ["PORTRAIT_OT_add", "PORTRAIT_OT_render"]
    assert "cv2" in report["missing"]
    assert not report["cv2_imported"]
