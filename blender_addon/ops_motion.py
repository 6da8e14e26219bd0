"""Motion sources on the face rig: video performance capture, motion JSON, Live Link Face CSV,
audio lip sync and procedural life, plus the Motion panel.

Nothing an import does destroys animation. Each import becomes new actions (one on the rig's
shape-key datablock, one on the rig object) in new NLA tracks at the top of the stack:
  - a rig's active action is first pushed down into its own NLA track, as Blender's Push Down
    does: the action itself is not touched, it keeps playing underneath, and the active slot is
    left free for the animator's corrections, which then play on top of everything;
  - imports replace the channels they key (blend REPLACE), life layers add to them (blend ADD),
    so a procedural blink closes the eyes whatever the animator's keys do to them.
Every layer is an ordinary action with keys: Tab into it in the NLA editor to edit it, mute or
fade its track, or delete it. Operators are undoable; bad input ends in an error report and
leaves the scene as it was.
"""
from __future__ import annotations

import contextlib
import math
import re
import tempfile
import threading
from pathlib import Path
from typing import Iterator

import bpy
import numpy as np
from bpy.props import BoolProperty, FloatProperty, IntProperty, StringProperty

from ..core.errors import PortraitError
from . import checks, compat, keying
from .portrait import PIVOT_KEY, find_portrait, image_size, source_landmarks

SOURCE_KEY = "portrait_source"  # on each layer's action: "import", "life:<layer>" or BAKED_SOURCE
LIFE_PREFIX = "life:"
LIFE_BASE = "life:base"  # the REPLACE layer under the life layers (see life_base)
BAKED_SOURCE = "baked-life"  # not a life layer: Add Life and Bake Life leave it alone
SHAPE_PATH = re.compile(r'key_blocks\["(.+)"\]\.value')  # a life layer's shape-key curve
BAKE_TOLERANCE = {"shape": 0.002, "degrees": 0.02}  # baked keys: reduced within these, linear


def scene_fps(scene: bpy.types.Scene) -> float:
    return scene.render.fps / scene.render.fps_base


def _animated_ids(plane: bpy.types.Object) -> list[bpy.types.ID]:
    """The datablocks motions key: the rig's shape keys and the rig object."""
    rig = plane.portrait.rig
    return [block for block in (rig.data.shape_keys, rig) if block is not None]


def check_channels(plane: bpy.types.Object, motion) -> None:
    """Refuse a motion (core.rig.Motion) with a channel the rig lacks, or with numbers Blender
    cannot key (non-finite, beyond its frame range or the rig's limits), before anything is
    made."""
    motion.check_limits(f"motion '{motion.name}'")
    shape_keys = plane.portrait.rig.data.shape_keys
    shapes = set(shape_keys.key_blocks.keys()) if shape_keys else set()
    head = set(keying.HEAD_AXES) | set(keying.HEAD_OFFSETS)
    if not motion.tracks:
        raise PortraitError(f"motion '{motion.name}' has no keys")
    for channel in motion.tracks:
        if channel not in shapes and channel not in head:
            raise PortraitError(f"motion '{motion.name}': the rig has no channel '{channel}' "
                                "(a shape key of the rig was renamed or deleted?)")


def push_down(datablock: bpy.types.ID) -> None:
    """Move the active action into its own NLA track (the action is not modified)."""
    animation = datablock.animation_data
    if animation is None or animation.action is None:
        return
    action = animation.action
    slot = animation.action_slot if compat.SLOTTED_ACTIONS else None
    track = animation.nla_tracks.new()
    track.name = action.name
    strip = track.strips.new(action.name, int(math.floor(action.frame_range[0])), action)
    if slot is not None:
        strip.action_slot = slot
    animation.action = None


def layer_motion(plane: bpy.types.Object, motion, label: str, source: str,
                 blend: str = "REPLACE", extrapolation: str = "HOLD") -> list[bpy.types.NlaTrack]:
    """Key `motion` (core.rig.Motion) into new actions, each in a new NLA track named `label`
    at the top.

    Returns the new tracks (one per datablock the motion keys).
    """
    check_channels(plane, motion)
    datablocks = _animated_ids(plane)
    for datablock in datablocks:
        push_down(datablock)
    # keying.key_motion keys the active actions; with the slots empty it makes new ones.
    keying.key_motion(plane, motion.to_dict())
    tracks = []
    for datablock in datablocks:
        animation = datablock.animation_data
        if animation is None or animation.action is None:
            continue
        action = animation.action
        action.name = f"{label} {'Shapes' if isinstance(datablock, bpy.types.Key) else 'Head'}"
        action[SOURCE_KEY] = source
        # The strip spans the motion's range, not just its keys: a sway layer whose last key
        # comes early holds its angle to the end instead of snapping back.
        start, end = motion.frame_start, motion.frame_end
        if end > start:
            keyed_start, keyed_end = action.frame_range
            action.use_frame_range = True
            action.frame_start, action.frame_end = min(start, keyed_start), max(end, keyed_end)
        slot = animation.action_slot if compat.SLOTTED_ACTIONS else None
        track = animation.nla_tracks.new()
        track.name = label
        strip = track.strips.new(action.name, int(math.floor(action.frame_range[0])), action)
        if slot is not None:
            strip.action_slot = slot
        strip.blend_type = blend
        strip.extrapolation = extrapolation
        animation.action = None
        tracks.append(track)
    return tracks


