"""The driving videos at render time: for renders that take the driver's own mouth interior or
its creases (core/generator/driver.py), which video frame each scene frame shows.

Each video import records on its actions (DRIVER_KEYS) the video they were solved from ("//"
allowed), the action frame showing the video's first frame, how many video frames pass per
action frame (the video's fps over the scene's, as the import keyed the motion) and the
neutral frame. At a scene frame, the driver follows what Blender plays on the rig's shape keys
(the expression, which the mouth and creases belong to): in the topmost track whose strip
playing there is such an action's, the action frame that strip plays, mapped as Blender's NLA
maps it (moved, scaled, repeated, reversed, trimmed, animated strip time; a strip holding its
first or last pose past its ends holds that video frame too). A frame where no video strip
plays has no driver and renders with the synthesized mouth. Muted strips and tracks, tracks a
soloed one silences, zero influence and a rig whose NLA is off do not drive.

The portrait keeps the two toggles (Mouth and Detail from Driver). Each video's landmarks are
tracked once per file version and neutral frame, by the import that solved it or else at the
first frame that needs them, and kept in memory; a driven frame's cache key holds the video
file's digest, its neutral frame and the video frame, so moving a strip re-renders exactly the
frames whose video frame changed.
"""
from __future__ import annotations

import hashlib
import math
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import bpy
from bpy.app.handlers import persistent

from ..core.errors import PortraitError
from . import dependencies
from .handlers import add_handler, remove_handler
from .portrait import file_version, portraits

# Custom properties of a video import's actions (editable in the action's properties).
DRIVER_KEYS = {"path": "portrait_driver_path", "start": "portrait_driver_start",
               "step": "portrait_driver_step", "neutral": "portrait_driver_neutral"}
# What files saved before drivers followed the strips hold on the portrait (see adopt_legacy).
LEGACY_KEYS = ("driver_path", "driver_frame_start", "driver_frame_step", "driver_neutral_frame")

# (path, mtime, size, neutral frame) -> core DrivingVideo; a couple of shots.
_loaded: OrderedDict = OrderedDict()
MAX_LOADED = 2
_digests: dict[tuple, str] = {}  # (path, mtime, size) -> sha256 of the file


@dataclass(frozen=True)
class VideoSource:
    """What a video import's action records: the video (a Blender path), the action frame
    showing its frame 0, video frames per action frame, its neutral frame."""
    path: str
    start: float
    step: float
    neutral_frame: int
    absolute: str  # the file, resolved against the .blend (or the action's library)

    def video_frame(self, action_frame: float) -> int:
        """The video frame shown at `action_frame` (maybe outside the video)."""
        from ..core.sources.video_solve import driver_frame

        return driver_frame(action_frame, self.start, self.step)


def record_driver(action: bpy.types.Action, path: str, start: float, step: float,
                  neutral_frame: int) -> None:
    """Mark `action` as keyed from the video at `path` (see VideoSource)."""
    action[DRIVER_KEYS["path"]] = path
    action[DRIVER_KEYS["start"]] = float(start)
    action[DRIVER_KEYS["step"]] = float(step)
    action[DRIVER_KEYS["neutral"]] = int(neutral_frame)


def video_source(action) -> VideoSource | None:
    """The video `action` was imported from; None if it is not a video import's. A record
    that is not one this extension could have written is refused in one line."""
    if action is None or DRIVER_KEYS["path"] not in action:
        return None
    path, start, step, neutral = (action.get(key) for key in DRIVER_KEYS.values())
    if not (isinstance(path, str) and path and isinstance(start, (int, float))
            and math.isfinite(start) and isinstance(step, (int, float)) and math.isfinite(step)
            and step > 0 and isinstance(neutral, int) and neutral >= 0):
        raise PortraitError(f"action '{action.name}': its driving video record "
                            f"({', '.join(DRIVER_KEYS.values())}) is damaged")
    return VideoSource(path, float(start), float(step), neutral,
                       os.path.normpath(bpy.path.abspath(path, library=action.library)))


class Driven(NamedTuple):
    """What drives a scene frame: the video, its frame, the strip and the action frame that
    strip plays there."""
    source: VideoSource
    video_frame: int
    strip: object  # bpy.types.NlaStrip
    action_frame: float


def _playing_tracks(animation) -> list:
    """The NLA tracks Blender evaluates, topmost first."""
    if animation is None or not animation.use_nla:
        return []
    tracks = list(animation.nla_tracks)
    solo = [track for track in tracks if track.is_solo]
    return list(reversed(solo or [track for track in tracks if not track.mute]))


