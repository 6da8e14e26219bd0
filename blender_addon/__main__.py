"""`python -m blender_addon render|demo ...`: the headless commands, run on the bpy module.

Loads the repository root as the package `portrait_animator` (as Blender loads the extension,
so the extension's relative imports resolve), registers it and dispatches like
`blender -b --command portrait_animator ...`.
"""
import importlib.util
import sys
from pathlib import Path

PACKAGE = "portrait_animator"
ROOT = Path(__file__).absolute().parents[1]  # the tree this copy sits in, links unresolved


def load_project():
    if PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            PACKAGE, ROOT / "__init__.py", submodule_search_locations=[str(ROOT)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = module
        spec.loader.exec_module(module)
    return sys.modules[PACKAGE]


def run(argv: list[str]) -> int:
    """One headless command on the registered extension; its exit status."""
    project = load_project()
    project.register()
    try:
        return importlib.import_module(f"{PACKAGE}.blender_addon.cli").main(argv)
    finally:
        project.unregister()  # bpy 4.2 crashes at exit while a CLI command is registered


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