def layer_tracks(plane: bpy.types.Object, prefix: str) -> list[tuple[bpy.types.ID, bpy.types.NlaTrack]]:
    """(datablock, track) of the rig's NLA tracks holding only layer actions whose source starts
    with prefix: a track the animator put a strip of their own into is theirs, and stays."""
    found = []
    for datablock in _animated_ids(plane):
        animation = datablock.animation_data
        for track in (animation.nla_tracks if animation else ()):
            if len(track.strips) and all(
                    strip.action is not None and
                    str(strip.action.get(SOURCE_KEY, "")).startswith(prefix)
                    for strip in track.strips):
                found.append((datablock, track))
    return found


def _played_actions(datablock: bpy.types.ID, skip_prefix: str = ""):
    """(action, slot) pairs playing on a datablock: its NLA strips and its active action,
    leaving out layer actions whose source starts with skip_prefix (if given)."""
    animation = datablock.animation_data
    if animation is None:
        return []
    pairs = [(strip.action, strip.action_slot if compat.SLOTTED_ACTIONS else None)
             for track in animation.nla_tracks for strip in track.strips
             if strip.action is not None]
    if animation.action is not None:
        pairs.append((animation.action, animation.action_slot if compat.SLOTTED_ACTIONS else None))
    if skip_prefix:
        pairs = [(action, slot) for action, slot in pairs
                 if not str(action.get(SOURCE_KEY, "")).startswith(skip_prefix)]
    return pairs


def life_base(plane: bpy.types.Object, motions: dict, frame_start: int):
    """A Motion holding, for each shape key the life layers touch that nothing else animates,
    its resting value (the slider's, or the previous base layer's) - or None if none needs one.

    Why: where no lower strip animates a channel, Blender's NLA adds onto the property's RNA
    default, and ShapeKey.value defaults to 1.0: a blink added onto nothing would hold the eye
    shut. A REPLACE layer under the life layers gives every add a true base. (Rotations default
    to 0 and need none.)
    """
    from ..core.sources.tracks import make_motion

    shape_keys = plane.portrait.rig.data.shape_keys
    if shape_keys is None:
        return None
    animated = {curve.data_path for action, slot in _played_actions(shape_keys, LIFE_PREFIX)
                for curve in compat.fcurves(action, slot)}
    previous = {curve.data_path: curve.keyframe_points[0].co[1]
                for action, slot in _played_actions(shape_keys) if action.get(SOURCE_KEY) == LIFE_BASE
                for curve in compat.fcurves(action, slot) if len(curve.keyframe_points)}
    names = sorted({name for motion in motions.values() for name in motion.tracks
                    if name in shape_keys.key_blocks
                    and keying.shape_data_path(name) not in animated})
    if not names:
        return None
    tracks = {name: np.array([[frame_start, previous.get(keying.shape_data_path(name),
                                                          shape_keys.key_blocks[name].value)]])
              for name in names}
    return make_motion("life_base", 24.0, tracks, "CONSTANT")


def remove_tracks(found: list[tuple[bpy.types.ID, bpy.types.NlaTrack]]) -> None:
    """Remove NLA tracks (from layer_tracks) and the layer actions nothing else uses."""
    for datablock, track in found:
        actions = [strip.action for strip in track.strips if strip.action is not None]
        datablock.animation_data.nla_tracks.remove(track)
        for action in actions:
            if action.users == 0 and SOURCE_KEY in action:
                bpy.data.actions.remove(action)


def rescale_motion(motion, fps: float):
    """A Motion keyed at its own fps moved onto a scene at `fps` (times kept, from frame_start)."""
    from ..core.rig.motion import Motion

    if abs(motion.fps - fps) < 1e-9:
        return motion
    ratio = fps / motion.fps
    start = motion.frame_start
    tracks = {name: np.stack([start + (keys[:, 0] - start) * ratio, keys[:, 1]], axis=1)
              for name, keys in motion.tracks.items()}
    return Motion(motion.name, fps, start, start + (motion.frame_end - start) * ratio, tracks,
                  motion.interpolation)


