"""The base of every Portrait operator: bad input becomes one error report, never a traceback.

Subclasses write `run(context)` instead of `execute`; a PortraitError raised anywhere in it is
reported and the operator ends CANCELLED. Operators that work on an existing portrait take it
from PortraitOperator's `portrait` property (empty: the active portrait).
"""
from __future__ import annotations

import bpy
from bpy.props import StringProperty

from ..core.errors import PortraitError
from .portrait import find_portrait


class ReportingOperator:
    """Mixin before bpy.types.Operator: run() with PortraitErrors turned into reports."""

    def run(self, context) -> set[str]:
        raise NotImplementedError

    def execute(self, context):
        return self.reporting(self.run, context)

    def reporting(self, function, *args) -> set[str]:
        """function(*args), the operator's result; a PortraitError is reported instead."""
        try:
            return function(*args)
        except PortraitError as exc:
            return self.fail(str(exc))

    def fail(self, message: str) -> set[str]:
        self.report({"ERROR"}, message)
        return {"CANCELLED"}


class PortraitOperator(ReportingOperator):
    """A ReportingOperator on one portrait of the scene."""
    portrait: StringProperty(name="Portrait", description="Portrait object "
                             "(default: the active portrait)")

    def plane(self, context) -> bpy.types.Object:
        """The portrait plane this operator works on (PortraitError if there is none)."""
        return find_portrait(context, self.portrait)


class FileBrowsing:
    """Mixin for an operator with a `filepath`: without one (and nothing else to read), it
    opens the file browser first, which then calls execute."""

    def has_input(self) -> bool:
        return bool(self.filepath)

    def invoke(self, context, event):
        if self.has_input():
            return self.execute(context)
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}


class ImageBrowsing(FileBrowsing):
    """FileBrowsing that shows images (and folders) only."""
    filter_image: bpy.props.BoolProperty(default=True, options={"HIDDEN", "SKIP_SAVE"})
    filter_folder: bpy.props.BoolProperty(default=True, options={"HIDDEN", "SKIP_SAVE"})