def _evaluated_strip(strips, frame: float):
    """(strip, frame) Blender evaluates in a track's strips at scene frame `frame`, the frame
    clamped to the strip where it is only held (its extrapolation); None where none plays.

    Blender's rules (nlastrips_ctime_get_strip): the strip containing the frame; before the
    first strip, that strip if it holds (HOLD); between strips or after the last, the strip
    before if it holds (HOLD or HOLD_FORWARD); a muted strip found plays nothing; a meta
    strip's insides follow the same rules.
    """
    strips = list(strips)
    found = None
    for position, strip in enumerate(strips):
        if strip.frame_start <= frame <= strip.frame_end:
            found = strip, frame
        elif frame < strip.frame_start:
            held = strips[position - 1] if position else strip
            if held.extrapolation == "HOLD" or (position and held.extrapolation != "NOTHING"):
                found = held, (held.frame_end if position else held.frame_start)
        elif position == len(strips) - 1 and strip.extrapolation != "NOTHING":
            found = strip, strip.frame_end
        else:
            continue
        break
    if found is None or found[0].mute:
        return None
    if found[0].type == "META":
        return _evaluated_strip(found[0].strips, found[1])
    return found if found[0].type == "CLIP" and found[0].action is not None else None


def _influence(strip, frame: float) -> float:
    """The strip's influence at `frame` (animated, or its blend in and out ramps)."""
    if strip.use_animated_influence:
        curve = strip.fcurves.find("influence")
        return curve.evaluate(frame) if curve is not None else strip.influence
    blend_in, blend_out = abs(strip.blend_in), abs(strip.blend_out)
    if blend_in and frame <= strip.frame_start + blend_in:
        return abs(frame - strip.frame_start) / blend_in
    if blend_out and frame >= strip.frame_end - blend_out:
        return abs(strip.frame_end - frame) / blend_out
    return 1.0


def strip_action_frame(strip, frame: float) -> float:
    """The action frame strip `strip` plays at scene frame `frame` within it (Blender's NLA
    mapping: scale, repeat, reverse and the action range; or the animated strip time, cyclic
    or not)."""
    first, last = strip.action_frame_start, strip.action_frame_end
    if strip.use_animated_time:
        curve = strip.fcurves.find("strip_time")
        time = curve.evaluate(frame) if curve is not None else strip.strip_time
        # Cyclic: Blender plays the time wrapped into the range's length, from 0, not from
        # the range's start (nlastrip_evaluate_controls); the driver follows what it plays.
        return math.fmod(time - first, last - first) if strip.use_animated_time_cyclic else time
    length = (last - first) or 1.0
    scale = abs(strip.scale) or 1.0
    if abs(frame - strip.frame_end) < 1e-4 and strip.repeat == math.floor(strip.repeat):
        offset = length  # the strip's last frame ends the last repeat, not starts a new one
    else:
        offset = math.fmod(frame - strip.frame_start, length * scale) / scale
    return last - offset if strip.use_reverse else first + offset


def _rig_animation(plane: bpy.types.Object):
    """The animation data of the rig's shape keys (the expression: what the mouth interior
    and the creases belong to), or None."""
    rig = plane.portrait.rig
    shape_keys = rig.data.shape_keys if rig is not None and rig.type == "MESH" else None
    return shape_keys.animation_data if shape_keys is not None else None


def video_sources(plane: bpy.types.Object, playing: bool = True):
    """The VideoSource of every video import's strip on the rig's shape keys: only of those
    in tracks and strips Blender plays if `playing`, else of all."""
    animation = _rig_animation(plane)
    if animation is None:
        return
    tracks = _playing_tracks(animation) if playing else animation.nla_tracks
    pending = [strip for track in tracks for strip in track.strips]
    while pending:
        strip = pending.pop()
        if strip.type == "META":
            pending.extend(strip.strips)
        elif not (playing and strip.mute):
            source = video_source(strip.action)
            if source is not None:
                yield source


def driver_at(plane: bpy.types.Object, frame: float) -> Driven | None:
    """What drives scene frame `frame`: the video strip of the topmost track whose playing
    strip there (held ones included) is a video import's, or None."""
    for track in _playing_tracks(_rig_animation(plane)):
        found = _evaluated_strip(track.strips, frame)
        if found is None:
            continue
        strip, clamped = found
        source = video_source(strip.action)
        if source is None or _influence(strip, clamped) <= 0:
            continue
        action_frame = strip_action_frame(strip, clamped)
        return Driven(source, source.video_frame(action_frame), strip, action_frame)
    return None


def _file_digest(path: str) -> str:
    """sha256 of the video's bytes (once per file version): its identity, whatever its name."""
    version = file_version(Path(path), "the driving video")
    if version not in _digests:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _digests[version] = digest.hexdigest()
    return _digests[version]


def _keep(key: tuple, video) -> None:
    _loaded[key] = video
    while len(_loaded) > MAX_LOADED:
        _loaded.popitem(last=False)[1].close()


def remember_track(path: str, neutral_frame: int, track) -> None:
    """Keep a solve's track (T, 478, 3) of the video at `path` (absolute): renders need not
    track it again."""
    from ..core.generator.driver import DrivingVideo

    key = (*file_version(Path(os.path.normpath(path)), "the driving video"), neutral_frame)
    previous = _loaded.pop(key, None)
    if previous is not None:
        previous.close()
    _keep(key, DrivingVideo(key[0], track, neutral_frame))


