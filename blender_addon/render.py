"""Rendering a portrait's frames into its cache, one frame per step, and publishing them.

A RenderJob evaluates the rig at each scene frame, renders the frames whose digest changed, and
when complete publishes the cached frames as a sequencer image strip and as the plane's image
sequence. The modal operator steps it from a timer, the background and command-line paths run it
to the end; both give the same bytes for a frame whatever the chunking.
"""
from __future__ import annotations

import functools
import time
from collections import OrderedDict
from pathlib import Path

import bpy
import numpy as np

from ..core.errors import PortraitError
from ..core.media import scale_landmarks
from ..core.validate import MAX_SCENE_FRAME
from . import compat, dependencies
from .cache import FrameCache, frame_digest
from .driver import PortraitDrivers
from .portrait import (blend_relative, cache_folder, image_node, image_size, portrait_landmarks,
                       portrait_pixels, show_current)
from .references import portrait_references
from .rig_eval import evaluate_landmarks

# Running jobs: the preview handler stays quiet while a job moves the current frame.
running_jobs = 0

_generators: OrderedDict = OrderedDict()  # (pixels, landmarks digests, size) -> Generator
MAX_GENERATORS = 2
STRIP_KEY = "portrait_strip"  # on sequencer strips the extension made: whose frames they show


def frame_size(image_size_px: tuple[int, int], percent: float) -> tuple[int, int]:
    """(W, H) of frames rendered at `percent` of the portrait's size."""
    width, height = image_size_px
    return max(16, round(width * percent / 100)), max(16, round(height * percent / 100))


@functools.lru_cache(maxsize=None)
def code_digest(package: str) -> str:
    """Digest of a core package's source: frames made by older code are not reused."""
    folder = Path(__file__).resolve().parents[1] / "core" / package
    return frame_digest(*(path.read_bytes() for path in sorted(folder.glob("*.py"))))


def cached_generator(pixels: np.ndarray, pixels_digest: str, landmarks: np.ndarray,
                     size: tuple[int, int], device: str, references: list,
                     references_identity: tuple):
    """A Generator for the portrait at `size` with its references (core Reference objects,
    identified by references_identity), reused across renders and preview frames."""
    from ..core.generator import Generator
    from ..core.media import resize_image

    key = (pixels_digest, frame_digest(landmarks), size, device, references_identity)
    if key not in _generators:
        portrait_size = (pixels.shape[1], pixels.shape[0])
        landmarks_at_size = scale_landmarks(np.asarray(landmarks, np.float64), portrait_size,
                                            size).astype(np.float32)
        _generators[key] = Generator(resize_image(pixels, size), landmarks_at_size, device,
                                     references)
        while len(_generators) > MAX_GENERATORS:
            _generators.popitem(last=False)
    _generators.move_to_end(key)
    return _generators[key]


class GeneratorFrames:
    """Animated portrait frames from core.generator."""
    folder_name = ""  # the frames sit in the cache folder itself; sketches in subfolders
    shown_on_plane = True

    def __init__(self, plane: bpy.types.Object, long_side: int | None = None):
        dependencies.require("render")
        pixels, pixels_digest = portrait_pixels(plane)
        landmarks = portrait_landmarks(plane)
        self.portrait_size = image_size(plane)
        percent = plane.portrait.resolution
        if long_side:  # preview: a fixed long side instead of the render resolution
            percent = min(100.0, 100.0 * long_side / max(self.portrait_size))
        self.size = frame_size(self.portrait_size, percent)
        references, references_identity = portrait_references(plane)
        self.generator = cached_generator(pixels, pixels_digest, landmarks, self.size,
                                          plane.portrait.device, references,
                                          references_identity)
        self.drivers = PortraitDrivers(plane)
        # The device is part of it: the backends differ by a level or two on sharp edges.
        self.key = ("generator", code_digest("generator"), self.size, plane.portrait.device,
                    pixels_digest, frame_digest(landmarks), references_identity)

    def frame_key(self, frame: int) -> tuple:
        """What scene frame `frame` depends on beyond its landmarks and self.key: the driver
        frame it takes pixels from, if any."""
        return self.drivers.identity(frame)

    def render(self, landmarks_px: np.ndarray, frame: int) -> np.ndarray:
        """Scene frame `frame` for landmarks (478, 3) in the portrait's pixels."""
        target = scale_landmarks(landmarks_px, self.portrait_size, self.size).astype(np.float32)
        return self.drivers.render(self.generator, target, frame)