def blender_face_rig(plane: bpy.types.Object):
    """core.rig.FaceRig of the rig as it is in Blender: Basis + the 52 ARKit shape keys."""
    from ..core.rig.names import ARKIT_NAMES
    from ..core.rig.rig import FaceRig

    rig = plane.portrait.rig
    shape_keys = rig.data.shape_keys
    missing = [name for name in ARKIT_NAMES
               if shape_keys is None or name not in shape_keys.key_blocks]
    if missing:
        raise PortraitError(f"{rig.name}: shape key '{missing[0]}' is missing; the video solve "
                            "needs all 52 ARKit shape keys")

    def coords(key_block):
        values = np.empty(len(key_block.data) * 3, np.float32)
        key_block.data.foreach_get("co", values)
        return values.reshape(-1, 3).astype(np.float64)

    basis = coords(shape_keys.reference_key)
    pivot = checks.pivot(rig, PIVOT_KEY)
    deltas = np.stack([coords(shape_keys.key_blocks[name]) - basis for name in ARKIT_NAMES])
    return FaceRig(basis + pivot, deltas, pivot, image_size(plane))


class _Cancelled(Exception):
    pass


class SolveJob:
    """A video solve on a worker thread (numpy, mediapipe and scipy only: no bpy there).

    The operator polls `state` for progress, sets `cancel` on Esc, and keys the finished
    motion on the main thread.
    """

    def __init__(self, video: str, face_rig, landmarks: np.ndarray, fps: float, frame_start: int,
                 smoothing: float, stride: int, reduce: float):
        self.video, self.face_rig, self.landmarks = video, face_rig, landmarks
        self.fps, self.frame_start = fps, frame_start
        self.smoothing, self.stride, self.reduce = smoothing, stride, reduce
        self.cancel = threading.Event()
        self.state = ("tracking", 0, 0)
        self.motion = None  # core.rig.Motion when the solve finished
        self.error: str | None = None
        self.thread = threading.Thread(target=self.run, daemon=True)

    def _progress(self, stage: str, done: int, total: int) -> None:
        if self.cancel.is_set():
            raise _Cancelled
        self.state = (stage, done, total)

    def run(self) -> None:
        from ..core.sources.video_solve import solve_motion, solve_video

        try:
            solve, _, _ = solve_video(self.video, self.face_rig, self.landmarks,
                                      smoothing=self.smoothing, stride=self.stride,
                                      progress=self._progress)
            self.motion = solve_motion(solve, self.fps, self.frame_start,
                                       reduce=self.reduce if self.reduce > 0 else None,
                                       name=Path(self.video).stem)
        except _Cancelled:
            pass
        except PortraitError as exc:
            self.error = str(exc)
        except Exception as exc:  # a worker thread must hand every failure to the operator
            self.error = f"video solve failed: {type(exc).__name__}: {exc}"

    @property
    def fraction(self) -> float:
        """Overall progress 0..1: tracking is about a tenth of the work, solving the rest."""
        stage, done, total = self.state
        part = done / total if total else 0.0
        return 0.1 * part if stage == "tracking" else 0.1 + 0.9 * part


class _PortraitOperator:
    portrait: StringProperty(name="Portrait", description="Portrait object "
                             "(default: the active portrait)")

    def fail(self, message: str) -> set[str]:
        self.report({"ERROR"}, message)
        return {"CANCELLED"}


