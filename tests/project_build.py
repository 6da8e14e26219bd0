"""The repository's build.py as a module, loaded by path: "build" would also name the PyPA
package."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("portrait_build", ROOT / "build.py")
build = sys.modules["portrait_build"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)
