"""Shared fixtures: the real test data beside the project and cached detections."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT.parent / "shared" / "testdata"
PORTRAITS = sorted((TESTDATA / "portraits").glob("*.*"))
DRIVING = sorted((TESTDATA / "driving").glob("*.mp4"))


@functools.lru_cache(maxsize=None)
def portrait_with_landmarks(path: str) -> tuple[np.ndarray, np.ndarray]:
    """(image uint8 (H, W, 3), landmarks (478, 3)), detected once per test session."""
    from core.landmarks import detect_landmarks
    from core.media import read_image

    image = read_image(path)
    return image, detect_landmarks(image)


@pytest.fixture(scope="session")
def default_portrait() -> tuple[np.ndarray, np.ndarray]:
    from core.media import default_portrait_path

    return portrait_with_landmarks(str(default_portrait_path()))


@pytest.fixture(scope="session")
def testdata() -> Path:
    assert TESTDATA.is_dir(), f"test data missing: {TESTDATA}"
    return TESTDATA


def pytest_terminal_summary(terminalreporter):
    """The hostile-input suite's tally (README "Hostile input" quotes a run of it)."""
    from hostile_support import CASES

    if CASES:
        terminalreporter.write_line(f"hostile input: {sum(CASES.values())} cases in "
                                    f"{len(CASES)} classes")
        for kind, number in sorted(CASES.items()):
            terminalreporter.write_line(f"  {number:5d}  {kind}")