class PORTRAIT_OT_import_motion(_PortraitOperator, bpy.types.Operator):
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

    def _prepare(self, context):
        plane = find_portrait(context, self.portrait)
        if not self.filepath:
            raise PortraitError("no file given: choose a driving video or a motion .json")
        path = bpy.path.abspath(self.filepath)
        if not Path(path).is_file():
            raise PortraitError(f"{path}: no such file")
        return plane, path

    def _finish(self, context, plane, motion, what: str) -> set[str]:
        from ..core.sources.tracks import key_count

        motion = rescale_motion(motion, scene_fps(context.scene))
        layer_motion(plane, motion, f"Motion: {motion.name or Path(self.filepath).stem}", "import")
        self.report({"INFO"}, f"{what}: {len(motion.tracks)} curves, {key_count(motion)} keys "
                              f"(frames {motion.frame_start:g}..{motion.frame_end:g})")
        return {"FINISHED"}

    def _job(self, context, plane, path) -> SolveJob:
        from ..core.media import VIDEO_SUFFIXES

        if Path(path).suffix.lower() not in VIDEO_SUFFIXES:
            raise PortraitError(f"{path}: not a motion .json nor a video "
                                f"({', '.join(sorted(VIDEO_SUFFIXES))})")
        return SolveJob(path, blender_face_rig(plane), source_landmarks(plane),
                        scene_fps(context.scene), context.scene.frame_start, self.smoothing,
                        self.every, self.reduce)

    def execute(self, context):
        """Motion JSON: key it. Video: solve modal in a window (progress, Esc cancels), else
        blocking (background mode, scripts without a window)."""
        try:
            plane, path = self._prepare(context)
            if Path(path).suffix.lower() == ".json":
                from ..core.rig.motion import load_motion

                return self._finish(context, plane, load_motion(path), "Motion")
            job = self._job(context, plane, path)
            if bpy.app.background or context.window is None:
                job.run()
                if job.error:
                    raise PortraitError(job.error)
                return self._finish(context, plane, job.motion, "Video solve")
        except PortraitError as exc:
            return self.fail(str(exc))
        self._solve = job
        # By name: the user keeps working while the solve runs; look the portrait up again then.
        self._plane_name = plane.name
        job.thread.start()
        manager = context.window_manager
        self._timer = manager.event_timer_add(0.1, window=context.window)
        manager.modal_handler_add(self)
        manager.progress_begin(0, 100)
        return {"RUNNING_MODAL"}

    def invoke(self, context, event):
        if not self.filepath:
            context.window_manager.fileselect_add(self)  # the file browser then calls execute
            return {"RUNNING_MODAL"}
        return self.execute(context)

    def modal(self, context, event):
        job = self._solve
        if event.type == "ESC":
            job.cancel.set()
            job.thread.join()
            self._end(context)
            self.report({"WARNING"}, "Video solve cancelled; the rig is unchanged")
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        if job.thread.is_alive():
            stage, done, total = job.state
            context.window_manager.progress_update(int(100 * job.fraction))
            context.workspace.status_text_set(
                f"Video solve: {stage} frame {done} of {total}  -  Esc to cancel")
            return {"RUNNING_MODAL"}
        self._end(context)
        if job.error:
            return self.fail(job.error)
        try:
            return self._finish(context, find_portrait(context, self._plane_name), job.motion,
                                "Video solve")
        except PortraitError as exc:
            return self.fail(str(exc))

    def _end(self, context) -> None:
        manager = context.window_manager
        manager.event_timer_remove(self._timer)
        manager.progress_end()
        context.workspace.status_text_set(None)


class PORTRAIT_OT_import_livelink(_PortraitOperator, bpy.types.Operator):
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

    def invoke(self, context, event):
        if self.filepath:
            return self.execute(context)
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        from ..core.sources.livelink import import_livelink

        try:
            plane = find_portrait(context, self.portrait)
            if not self.filepath:
                raise PortraitError("no CSV file given")
            scene = context.scene
            motion = import_livelink(bpy.path.abspath(self.filepath), scene_fps(scene),
                                     scene.frame_start, self.swap_mouth_lr, self.gaze_from_eyes)
            layer_motion(plane, motion, f"Live Link: {motion.name}", "import")
        except PortraitError as exc:
            return self.fail(str(exc))
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


class PORTRAIT_OT_lipsync(_PortraitOperator, bpy.types.Operator):
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

    def invoke(self, context, event):
        if self.filepath or self.use_sound_strip:
            return self.execute(context)
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

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

    def execute(self, context):
        try:
            plane = find_portrait(context, self.portrait)
            motion = self._motion(context)
            layer_motion(plane, motion, f"Lip Sync: {motion.name}", "import")
        except PortraitError as exc:
            return self.fail(str(exc))
        self.report({"INFO"}, f"Lip sync: frames {motion.frame_start:g}..{motion.frame_end:g}")
        return {"FINISHED"}


class PORTRAIT_OT_add_life(_PortraitOperator, bpy.types.Operator):
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

    def execute(self, context):
        from ..core.sources.procedural import LifeSettings, life_motions

        layers = [name for name in ("blink", "breathing", "saccades", "sway") if getattr(self, name)]
        scene = context.scene
        try:
            plane = find_portrait(context, self.portrait)
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
        except PortraitError as exc:
            return self.fail(str(exc))
        self.report({"INFO"}, f"Life layers: {', '.join(layers)} (seed {self.seed})")
        return {"FINISHED"}


