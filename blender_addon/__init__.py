"""Portrait Animator's Blender extension: registration only (one module per concern).

Modules are imported when registering, not at import time, so `python -m blender_addon` can
import this package on its own before loading the project as `portrait_animator`.
"""
import importlib

# Registered in this order, unregistered in reverse. Each module has register()/unregister().
MODULES = [
    "properties",
    "driver",
    "ops_portrait",
    "ops_render",
    "references",
    "preview",
    "panels",
    "ops_motion",
    "cli",
]


def _modules():
    return [importlib.import_module(f".{name}", __package__) for name in MODULES]


def register():
    for module in _modules():
        module.register()


def unregister():
    for module in reversed(_modules()):
        module.unregister()