def load_driver(source: VideoSource):
    """The core DrivingVideo of a source, tracked once per file version; a one-line error when
    it is missing or unreadable."""
    from ..core.generator.driver import DrivingVideo
    from ..core.sources.video_solve import track_video

    key = (*file_version(Path(source.absolute), "the driving video"), source.neutral_frame)
    if key not in _loaded:
        dependencies.require("driver")
        track, _, _, _ = track_video(key[0], neutral_frame=source.neutral_frame)
        _keep(key, DrivingVideo(key[0], track, source.neutral_frame))
    _loaded.move_to_end(key)
    return _loaded[key]


class PortraitDrivers:
    """The driving videos of one portrait's renders, frame by frame (nothing when both
    toggles are off). The NLA is looked up at each frame, so an edit between two frames of a
    running render is followed, and no Blender data is held."""

    def __init__(self, plane: bpy.types.Object):
        settings = plane.portrait
        self.plane = plane
        self.mouth, self.detail = settings.mouth_from_driver, settings.detail_from_driver
        if not (self.mouth or self.detail):
            return
        if next(video_sources(plane, playing=False), None) is None:
            raise PortraitError(f"{plane.name}: Mouth or Detail from Driver is on, but no video "
                                "strip is on the rig (import one: Motion > Video / Motion File)")
        for source in video_sources(plane):
            file_version(Path(source.absolute), "the driving video")  # missing: refuse now

    def at(self, frame: int):
        """(VideoSource, video frame) driving scene frame `frame`, or None."""
        if not (self.mouth or self.detail):
            return None
        driven = driver_at(self.plane, frame)
        return (driven.source, driven.video_frame) if driven else None

    def identity(self, frame: int) -> tuple:
        """What frame `frame` takes from a driver, for its cache key (() when nothing)."""
        found = self.at(frame)
        if found is None:
            return ()
        source, index = found
        return (_file_digest(source.absolute), source.neutral_frame, index, self.mouth,
                self.detail)

    def render(self, generator, target, frame: int):
        """generator's frame (H, W, 3) uint8 for target landmarks (478, 3) at scene frame
        `frame`, with its driver's pixels where one drives it."""
        found = self.at(frame)
        if found is None:
            return generator.render(target)
        source, index = found
        return load_driver(source).render(generator, target, index, self.mouth, self.detail)


def adopt_legacy(plane: bpy.types.Object) -> str:
    """A portrait from a file saved before drivers followed the strips held one driver (the
    last video imported) on the portrait: its record goes onto that import's actions, found
    by the video's name among the import layers (the topmost), and leaves the portrait.
    Returns what was done, for the console ("" if there was nothing to adopt)."""
    from .nla import LAYER_KEY

    settings = plane.portrait
    legacy = {key: settings.get(key) for key in LEGACY_KEYS}
    for key in LEGACY_KEYS:
        if key in settings:
            del settings[key]
    path = legacy["driver_path"]
    if not isinstance(path, str) or not path or plane.portrait.rig is None:
        return ""
    label = f"Motion: {Path(bpy.path.abspath(path)).stem} "
    adopted = []
    for datablock in (plane.portrait.rig.data.shape_keys, plane.portrait.rig):
        animation = datablock.animation_data if datablock else None
        for track in reversed(animation.nla_tracks if animation else ()):
            actions = [strip.action for strip in track.strips if strip.action is not None
                       and strip.action.get(LAYER_KEY) == "import"
                       and strip.action.name.startswith(label)]
            if actions:
                if video_source(actions[0]) is None:
                    start, step, neutral = (legacy[key] for key in LEGACY_KEYS[1:])
                    # An absent value was the old property's default.
                    record_driver(actions[0], path, 1.0 if start is None else start,
                                  1.0 if step is None else step,
                                  0 if neutral is None else neutral)
                adopted.append(actions[0].name)
                break
    if adopted:
        return f"{plane.name}: the driving video {path} now follows {', '.join(adopted)}"
    return (f"{plane.name}: the driving video {path} matches no imported layer any more; "
            "import the video again to drive renders with it")


@persistent
def adopt_legacy_drivers(_file_path) -> None:
    """load_post: adopt the drivers of portraits saved by earlier versions."""
    for scene in bpy.data.scenes:
        for plane in portraits(scene):
            message = adopt_legacy(plane)
            if message:
                print(f"Portrait Animator: {message}")


def register() -> None:
    add_handler(bpy.app.handlers.load_post, adopt_legacy_drivers)


def unregister() -> None:
    remove_handler(bpy.app.handlers.load_post, adopt_legacy_drivers)
    for video in _loaded.values():
        video.close()
    _loaded.clear()