class SketchFrames:
    """Landmark sketches (the generator's input) in a named style."""
    shown_on_plane = False

    def __init__(self, plane: bpy.types.Object, style: str):
        dependencies.require("sketch")
        from ..core.sketch import load_style

        self.style = load_style(style)
        self.folder_name = f"sketch_{self.style.name}"
        self.portrait_size = image_size(plane)
        self.size = frame_size(self.portrait_size, plane.portrait.resolution)
        self.key = ("sketch", code_digest("sketch"), repr(self.style), self.size)

    def frame_key(self, frame: int) -> tuple:
        """Nothing beyond the landmarks: a sketch is the same at any scene frame."""
        return ()

    def render(self, landmarks_px: np.ndarray, frame: int) -> np.ndarray:
        """The sketch of landmarks (478, 3) in the portrait's pixels (any scene frame)."""
        from ..core.sketch import draw_sketch

        target = scale_landmarks(landmarks_px, self.portrait_size, self.size)
        return draw_sketch(target.astype(np.float32), self.size, self.style)


def parse_frames(text: str) -> range:
    """'1-120' or '7' -> the inclusive range of scene frames."""
    try:
        first, _, last = text.partition("-")
        first, last = int(first), int(last or first)
    except ValueError:
        raise PortraitError(f"frames must look like 1-120 or 7, not '{text}'") from None
    if first < 0 or last < first:
        raise PortraitError(f"bad frame range '{text}': need 0 <= first <= last")
    if last > MAX_SCENE_FRAME:
        raise PortraitError(f"bad frame range '{text}': Blender's last frame is {MAX_SCENE_FRAME}")
    return range(first, last + 1)


class RenderJob:
    """Renders `frames` of a portrait into its cache; step() does one frame (a job for
    jobs.JobOperator: a timer tick per frame)."""
    tick = 0.001

    def __init__(self, scene: bpy.types.Scene, view_layer: bpy.types.ViewLayer,
                 plane: bpy.types.Object, renderer, frames: range):
        if len(frames) == 0:
            raise PortraitError("nothing to render: the frame range is empty")
        if frames[0] < 0:
            raise PortraitError(f"frame {frames[0]}: frames before 0 cannot be rendered")
        if renderer.shown_on_plane:
            image_node(plane)  # publish needs it: refuse now, not after the last frame
        self.scene, self.view_layer, self.plane = scene, view_layer, plane
        self.renderer = renderer  # GeneratorFrames or SketchFrames
        self.frames = frames
        self.cache = FrameCache(cache_folder(plane) / renderer.folder_name)
        self.done = self.rendered = 0
        self.started = time.perf_counter()
        self._original_frame = scene.frame_current
        self._open = True
        global running_jobs
        running_jobs += 1

    @property
    def finished(self) -> bool:
        return self.done == len(self.frames)

    def step(self) -> None:
        """Evaluate and (if changed) render the next frame."""
        frame = self.frames[self.done]
        self.scene.frame_set(frame)
        landmarks = evaluate_landmarks(self.plane, self.view_layer.depsgraph)
        digest = frame_digest(self.renderer.key, self.renderer.frame_key(frame),
                              landmarks.astype(np.float32))
        if not self.cache.is_current(frame, digest):
            self.cache.store(frame, self.renderer.render(landmarks, frame), digest)
            self.rendered += 1
        self.done += 1

    @property
    def progress(self) -> tuple[int, int]:
        return self.done, len(self.frames)

    @property
    def status(self) -> str:
        return (f"{self.plane.name}: frame {self.done} of {len(self.frames)} "
                f"({self.rendered} rendered)")

    @property
    def stopped(self) -> str:
        return (f"Cancelled after {self.done} of {len(self.frames)} frames; "
                "the finished frames are cached")

    def stop(self) -> None:
        """Esc: nothing to undo, every finished frame is complete in the cache."""

    def close(self) -> None:
        """Give the scene its frame back and fold the cache's journal into its manifest (the
        cache is consistent at any point, this only tidies it)."""
        if self._open:
            self._open = False
            global running_jobs
            running_jobs -= 1
            self.scene.frame_set(self._original_frame)
            self.cache.close()

    def run(self) -> "RenderJob":
        try:
            while not self.finished:
                self.step()
        finally:
            self.close()
        return self

    def summary(self) -> str:
        reused = self.done - self.rendered
        return (f"{self.plane.name}: {self.rendered} frame(s) rendered, {reused} unchanged, "
                f"in {time.perf_counter() - self.started:.1f} s -> {self.cache.folder}")


