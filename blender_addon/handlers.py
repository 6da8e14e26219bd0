"""Adding and removing the extension's app handlers (bpy.app.handlers lists) exactly once."""
from __future__ import annotations


def add_handler(handlers: list, function) -> None:
    if function not in handlers:
        handlers.append(function)


def remove_handler(handlers: list, function) -> None:
    """Compare by name too: a reloaded module defines a new function object, and the old one
    must not stay registered."""
    for handler in list(handlers):
        if getattr(handler, "__name__", "") == function.__name__ and \
                getattr(handler, "__module__", "") == function.__module__:
            handlers.remove(handler)
