"""Motion operators on the face rig: video performance capture, motion JSON, Live Link Face
CSV, audio lip sync and procedural life, each keyed as new NLA layers (see nla.py).

Operators are undoable; bad input ends in an error report and leaves the scene as it was.
"""
from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Iterator

import bpy
from bpy.props import BoolProperty, FloatProperty, IntProperty, StringProperty

from ..core.errors import PortraitError
from . import compat
from .jobs import JobOperator, SolveJob
from .nla import (BAKED_LAYER, LIFE_BASE, LIFE_PREFIX, baked_life, check_channels, layer_motion,
                  layer_tracks, life_base, remove_tracks)
from .operators import FileBrowsing, PortraitOperator
from .portrait import blend_relative, find_portrait, portrait_landmarks, scene_fps
from .rig_eval import blender_face_rig


class LoadedMotion:
    """A motion JSON, as a job finished from the start."""
    finished = True
    what = "Motion"  # what the report calls it

    def __init__(self, motion):
        self.motion = motion

    def close(self) -> None:
        """Nothing held."""


class PORTRAIT_OT_import_motion(FileBrowsing, JobOperator, bpy.types.Operator):
    """Import a performance onto the face rig: solve a driving video (performance capture) or
    load a motion JSON, as new keys in a new NLA track"""
    bl_idname = "portrait.import_motion"
    bl_label = "Import Motion"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(name="File", subtype="FILE_PATH",
                             description="A driving video (.mp4, .mov, ...) or a motion .json")
    smoothing: FloatProperty(name="Smoothing", default=1.0, min=0.0, soft_max=4.0,
                             description="Video solve: Gaussian smoothing, sigma in video frames")
    every: IntProperty(name="Solve Every", default=1, min=1, soft_max=8,
                       description="Video solve: solve every N-th video frame and interpolate "
                                   "(faster)")
    reduce: FloatProperty(name="Reduce Keys", default=0.0, min=0.0, soft_max=0.1, precision=3,
                          description="Video solve: keep only the keys needed to stay within this "
                                      "many weight units (0.25 deg for the head); 0 keys every "
                                      "frame")
    mouth_from_driver: BoolProperty(
        name="Mouth from Driver", default=False,
        description="Video: switch on Mouth from Driver: where this video's strip plays, renders "
                    "take its own mouth interior, warped and colour-matched, where the lips part "
                    "(any person: it may lend another person's teeth)")
    detail_from_driver: BoolProperty(
        name="Detail from Driver", default=False,
        description="Video: switch on Detail from Driver: where this video's strip plays, "
                    "renders add its expression creases (relative to its first frame) to the "
                    "portrait's skin")

    def start(self, context):
        """Motion JSON: loaded at once. Video: a solve job (modal in a window, Esc cancels)."""
        from ..core.media import VIDEO_SUFFIXES

        plane = self.plane(context)
        if not self.filepath:
            raise PortraitError("no file given: choose a driving video or a motion .json")
        path = bpy.path.abspath(self.filepath)
        if not Path(path).is_file():
            raise PortraitError(f"{path}: no such file")
        # By name: the user keeps working while the solve runs; look the portrait up again then.
        self._plane_name = plane.name
        if Path(path).suffix.lower() == ".json":
            from ..core.rig.motion import load_motion

            return LoadedMotion(load_motion(path))
        if Path(path).suffix.lower() not in VIDEO_SUFFIXES:
            raise PortraitError(f"{path}: not a motion .json nor a video "
                                f"({', '.join(sorted(VIDEO_SUFFIXES))})")
        return SolveJob(path, blender_face_rig(plane), portrait_landmarks(plane),
                        scene_fps(context.scene), context.scene.frame_start, self.smoothing,
                        self.every, self.reduce)

    def finish(self, context, job) -> set[str]:
        from ..core.sources.tracks import key_count

        plane = find_portrait(context, self._plane_name)
        motion = job.motion.rescaled(scene_fps(context.scene))
        tracks = layer_motion(plane, motion, f"Motion: {motion.name or Path(self.filepath).stem}",
                              "import")
        if isinstance(job, SolveJob):
            self._remember_driver(plane, job, motion, tracks)
        self.report({"INFO"}, f"{job.what}: {len(motion.tracks)} curves, {key_count(motion)} keys "
                              f"(frames {motion.frame_start:g}..{motion.frame_end:g})")
        return {"FINISHED"}

    def execute(self, context):
        """The file browser calls this too: a video solves modal where there is a window."""
        return self.run_modal(context)

    def _remember_driver(self, plane, job: SolveJob, motion, tracks) -> None:
        """The new layer's actions record the video they were solved from: where their strips
        play, renders may take its frames' mouth and creases (driver.py). Its track is kept so
        renders need not track it again."""
        from .driver import record_driver, remember_track

        path = bpy.path.abspath(self.filepath)
        for track in tracks:
            for strip in track.strips:
                # Video frame 0 (the solve's neutral frame) is keyed at the motion's start.
                record_driver(strip.action, blend_relative(path), motion.frame_start,
                              job.video_fps / motion.fps, 0)
        # The options switch the toggles on; off, they leave them (an earlier video layer may
        # have them on).
        settings = plane.portrait
        settings.mouth_from_driver |= self.mouth_from_driver
        settings.detail_from_driver |= self.detail_from_driver
        remember_track(path, 0, job.track)


