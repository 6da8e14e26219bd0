"""What every hostile-input case asserts, and the case count the README quotes.

A case passes when the input is refused with one line that names where it came from, or is
accepted as a value that is in range, and when the files around it are byte-identical after.
Hypothesis runs derandomized (the same examples on every run); HYPOTHESIS_PROFILE=long (the
`make test-hostile-long` target) runs many more.
"""
from __future__ import annotations

import collections
import hashlib
import os
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, settings

settings.register_profile("hostile", max_examples=25, derandomize=True, deadline=None,
                          database=None, suppress_health_check=list(HealthCheck))
settings.register_profile("long", max_examples=400, derandomize=True, deadline=None,
                          database=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "hostile"))

CASES: collections.Counter = collections.Counter()  # class of hostile input -> cases run


def count(kind: str) -> None:
    """One hostile case of class `kind` ran (tallied in the session summary)."""
    CASES[kind] += 1


def tree_state(folder: Path) -> dict[str, str]:
    """Every file and folder under `folder` (hidden ones too) -> sha256 of its bytes or 'dir'."""
    state = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            state[os.path.relpath(os.path.join(root, name), folder)] = "dir"
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                state[os.path.relpath(path, folder)] = hashlib.sha256(handle.read()).hexdigest()
    return state


def assert_one_line(message: str, *names: str) -> None:
    """A refusal: one non-empty line, naming one of `names` (the file) if any are given."""
    assert message.strip() and "\n" not in message.strip(), repr(message)
    assert "Traceback" not in message, message
    if names:
        assert any(name in message for name in names), (message, names)


def assert_finite(*arrays) -> None:
    for array in arrays:
        assert np.isfinite(np.asarray(array, np.float64)).all()
