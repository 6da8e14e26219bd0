"""The Portrait sidebar tab, in the 3D View and in the Sequencer (same sections in both).

Each section is a mixin (its label and draw function) in SECTIONS; each editor has one Panel
class per section, written out below: VIEW3D_PT_portrait* and SEQUENCER_PT_portrait*. Add a
section by writing its mixin and its two panels (in the same order in both editors).
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
ICON_WIDTH_PX = 20  # a label's icon at UI scale 1 (Blender's UI_UNIT_X)


def draw_wrapped(layout, context, text: str, icon: str = "NONE") -> None:
    """text as labels that fit the sidebar's width (Blender cuts a long label, it does not
    wrap it); with an icon, the lines after the first start where the first's text does."""
    scale = context.preferences.system.ui_scale
    width = None
    if context.region:
        width = context.region.width - (ICON_WIDTH_PX * scale if icon != "NONE" else 0)
    column = layout.column(align=True)
    for index, line in enumerate(wrap_for_width(text, width, scale)):
        column.label(text=line, icon=icon if index == 0 or icon == "NONE" else "BLANK1")


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
        for package, hint in missing:
            draw_wrapped(box, context, f"{package.module}: needed for {package.needed_for}. "
                                       f"{hint}")


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


def draw_driver(layout, context, plane, frame: int) -> None:
    """Where a video import's strip is on the rig: the Mouth and Detail toggles, and which
    video (its path editable, to relink a moved file) and video frame drive the current frame."""
    from .driver import DRIVER_KEYS, driver_at, video_sources

    try:
        if next(video_sources(plane, playing=False), None) is None:
            return
        driven = driver_at(plane, frame)
    except PortraitError as exc:
        draw_wrapped(layout, context, str(exc), icon="ERROR")
        return
    box = layout.box()
    row = box.row(align=True)
    row.prop(plane.portrait, "mouth_from_driver", toggle=True)
    row.prop(plane.portrait, "detail_from_driver", toggle=True)
    if driven is None:
        box.label(text=f"Frame {frame}: no video strip plays here", icon="INFO")
        return
    box.prop(driven.strip.action, f'["{DRIVER_KEYS["path"]}"]', text="Driver")
    # In a box, inside the sidebar's margins: wrapped, so the strip's name is never cut.
    draw_wrapped(box, context, f"Frame {frame}: video frame {driven.video_frame}, strip "
                               f"{driven.strip.name}", icon="FILE_MOVIE")


def draw_motion(layout, context) -> None:
    column = layout.column(align=True)
    column.operator("portrait.import_motion", text="Video / Motion File", icon="FILE_MOVIE")
    column.operator("portrait.import_livelink", text="Live Link Face CSV", icon="OUTLINER_OB_CAMERA")
    row = column.row(align=True)
    row.operator("portrait.lipsync", text="Lip Sync Audio", icon="SOUND").use_sound_strip = False
    row.operator("portrait.lipsync", text="Sound Strip", icon="SEQUENCE").use_sound_strip = True
    draw_driver(layout, context, portrait_of(context), context.scene.frame_current)
    column = layout.column(align=True)
    column.operator("portrait.add_life", icon="OUTLINER_OB_FORCE_FIELD")
    column.operator("portrait.bake_life", icon="KEYINGSET")
    draw_wrapped(layout, context, "Layers play as NLA tracks over your keys", icon="NLA")


def draw_render(layout, context) -> None:
    settings = portrait_of(context).portrait
    # Split like Blender's own panels: a plain prop's label gets too little room for
    # "Render Device" and "Cache Folder" at the sidebar's default width.
    column = layout.column()
    column.use_property_split = True
    column.use_property_decorate = False
    column.prop(settings, "resolution")
    column.prop(settings, "device")
    column.prop(settings, "cache_dir")
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


def draw_references(layout, context) -> None:
    settings = portrait_of(context).portrait
    row = layout.row()
    row.template_list("PORTRAIT_UL_references", "", settings, "references", settings,
                      "reference_index", rows=3)
    column = row.column(align=True)
    column.operator("portrait.add_reference", text="", icon="ADD")
    column.operator("portrait.remove_reference", text="", icon="REMOVE")
    if 0 <= settings.reference_index < len(settings.references):
        layout.prop(settings.references[settings.reference_index], "filepath", text="")
    draw_wrapped(layout, context, "Pictures of the sitter: the mouth open wide, half and "
                                  "barely, the eyes closed, the head turned each way", icon="INFO")


class _Section:
    """What every Portrait panel shares; a section adds bl_label and draw_section."""
    bl_region_type = "UI"
    bl_category = "Portrait"
    needs_portrait = True

    @classmethod
    def poll(cls, context):
        return not cls.needs_portrait or portrait_of(context) is not None

    def draw(self, context):
        self.draw_section(self.layout, context)


class MainSection(_Section):
    bl_label = "Portrait"
    needs_portrait = False
    draw_section = staticmethod(draw_main)


class PoseSection(_Section):
    bl_label = "Head Pose"
    draw_section = staticmethod(draw_pose)


class ShapesSection(_Section):
    bl_label = "Shape Keys"
    bl_options = {"DEFAULT_CLOSED"}
    draw_section = staticmethod(draw_shapes)


