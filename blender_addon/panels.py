"""The Portrait sidebar tab, in the 3D View and in the Sequencer (same sections in both).

Each section is a draw function; SECTIONS lists them in order and one Panel class per editor is
made from each (VIEW3D_PT_portrait*, SEQUENCER_PT_portrait*). Add a section by appending to it.
"""
from __future__ import annotations

import bpy

from ..core.errors import PortraitError
from . import dependencies
from .portrait import find_portrait
from .text import wrap_for_width

# Shape-key groups by ARKit name prefix, in panel order; tongueOut sits with the mouth.
SHAPE_GROUPS = [("Eyes", ("eye",)), ("Brows", ("brow",)), ("Mouth", ("mouth", "tongue")),
                ("Jaw", ("jaw",)), ("Cheeks", ("cheek",)), ("Nose", ("nose",))]


def portrait_of(context):
    """The portrait the panels show, or None."""
    try:
        return find_portrait(context)
    except PortraitError:
        return None


def draw_main(layout, context) -> None:
    layout.prop(context.scene, "portrait_active", text="")
    layout.operator("portrait.add", icon="IMAGE_DATA")
    missing = dependencies.missing_packages()
    if missing:
        box = layout.box()
        box.label(text="Missing packages", icon="ERROR")
        width = context.region.width if context.region else None
        scale = context.preferences.system.ui_scale
        for package, hint in missing:
            column = box.column(align=True)
            for line in wrap_for_width(f"{package.module}: needed for {package.needed_for}. "
                                       f"{hint}", width, scale):
                column.label(text=line)


def draw_pose(layout, context) -> None:
    plane = portrait_of(context)
    rig = plane.portrait.rig
    column = layout.column(align=True)
    column.prop(rig, "rotation_euler", index=2, text="Yaw")
    column.prop(rig, "rotation_euler", index=0, text="Pitch")
    column.prop(rig, "rotation_euler", index=1, text="Roll")
    layout.operator("portrait.key_pose", icon="KEY_HLT")


def draw_shapes(layout, context) -> None:
    shape_keys = portrait_of(context).portrait.rig.data.shape_keys
    if shape_keys is None:
        layout.label(text="The rig has no shape keys")
        return
    key_blocks = list(shape_keys.key_blocks)[1:]  # [0] is the Basis
    placed = set()
    for title, prefixes in SHAPE_GROUPS + [("Other", ())]:
        if prefixes:
            members = [k for k in key_blocks if k.name.startswith(prefixes)]
        else:
            members = [k for k in key_blocks if k.name not in placed]
        if not members:
            continue
        placed.update(k.name for k in members)
        box = layout.box()
        box.label(text=title)
        column = box.column(align=True)
        for key_block in members:
            column.prop(key_block, "value", text=key_block.name, slider=True)


def draw_expressions(layout, context) -> None:
    from .ops_portrait import expression_items

    grid = layout.grid_flow(columns=3, even_columns=True, align=True)
    for identifier, label, _ in expression_items():
        grid.operator("portrait.apply_expression", text=label).preset = identifier


def draw_regions(layout, context) -> None:
    settings = portrait_of(context).portrait
    column = layout.column(align=True)
    for name in ("head", "eyes", "brows", "mouth"):
        column.prop(settings, name, slider=True)


def draw_render(layout, context) -> None:
    settings = portrait_of(context).portrait
    layout.prop(settings, "resolution")
    layout.prop(settings, "device")
    layout.prop(settings, "cache_dir")
    row = layout.row(align=True)
    row.scale_y = 1.4
    row.operator("portrait.render", icon="RENDER_ANIMATION")
    row.operator("portrait.preview", icon="HIDE_OFF", depress=settings.preview)
    layout.operator_menu_enum("portrait.sketch", "style", icon="GREASEPENCIL")
    column = layout.column(align=True)
    column.label(text=f"Frames cached: {settings.frames_cached}")
    if settings.last_render_time:
        column.label(text=f"Last render: {settings.last_render_time} "
                          f"({settings.last_render_seconds:.1f} s)")


# (id suffix, label, draw, needs a portrait, default closed)
SECTIONS = [
    ("", "Portrait", draw_main, False, False),
    ("_pose", "Head Pose", draw_pose, True, False),
    ("_shapes", "Shape Keys", draw_shapes, True, True),
    ("_expressions", "Expressions", draw_expressions, True, True),
    ("_regions", "Region Strength", draw_regions, True, True),
    ("_render", "Render", draw_render, True, False),
]
EDITORS = [("VIEW3D", "VIEW_3D"), ("SEQUENCER", "SEQUENCE_EDITOR")]


def _panel_class(prefix: str, space: str, suffix: str, label: str, draw, needs_portrait: bool,
                 closed: bool) -> type:
    attributes = {
        "bl_space_type": space, "bl_region_type": "UI", "bl_category": "Portrait",
        "bl_label": label, "bl_idname": f"{prefix}_PT_portrait{suffix}",
        "draw": lambda self, context: draw(self.layout, context),
    }
    if suffix:
        attributes["bl_parent_id"] = f"{prefix}_PT_portrait"
    if closed:
        attributes["bl_options"] = {"DEFAULT_CLOSED"}
    if needs_portrait:
        attributes["poll"] = classmethod(lambda cls, context: portrait_of(context) is not None)
    return type(attributes["bl_idname"], (bpy.types.Panel,), attributes)


CLASSES = [_panel_class(prefix, space, *section) for prefix, space in EDITORS
           for section in SECTIONS]

register, unregister = bpy.utils.register_classes_factory(CLASSES)