def baked_life(context, plane: bpy.types.Object):
    """The evaluated values of every channel the life layers animate, over the scene range,
    as a motion with reduced linear keys (base animation + life, as it plays)."""
    from ..core.sources.tracks import make_motion, reduced_tracks

    found = layer_tracks(plane, LIFE_PREFIX)
    if not found:
        raise PortraitError(f"{plane.name}: no life layers to bake (Add Life first)")
    rig = plane.portrait.rig
    shapes, axes = set(), set()
    for datablock, track in found:
        for strip in track.strips:
            slot = strip.action_slot if compat.SLOTTED_ACTIONS else None
            for fcurve in compat.fcurves(strip.action, slot):
                shape = SHAPE_PATH.fullmatch(fcurve.data_path)
                if isinstance(datablock, bpy.types.Key) and shape:
                    shapes.add(shape.group(1))
                elif fcurve.data_path == "rotation_euler":
                    axes.add(fcurve.array_index)
    shapes = sorted(shapes)
    heads = [name for name, index in keying.HEAD_AXES.items() if index in axes]
    scene = context.scene
    frames = np.arange(scene.frame_start, scene.frame_end + 1, dtype=np.float64)
    key_blocks = checks.shape_keys(plane, shapes).key_blocks if shapes else {}
    values = np.empty((len(frames), len(shapes) + len(heads)))
    current = scene.frame_current
    try:
        for row, frame in enumerate(frames):
            scene.frame_set(int(frame))
            values[row, :len(shapes)] = [key_blocks[name].value for name in shapes]
            values[row, len(shapes):] = [math.degrees(rig.rotation_euler[keying.HEAD_AXES[name]])
                                         for name in heads]
    finally:
        scene.frame_set(current)
    names = shapes + heads
    tolerances = {name: BAKE_TOLERANCE["degrees" if name in heads else "shape"] for name in names}
    tracks = reduced_tracks(frames, dict(zip(names, values.T)), tolerances)
    return make_motion("life_baked", scene_fps(scene), tracks, "LINEAR",
                       frame_range=(scene.frame_start, scene.frame_end))


class PORTRAIT_OT_bake_life(_PortraitOperator, bpy.types.Operator):
    """Bake the life layers into editable keys: one track holding what the blinks, gaze and head
    motion add up to with the animation below them (the life layers are removed)"""
    bl_idname = "portrait.bake_life"
    bl_label = "Bake Life"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        try:
            plane = find_portrait(context, self.portrait)
            motion = baked_life(context, plane)
            check_channels(plane, motion)  # before the life layers go: a refusal keeps them
            remove_tracks(layer_tracks(plane, LIFE_PREFIX))
            layer_motion(plane, motion, "Life (baked)", BAKED_SOURCE)
        except PortraitError as exc:
            return self.fail(str(exc))
        from ..core.sources.tracks import key_count

        self.report({"INFO"}, f"Baked {len(motion.tracks)} curves into {key_count(motion)} keys")
        return {"FINISHED"}


class VIEW3D_PT_portrait_motion(bpy.types.Panel):
    """Motion sources: performance capture, mocap, lip sync, procedural life"""
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Portrait"
    bl_label = "Motion"
    bl_idname = "VIEW3D_PT_portrait_motion"
    bl_parent_id = "VIEW3D_PT_portrait"

    @classmethod
    def poll(cls, context):
        try:
            find_portrait(context)
        except PortraitError:
            return False
        return True

    def draw(self, context):
        layout = self.layout
        column = layout.column(align=True)
        column.operator("portrait.import_motion", text="Video / Motion File", icon="FILE_MOVIE")
        column.operator("portrait.import_livelink", text="Live Link Face CSV", icon="OUTLINER_OB_CAMERA")
        row = column.row(align=True)
        row.operator("portrait.lipsync", text="Lip Sync Audio", icon="SOUND").use_sound_strip = False
        row.operator("portrait.lipsync", text="Sound Strip", icon="SEQUENCE").use_sound_strip = True
        column = layout.column(align=True)
        column.operator("portrait.add_life", icon="OUTLINER_OB_FORCE_FIELD")
        column.operator("portrait.bake_life", icon="KEYINGSET")
        layout.label(text="Layers play as NLA tracks over your keys", icon="NLA")


CLASSES = [PORTRAIT_OT_import_motion, PORTRAIT_OT_import_livelink, PORTRAIT_OT_lipsync,
           PORTRAIT_OT_add_life, PORTRAIT_OT_bake_life, VIEW3D_PT_portrait_motion]

register, unregister = bpy.utils.register_classes_factory(CLASSES)
