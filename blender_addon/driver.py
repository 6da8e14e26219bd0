"""The portrait's driving video at render time: the video its motion was imported from, for
renders that take the driver's own mouth interior or its creases from the frame each scene
frame shows (core/generator/driver.py).

The portrait's settings remember it: driver_path ("//" allowed), the scene frame showing the
video's first frame and how many video frames pass per scene frame (as the import keyed the
motion), the neutral frame, and the two toggles. The video's landmarks are tracked once per
file version (path, mtime, size) and neutral frame, by the import that solved it or else at
the first render that needs them, and kept in memory; the file's digest and those settings go
into the frames' cache key, so changing any of them re-renders.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path

import bpy

from ..core.errors import PortraitError
from . import dependencies
from .portrait import file_version

# (path, mtime, size, neutral frame) -> (core DrivingVideo, file digest); a couple of shots.
_loaded: OrderedDict = OrderedDict()
MAX_LOADED = 2


def _file_digest(path: str) -> str:
    """sha256 of a file's bytes: the video's identity, whatever its name."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _keep(key: tuple, video) -> None:
    _loaded[key] = (video, _file_digest(key[0]))
    while len(_loaded) > MAX_LOADED:
        old, _ = _loaded.popitem(last=False)[1]
        old.close()


def _key(path_text: str, neutral_frame: int) -> tuple:
    return (*file_version(Path(bpy.path.abspath(path_text)), "the driving video"),
            neutral_frame)


def remember_track(path_text: str, neutral_frame: int, track) -> None:
    """Keep a solve's track (T, 478, 3) of the video at path_text: renders need not track it
    again."""
    from ..core.generator.driver import DrivingVideo

    key = _key(path_text, neutral_frame)
    previous = _loaded.pop(key, None)
    if previous is not None:
        previous[0].close()
    _keep(key, DrivingVideo(key[0], track, neutral_frame))


def load_driver(path_text: str, neutral_frame: int):
    """(core DrivingVideo, file digest) of the video at path_text (a Blender path), tracked
    once per file version; a one-line error when it is missing or unreadable."""
    from ..core.generator.driver import DrivingVideo
    from ..core.sources.video_solve import track_video

    key = _key(path_text, neutral_frame)
    if key not in _loaded:
        dependencies.require("driver")
        track, _, _, _ = track_video(key[0], neutral_frame=neutral_frame)
        _keep(key, DrivingVideo(key[0], track, neutral_frame))
    _loaded.move_to_end(key)
    return _loaded[key]


def portrait_driver(plane: bpy.types.Object):
    """The plane's driving video (core DrivingVideo) when its renders take the driver's mouth
    or detail, else None; and its identity for cache keys (() when not used)."""
    settings = plane.portrait
    if not (settings.mouth_from_driver or settings.detail_from_driver):
        return None, ()
    if not settings.driver_path:
        raise PortraitError(f"{plane.name}: Mouth or Detail from Driver is on, but no driving "
                            "video was imported (Motion > Video / Motion File)")
    video, digest = load_driver(settings.driver_path, settings.driver_neutral_frame)
    return video, (digest, settings.driver_neutral_frame, settings.driver_frame_start,
                   settings.driver_frame_step, settings.mouth_from_driver,
                   settings.detail_from_driver)


def driver_index(plane: bpy.types.Object, frame: int) -> int:
    """The driving video's frame scene frame `frame` shows (maybe outside the video)."""
    from ..core.sources.video_solve import driver_frame

    settings = plane.portrait
    return driver_frame(frame, settings.driver_frame_start, settings.driver_frame_step)
