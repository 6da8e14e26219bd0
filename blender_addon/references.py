"""A portrait's references: more pictures of the sitter lending real pixels to its frames.

The list lives on the portrait's settings (`references`, file paths, "//" allowed). Render and
preview read it through `portrait_references`: each file is read and its landmarks detected once
per file version (path, mtime, size), so the live preview stays fast; their identity (the
pixels' digests, so a renamed file changes nothing) goes into the frames' cache key, so changing
the list re-renders.
The add operator checks each picture up front (a face, the portrait's sitter) and adds all of
them or none.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import bpy
from bpy.props import CollectionProperty, IntProperty, StringProperty

from ..core.errors import PortraitError
from . import compat, dependencies
from .operators import ImageBrowsing, PortraitOperator
from .portrait import blend_relative, file_version, portrait_landmarks

# (absolute path, mtime, size) -> (Reference, pixel digest); a few portraits' worth.
_loaded: OrderedDict = OrderedDict()
MAX_LOADED = 16


def load_reference_file(path_text: str):
    """(core Reference, pixel digest) of a reference file (a Blender path), or a one-line error;
    read and detected once per file version."""
    from ..core.generator.references import load_reference
    from .cache import frame_digest

    if not path_text:
        raise PortraitError("a reference has no file path")
    key = file_version(Path(bpy.path.abspath(path_text)), "the reference image")
    if key not in _loaded:
        dependencies.require("detect")
        reference = load_reference(key[0])
        _loaded[key] = (reference, frame_digest(reference.image))
        while len(_loaded) > MAX_LOADED:
            _loaded.popitem(last=False)
    _loaded.move_to_end(key)
    return _loaded[key]


def portrait_references(plane: bpy.types.Object) -> tuple[list, tuple]:
    """The plane's references as core Reference objects, and their identity for cache keys
    (the pixel digest of each, in list order)."""
    loaded = [load_reference_file(item.filepath) for item in plane.portrait.references]
    return [reference for reference, _ in loaded], tuple(digest for _, digest in loaded)


class PORTRAIT_OT_add_reference(ImageBrowsing, PortraitOperator, bpy.types.Operator):
    """Add pictures of the portrait's sitter as references: their real mouth interiors and
    closed lids replace the painted ones where their shapes match the frame's"""
    bl_idname = "portrait.add_reference"
    bl_label = "Add References"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(name="Reference", subtype="FILE_PATH",
                             options=compat.BLEND_RELATIVE_PATH,
                             description="A picture of the portrait's sitter")
    directory: StringProperty(subtype="DIR_PATH", options={"HIDDEN", "SKIP_SAVE"})
    files: CollectionProperty(type=bpy.types.OperatorFileListElement,
                              options={"HIDDEN", "SKIP_SAVE"})
    relative_path: bpy.props.BoolProperty(
        name="Relative Path", default=True,
        description="Store the paths relative to the .blend file (when it is saved)")

    def _paths(self) -> list[str]:
        """The chosen files: several from the file browser, else filepath."""
        names = [item.name for item in self.files if item.name]
        if names and self.directory:
            return [str(Path(self.directory) / name) for name in names]
        if not self.filepath:
            raise PortraitError("no reference image given")
        return [self.filepath]

    def run(self, context):
        plane = self.plane(context)
        settings = plane.portrait
        landmarks = portrait_landmarks(plane)
        present = {bpy.path.abspath(item.filepath) for item in settings.references}
        paths = []
        for path in self._paths():
            absolute = bpy.path.abspath(path)
            if absolute in present:
                raise PortraitError(f"{absolute}: already a reference of {plane.name}")
            reference, _ = load_reference_file(path)
            reference.check_sitter(landmarks)
            present.add(absolute)
            paths.append(blend_relative(absolute) if self.relative_path else path)
        for path in paths:  # every file passed: add them all
            settings.references.add().filepath = path
        settings.reference_index = len(settings.references) - 1
        self.report({"INFO"}, f"{plane.name}: {len(paths)} reference(s) added, "
                              f"{len(settings.references)} in all")
        return {"FINISHED"}


class PORTRAIT_OT_remove_reference(PortraitOperator, bpy.types.Operator):
    """Remove a reference from the portrait's list (the file stays)"""
    bl_idname = "portrait.remove_reference"
    bl_label = "Remove Reference"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(name="Index", default=-1, min=-1,
                       description="Which reference to remove (-1: the selected one)")

    def run(self, context):
        plane = self.plane(context)
        settings = plane.portrait
        index = settings.reference_index if self.index < 0 else self.index
        if not 0 <= index < len(settings.references):
            raise PortraitError(f"{plane.name} has no reference {index} "
                                f"({len(settings.references)} in the list)")
        path = settings.references[index].filepath
        settings.references.remove(index)
        settings.reference_index = min(index, len(settings.references) - 1)
        self.report({"INFO"}, f"{plane.name}: removed the reference {path}")
        return {"FINISHED"}


class PORTRAIT_UL_references(bpy.types.UIList):
    """The portrait's reference pictures, one per row"""

    def draw_item(self, context, layout, data, item, icon, active_data, active_property,
                  index=0, flt_flag=0):
        layout.label(text=bpy.path.basename(item.filepath) or "(no file)", icon="IMAGE_DATA")


CLASSES = [PORTRAIT_OT_add_reference, PORTRAIT_OT_remove_reference, PORTRAIT_UL_references]

register, unregister = bpy.utils.register_classes_factory(CLASSES)
