"""A sequence of frames rendered in this process or in worker processes, yielded in order.

A frame's render holds the GIL for most of its time (hundreds of small numpy calls around one
resampling), so threads cannot overlap frames; processes can. Each worker builds its own
Generator once from the same Scene and renders whole frames; they come back out of order and
are yielded in order, at most two per worker in flight or waiting, so the parent holds a
bounded number of frames whatever the sequence's length. Frames are rendered into memory that
is reused (a worker renders into its slot of the parent's shared memory; one process, into one
frame; the parent copies each out of its slot into one frame), so a yielded frame holds until
the next one is asked for: write it, or copy it to keep it. New memory for every frame costs at
large sizes (see Generator.render's out). Workers are spawned, not forked:
forking after OpenCV's or mediapipe's threads have started is unsafe. A frame is the same
bytes from any worker (render is a pure function of the target and the Scene).
"""
from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import numpy as np

from .references import Reference

FRAMES_PER_WORKER = 2  # in flight or finished and waiting, per worker: keeps each one busy


@dataclass
class Scene:
    """What every frame's render takes: the portrait (H, W, 3) uint8, its landmarks (478, 3),
    the resampling device, the references; with a driver, whether its mouth interior is used and
    its neutral frame (its creases are added when given)."""
    image: np.ndarray
    landmarks: np.ndarray
    device: str = "cpu"
    references: list[Reference] = field(default_factory=list)
    driver_mouth: bool = False
    driver_neutral: Reference | None = None


class FrameRenderer:
    """A Scene's generator (and the driver's detail layer), built once: render(target, own)."""

    def __init__(self, scene: Scene):
        from .detail import DriverDetail
        from .generator import Generator

        self.generator = Generator(scene.image, scene.landmarks, scene.device, scene.references)
        self.mouth = scene.driver_mouth
        self.detail = (None if scene.driver_neutral is None
                       else DriverDetail(scene.driver_neutral))

    def render(self, target: np.ndarray, own: Reference | None = None,
               out: np.ndarray | None = None) -> np.ndarray:
        """The frame (H, W, 3) uint8 for target landmarks (478, 3) and the driver's own frame
        (None without a driver, or where it has none); into out when given (returned)."""
        from .driver import render_driven

        return render_driven(self.generator, target, own, self.mouth, self.detail, out)


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def render_sequence(scene: Scene, targets: Iterable[np.ndarray],
                    driver_frame: Callable[[int], Reference | None] | None = None,
                    jobs: int = 1) -> Iterator[np.ndarray]:
    """Frames (H, W, 3) uint8 for targets (T, 478, 3), in order, each valid until the next is
    asked for (the memory is reused: copy a frame to keep it); driver_frame(index) is the
    driver's own frame for target `index` (read here, in order, and sent to the worker that
    renders it). jobs > 1: that many worker processes. Close the iterator (contextlib.closing)
    to stop early: the frames not started are dropped and the workers end after their current
    one. A worker's error is raised here, as it was raised there."""
    own = driver_frame or (lambda index: None)
    if jobs == 1:
        renderer = FrameRenderer(scene)
        frame = np.empty(scene.image.shape, np.uint8)
        for index, target in enumerate(targets):
            yield renderer.render(target, own(index), frame)
        return

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing.shared_memory import SharedMemory

    # Frames come back through shared memory, one slot per frame in flight or waiting: pickled
    # through a pipe, they cost the parent more than the workers save (at 512 px, 2 workers
    # were slower than 1 process). A frame is copied out of its slot into the one frame this
    # process yields (no view of the shared memory escapes: it is unmapped at the end).
    window = FRAMES_PER_WORKER * jobs
    shape = scene.image.shape
    slots = SharedMemory(create=True, size=window * int(np.prod(shape)))
    frames = np.ndarray((window, *shape), np.uint8, slots.buf)
    frame = np.empty(shape, np.uint8)
    threads = max(1, available_cores() // jobs)
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker,
                               initargs=(scene, threads, slots.name, window))
    pending = deque()

    def oldest() -> np.ndarray:
        """The oldest frame in flight, once rendered, copied out of its slot."""
        future, slot = pending.popleft()
        future.result()
        np.copyto(frame, frames[slot])
        return frame

    try:
        for index, target in enumerate(targets):
            slot = index % window
            pending.append((pool.submit(_render, target, own(index), slot), slot))
            if len(pending) == window:
                yield oldest()
        while pending:
            yield oldest()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        del frames
        slots.close()
        slots.unlink()


_renderer: FrameRenderer | None = None
_failure: BaseException | None = None  # the worker's Scene could not be built: each frame says why
_slots: tuple | None = None  # (the shared memory, its frames (slots, H, W, 3) uint8)


def _start_worker(scene: Scene, threads: int, slots: str, count: int) -> None:
    """A worker's start: Ctrl-C is the parent's to handle (the terminal sends it to the whole
    process group), its share of the cores, the parent's frame slots, its own renderer."""
    import signal

    import cv2

    global _renderer, _failure, _slots
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.setNumThreads(threads)
    memory = _attach(slots)
    _slots = (memory, np.ndarray((count, *scene.image.shape), np.uint8, memory.buf))
    try:
        _renderer = FrameRenderer(scene)
    except Exception as exc:  # raised again for each frame, so that the parent reports it
        _failure = exc


def _attach(name: str):
    """The parent's shared memory, which the parent unlinks, not this process. Python 3.13
    says so with track=False; before it, a spawned worker shares the parent's resource
    tracker, where registering the same memory again changes nothing (and taking it off there
    would take the parent's entry)."""
    from multiprocessing.shared_memory import SharedMemory

    try:
        return SharedMemory(name, track=False)
    except TypeError:  # Python < 3.13
        return SharedMemory(name)


def _render(target: np.ndarray, own: Reference | None, slot: int) -> None:
    """Render target into the parent's frame slot."""
    if _failure is not None:
        raise _failure
    frame = _slots[1][slot]
    _renderer.render(target, own, frame)