def _blend_path(path: Path, relative: bool) -> str:
    """A path as Blender should store it: relative to the .blend when the cache folder is."""
    return blend_relative(str(path)) if relative else str(path)


def strip_span(strip, cached: set[int], frames: range) -> tuple[int, int]:
    """Frames to show: this render's, joined with the old strip's cached span when they touch.

    So rendering 1-60 then 61-120 shows 1-120, as a single 1-120 render does.
    """
    first, last = frames[0], frames[-1]
    if strip is not None:
        old_first, old_last = strip.frame_final_start, strip.frame_final_end - 1
        if old_first <= last + 1 and old_last >= first - 1:
            while first - 1 >= old_first and first - 1 in cached:
                first -= 1
            while last + 1 <= old_last and last + 1 in cached:
                last += 1
    return first, last


def update_strip(scene: bpy.types.Scene, name: str, cache: FrameCache, frames: range,
                 channel: int, relative: bool):
    """Add or replace the image strip made for `name`, showing the cached frames; returns
    (strip, first, last).

    Only a strip the extension made (marked with STRIP_KEY) is replaced: a user's own strip that
    happens to be called `name` stays, and the new strip gets Blender's next free name. The new
    strip is complete before the old one is removed.
    """
    strips = compat.strips(scene)
    old = next((strip for strip in strips if strip.get(STRIP_KEY) == name), None)
    first, last = strip_span(old, set(cache.frames()), frames)
    if old is not None:
        channel = old.channel
    try:
        strip = strips.new_image(name, str(cache.path(first)), channel, first, fit_method="FIT")
    except RuntimeError as exc:
        raise PortraitError(f"sequencer: cannot add the strip '{name}' ({exc})") from None
    strip[STRIP_KEY] = name
    for frame in range(first + 1, last + 1):
        strip.elements.append(cache.path(frame).name)
    strip.directory = _blend_path(cache.folder, relative).rstrip("/\\") + "/"
    if old is not None:
        strips.remove(old)  # a new strip also drops the sequencer's cached images of the old one
        strip.name = name  # free again unless a user's strip holds it
        strip.channel = channel  # the old strip's place (the new one was shuffled off it)
    return strip, first, last


def show_sequence(plane: bpy.types.Object, cache: FrameCache, first: int, last: int,
                  relative: bool) -> None:
    """Make the plane's material play the cached frames (Image Texture, source SEQUENCE)."""
    settings = plane.portrait
    path = _blend_path(cache.path(first), relative)
    image = settings.frames_image
    if image is None:
        image = bpy.data.images.load(str(cache.path(first)), check_existing=False)
        image.name = f"{plane.name}_frames"
        settings.frames_image = image
    image.source = "SEQUENCE"
    image.filepath = path
    image.reload()
    settings.sequence_start, settings.sequence_length = first, last - first + 1
    show_current(plane)


def publish(job: RenderJob, sequencer_scene: bpy.types.Scene, channel: int = 1,
            suffix: str = "") -> bpy.types.Strip:
    """After a complete render: strip in the sequencer, status; frames on the plane if animated."""
    plane = job.plane
    relative = plane.portrait.cache_dir.startswith("//")
    strip, first, last = update_strip(sequencer_scene, plane.name + suffix, job.cache, job.frames,
                                      channel, relative)
    if job.renderer.shown_on_plane:
        show_sequence(plane, job.cache, first, last, relative)
        settings = plane.portrait
        settings.frames_cached = len(job.cache.frames())
        settings.last_render_seconds = time.perf_counter() - job.started
        settings.last_render_time = time.strftime("%Y-%m-%d %H:%M:%S")
    return strip