class PORTRAIT_OT_import_livelink(FileBrowsing, PortraitOperator, bpy.types.Operator):
    """Import a Live Link Face (iPhone ARKit) CSV take onto the face rig as a new NLA track"""
    bl_idname = "portrait.import_livelink"
    bl_label = "Import Live Link Face CSV"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(name="CSV", subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.csv", options={"HIDDEN"})
    swap_mouth_lr: BoolProperty(name="Swap Mouth Left/Right", default=False,
                                description="Swap mouthLeft and mouthRight (some app versions "
                                            "mirror them)")
    gaze_from_eyes: BoolProperty(name="Gaze from Eye Rotations", default=False,
                                 description="Key eyeLook* from the eye rotation columns instead "
                                             "of the take's gaze shapes")

    def run(self, context):
        from ..core.sources.livelink import import_livelink

        plane = self.plane(context)
        if not self.filepath:
            raise PortraitError("no CSV file given")
        scene = context.scene
        motion = import_livelink(bpy.path.abspath(self.filepath), scene_fps(scene),
                                 scene.frame_start, self.swap_mouth_lr, self.gaze_from_eyes)
        layer_motion(plane, motion, f"Live Link: {motion.name}", "import")
        self.report({"INFO"}, f"Live Link take: frames {motion.frame_start:g}.."
                              f"{motion.frame_end:g}, {len(motion.tracks)} curves")
        return {"FINISHED"}


def sound_strip(scene: bpy.types.Scene):
    """The sequencer's active strip if it is a sound, else its first sound strip by start."""
    editor = scene.sequence_editor
    active = editor.active_strip if editor else None
    if active is not None and active.type == "SOUND":
        return active
    sounds = sorted((strip for strip in compat.strips(scene) if strip.type == "SOUND"),
                    key=lambda strip: strip.frame_start) if editor else []
    if not sounds:
        raise PortraitError(f"scene '{scene.name}' has no sound strip in the sequencer")
    return sounds[0]


def sound_zero_frame(strip, fps: float) -> float:
    """The scene frame where the strip's sound file plays its time 0.

    At frame_start the sequencer plays the sound from animation_offset_start frames plus
    sound_offset seconds (where this Blender has it; 4.2 does not) into the file; trimming the
    strip's ends only hides parts.
    """
    return (strip.frame_start - strip.animation_offset_start
            - getattr(strip, "sound_offset", 0.0) * fps)


@contextlib.contextmanager
def sound_file(sound: bpy.types.Sound) -> Iterator[str]:
    """A path ffmpeg can read for a sound datablock: its file, or its packed bytes written out."""
    if sound.packed_file is None:
        yield bpy.path.abspath(sound.filepath, library=sound.library)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / (Path(sound.filepath).name or "sound")
        path.write_bytes(bytes(sound.packed_file.data))
        yield str(path)


class PORTRAIT_OT_lipsync(FileBrowsing, PortraitOperator, bpy.types.Operator):
    """Lip-sync the face rig to speech: jaw from loudness, lip shapes from vowel colour, keyed as
    a new NLA track"""
    bl_idname = "portrait.lipsync"
    bl_label = "Lip Sync"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(name="Audio", subtype="FILE_PATH",
                             description="WAV, FLAC or MP3 (keyed from the scene's first frame)")
    use_sound_strip: BoolProperty(name="Use Sound Strip", default=False,
                                  description="Lip-sync the sequencer's active (or first) sound "
                                              "strip, from the strip's start frame")

    def has_input(self) -> bool:
        return bool(self.filepath) or self.use_sound_strip

    def _motion(self, context):
        from ..core.sources.lipsync import lipsync_motion

        fps = scene_fps(context.scene)
        if not self.use_sound_strip:
            if not self.filepath:
                raise PortraitError("no audio file given (or enable Use Sound Strip)")
            return lipsync_motion(bpy.path.abspath(self.filepath), fps, context.scene.frame_start)
        strip = sound_strip(compat.sequencer_scene(context))
        if strip.sound is None:
            raise PortraitError(f"sound strip '{strip.name}' has no sound")
        with sound_file(strip.sound) as path:
            motion = lipsync_motion(path, fps, sound_zero_frame(strip, fps))
        motion.name = strip.name
        return motion

    def run(self, context):
        plane = self.plane(context)
        motion = self._motion(context)
        layer_motion(plane, motion, f"Lip Sync: {motion.name}", "import")
        self.report({"INFO"}, f"Lip sync: frames {motion.frame_start:g}..{motion.frame_end:g}")
        return {"FINISHED"}


class PORTRAIT_OT_add_life(PortraitOperator, bpy.types.Operator):
    """Add procedural life over the scene's frame range: blinks, breathing, eye saccades and idle
    head sway, each on its own NLA track added over the existing animation (replaces earlier
    life layers; bake them to keep them)"""
    bl_idname = "portrait.add_life"
    bl_label = "Add Life"
    bl_options = {"REGISTER", "UNDO"}

    blink: BoolProperty(name="Blink", default=True)
    blink_rate: FloatProperty(name="Blinks per Minute", default=17.0, min=0.5, soft_max=40.0)
    blink_duration: FloatProperty(name="Blink Duration", default=0.25, min=0.05, max=1.0,
                                  unit="TIME_ABSOLUTE")
    blink_randomness: FloatProperty(name="Blink Randomness", default=0.5, min=0.0, max=1.0,
                                    subtype="FACTOR")
    breathing: BoolProperty(name="Breathing", default=True)
    saccades: BoolProperty(name="Eye Saccades", default=True)
    sway: BoolProperty(name="Head Sway", default=True)
    sway_amplitude: FloatProperty(name="Sway (degrees)", default=1.5, min=0.0, soft_max=6.0)
    seed: IntProperty(name="Seed", default=0, min=0, description="Same seed, same keys")

    def run(self, context):
        from ..core.sources.procedural import LifeSettings, life_motions

        layers = [name for name in ("blink", "breathing", "saccades", "sway") if getattr(self, name)]
        scene = context.scene
        plane = self.plane(context)
        if not layers:
            raise PortraitError("no life layer chosen (blink, breathing, saccades, sway)")
        settings = LifeSettings(blink_rate=self.blink_rate, blink_duration=self.blink_duration,
                                blink_randomness=self.blink_randomness,
                                sway_amplitude=self.sway_amplitude)
        motions = life_motions(scene.frame_start, scene.frame_end, scene_fps(scene),
                               self.seed, layers, settings)
        base = life_base(plane, motions, scene.frame_start)
        for motion in ([base] if base else []) + list(motions.values()):
            check_channels(plane, motion)  # before the old layers go: a refusal keeps them
        remove_tracks(layer_tracks(plane, LIFE_PREFIX))
        if base is not None:
            layer_motion(plane, base, "Life: base", LIFE_BASE)
        for layer, motion in motions.items():
            layer_motion(plane, motion, f"Life: {layer}", f"{LIFE_PREFIX}{layer}",
                         blend="ADD", extrapolation="NOTHING")
        self.report({"INFO"}, f"Life layers: {', '.join(layers)} (seed {self.seed})")
        return {"FINISHED"}


class PORTRAIT_OT_bake_life(PortraitOperator, bpy.types.Operator):
    """Bake the life layers into editable keys: one track holding what the blinks, gaze and head
    motion add up to with the animation below them (the life layers are removed)"""
    bl_idname = "portrait.bake_life"
    bl_label = "Bake Life"
    bl_options = {"REGISTER", "UNDO"}

    def run(self, context):
        from ..core.sources.tracks import key_count

        plane = self.plane(context)
        motion = baked_life(context, plane)
        check_channels(plane, motion)  # before the life layers go: a refusal keeps them
        remove_tracks(layer_tracks(plane, LIFE_PREFIX))
        layer_motion(plane, motion, "Life (baked)", BAKED_LAYER)
        self.report({"INFO"}, f"Baked {len(motion.tracks)} curves into {key_count(motion)} keys")
        return {"FINISHED"}


CLASSES = [PORTRAIT_OT_import_motion, PORTRAIT_OT_import_livelink, PORTRAIT_OT_lipsync,
           PORTRAIT_OT_add_life, PORTRAIT_OT_bake_life]

register, unregister = bpy.utils.register_classes_factory(CLASSES)