class ExpressionsSection(_Section):
    bl_label = "Expressions"
    bl_options = {"DEFAULT_CLOSED"}
    draw_section = staticmethod(draw_expressions)


class RegionsSection(_Section):
    bl_label = "Region Strength"
    bl_options = {"DEFAULT_CLOSED"}
    draw_section = staticmethod(draw_regions)


class RenderSection(_Section):
    bl_label = "Render"
    draw_section = staticmethod(draw_render)


class ReferencesSection(_Section):
    """More pictures of the sitter, lending real pixels to rendered frames"""
    bl_label = "References"
    bl_options = {"DEFAULT_CLOSED"}
    draw_section = staticmethod(draw_references)


class MotionSection(_Section):
    """Motion sources: performance capture, mocap, lip sync, procedural life"""
    bl_label = "Motion"
    draw_section = staticmethod(draw_motion)


SECTIONS = [MainSection, PoseSection, ShapesSection, ExpressionsSection, RegionsSection,
            RenderSection, ReferencesSection, MotionSection]


class VIEW3D_PT_portrait(MainSection, bpy.types.Panel):
    bl_space_type = "VIEW_3D"


class VIEW3D_PT_portrait_pose(PoseSection, bpy.types.Panel):
    bl_space_type, bl_parent_id = "VIEW_3D", "VIEW3D_PT_portrait"


class VIEW3D_PT_portrait_shapes(ShapesSection, bpy.types.Panel):
    bl_space_type, bl_parent_id = "VIEW_3D", "VIEW3D_PT_portrait"


class VIEW3D_PT_portrait_expressions(ExpressionsSection, bpy.types.Panel):
    bl_space_type, bl_parent_id = "VIEW_3D", "VIEW3D_PT_portrait"


class VIEW3D_PT_portrait_regions(RegionsSection, bpy.types.Panel):
    bl_space_type, bl_parent_id = "VIEW_3D", "VIEW3D_PT_portrait"


class VIEW3D_PT_portrait_render(RenderSection, bpy.types.Panel):
    bl_space_type, bl_parent_id = "VIEW_3D", "VIEW3D_PT_portrait"


class VIEW3D_PT_portrait_references(ReferencesSection, bpy.types.Panel):
    bl_space_type, bl_parent_id = "VIEW_3D", "VIEW3D_PT_portrait"


class VIEW3D_PT_portrait_motion(MotionSection, bpy.types.Panel):
    bl_space_type, bl_parent_id = "VIEW_3D", "VIEW3D_PT_portrait"


class SEQUENCER_PT_portrait(MainSection, bpy.types.Panel):
    bl_space_type = "SEQUENCE_EDITOR"


class SEQUENCER_PT_portrait_pose(PoseSection, bpy.types.Panel):
    bl_space_type, bl_parent_id = "SEQUENCE_EDITOR", "SEQUENCER_PT_portrait"


class SEQUENCER_PT_portrait_shapes(ShapesSection, bpy.types.Panel):
    bl_space_type, bl_parent_id = "SEQUENCE_EDITOR", "SEQUENCER_PT_portrait"


class SEQUENCER_PT_portrait_expressions(ExpressionsSection, bpy.types.Panel):
    bl_space_type, bl_parent_id = "SEQUENCE_EDITOR", "SEQUENCER_PT_portrait"


class SEQUENCER_PT_portrait_regions(RegionsSection, bpy.types.Panel):
    bl_space_type, bl_parent_id = "SEQUENCE_EDITOR", "SEQUENCER_PT_portrait"


class SEQUENCER_PT_portrait_render(RenderSection, bpy.types.Panel):
    bl_space_type, bl_parent_id = "SEQUENCE_EDITOR", "SEQUENCER_PT_portrait"


class SEQUENCER_PT_portrait_references(ReferencesSection, bpy.types.Panel):
    bl_space_type, bl_parent_id = "SEQUENCE_EDITOR", "SEQUENCER_PT_portrait"


class SEQUENCER_PT_portrait_motion(MotionSection, bpy.types.Panel):
    bl_space_type, bl_parent_id = "SEQUENCE_EDITOR", "SEQUENCER_PT_portrait"


VIEW3D_PANELS = [VIEW3D_PT_portrait, VIEW3D_PT_portrait_pose, VIEW3D_PT_portrait_shapes,
                 VIEW3D_PT_portrait_expressions, VIEW3D_PT_portrait_regions,
                 VIEW3D_PT_portrait_render, VIEW3D_PT_portrait_references,
                 VIEW3D_PT_portrait_motion]
SEQUENCER_PANELS = [SEQUENCER_PT_portrait, SEQUENCER_PT_portrait_pose,
                    SEQUENCER_PT_portrait_shapes, SEQUENCER_PT_portrait_expressions,
                    SEQUENCER_PT_portrait_regions, SEQUENCER_PT_portrait_render,
                    SEQUENCER_PT_portrait_references, SEQUENCER_PT_portrait_motion]
CLASSES = VIEW3D_PANELS + SEQUENCER_PANELS

register, unregister = bpy.utils.register_classes_factory(CLASSES)
