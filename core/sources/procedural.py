"""Procedural life: blinks, breathing, eye saccades and idle head sway as sparse keyed curves.

Each layer is its own Motion so Blender can stack it on its own NLA track over the
animator's keys (additively: a blink adds to whatever the eyelids already do). The same seed
gives the same keys; each layer draws from its own stream (seed, layer) so switching one layer
off does not reshuffle the others.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import PortraitError
from ..validate import MAX_DEGREES, MAX_WEIGHT, frame_rate, frame_span, number
from ..rig.motion import Motion
from .tracks import keyed, make_motion

LAYERS = ("blink", "breathing", "saccades", "sway")
GAZE_SHAPES = ("eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeLookDownLeft",
               "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight", "eyeLookDownRight")


@dataclass
class LifeSettings:
    """Rates in events per minute, times in seconds, angles in degrees, gaze in shape units."""
    blink_rate: float = 17.0  # adults at rest blink ~15-20 times a minute
    blink_duration: float = 0.25
    blink_randomness: float = 0.5  # 0 = metronome, 1 = intervals from 0.1x to 1.9x the mean
    breathing_rate: float = 14.0
    breathing_depth: float = 0.6  # head pitch swing per breath
    saccade_interval: float = 1.2  # mean fixation time
    saccade_amplitude: float = 0.25  # largest gaze shape weight of a fixation
    sway_amplitude: float = 1.5  # largest head yaw; pitch and roll take 60 %
    sway_period: float = 4.0  # mean time between sway targets


def _rng(seed: int, layer: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), LAYERS.index(layer)])


def blink_tracks(frame_start: int, frame_end: int, fps: float, settings: LifeSettings,
                 seed: int) -> dict[str, np.ndarray]:
    """Both eyelids close fast (a third of the blink) and open slower, at jittered intervals."""
    rng = _rng(seed, "blink")
    mean_interval = 60.0 / settings.blink_rate
    close_frames = max(1, round(settings.blink_duration * fps / 3.0))
    open_frames = max(1, round(settings.blink_duration * fps) - close_frames)
    frames, values = [frame_start], [0.0]
    time = mean_interval * rng.uniform(0.2, 1.0)  # the first blink comes early: no dead start
    while True:
        start = frame_start + round(time * fps)
        if start + close_frames + open_frames > frame_end:
            break
        if start > frames[-1]:
            frames += [start, start + close_frames, start + close_frames + open_frames]
            values += [0.0, 1.0, 0.0]
        jitter = settings.blink_randomness * rng.uniform(-0.9, 0.9)
        time += mean_interval * (1.0 + jitter)
    keys = keyed(frames, values)
    return {"eyeBlinkLeft": keys, "eyeBlinkRight": keys.copy()}


def breathing_tracks(frame_start: int, frame_end: int, fps: float, settings: LifeSettings,
                     seed: int) -> dict[str, np.ndarray]:
    """The head rises and settles with each breath: pitch keys at each breath's turning points."""
    rng = _rng(seed, "breathing")
    half_period = 30.0 / settings.breathing_rate * fps  # frames between inhale and exhale peaks
    phase = rng.uniform(0.0, half_period)
    frames, values = [frame_start], [0.0]
    step, frame = 0, frame_start + phase
    while frame <= frame_end:
        # Inhale lifts the chin a little (negative pitch), exhale returns it.
        frames.append(round(frame))
        values.append(-settings.breathing_depth if step % 2 == 0 else 0.0)
        step += 1
        frame += half_period * rng.uniform(0.9, 1.1)
    return {"head.pitch": keyed(*_unique(frames, values))}


def saccade_tracks(frame_start: int, frame_end: int, fps: float, settings: LifeSettings,
                   seed: int) -> dict[str, np.ndarray]:
    """The gaze holds a fixation, then jumps to the next in two frames (saccades take ~50 ms)."""
    rng = _rng(seed, "saccades")
    frames, gazes = [frame_start], [np.zeros(2)]
    frame = frame_start
    while True:
        # Fixations last at least ~0.2 s; longer ones are exponentially rarer.
        hold = max(1, round(fps * (0.2 + max(settings.saccade_interval - 0.2, 0.0)
                                    * rng.exponential(1.0))))
        jump = frame + hold
        if jump + 2 > frame_end:
            break
        # Small fixations around the centre, wider sideways than up and down.
        target = np.clip(rng.normal(0.0, 0.5, 2) * [1.0, 0.6], -1.0, 1.0)
        target *= settings.saccade_amplitude
        frames += [jump, jump + 2]
        gazes += [gazes[-1], target]
        frame = jump + 2
    gazes = np.array(gazes)
    rightward, upward = gazes[:, 0], gazes[:, 1]
    # Subject's-right gaze: left eye in, right eye out; both eyes share up/down.
    right, left = np.clip(rightward, 0, None), np.clip(-rightward, 0, None)
    up, down = np.clip(upward, 0, None), np.clip(-upward, 0, None)
    curves = {"eyeLookInLeft": right, "eyeLookOutLeft": left, "eyeLookUpLeft": up,
              "eyeLookDownLeft": down, "eyeLookInRight": left, "eyeLookOutRight": right,
              "eyeLookUpRight": up, "eyeLookDownRight": down}
    return {name: keyed(frames, curves[name]) for name in GAZE_SHAPES}


def sway_tracks(frame_start: int, frame_end: int, fps: float, settings: LifeSettings,
                seed: int) -> dict[str, np.ndarray]:
    """Slow drifting head angles: random targets every few seconds, eased between (Bezier)."""
    rng = _rng(seed, "sway")
    limits = settings.sway_amplitude * np.array([1.0, 0.6, 0.6])
    frames, angles = [frame_start], [np.zeros(3)]
    frame = frame_start
    while True:
        frame += max(2, round(settings.sway_period * fps * rng.uniform(0.6, 1.4)))
        if frame > frame_end:
            break
        frames.append(frame)
        angles.append(rng.uniform(-1.0, 1.0, 3) * limits)
    angles = np.array(angles)
    return {name: keyed(frames, angles[:, axis])
            for axis, name in enumerate(("head.yaw", "head.pitch", "head.roll"))}


def _unique(frames: list[int], values: list[float]) -> tuple[list[int], list[float]]:
    """Drop keys rounded onto an earlier key's frame (fast rates at low fps)."""
    kept_frames, kept_values = [], []
    for frame, value in zip(frames, values):
        if not kept_frames or frame > kept_frames[-1]:
            kept_frames.append(frame)
            kept_values.append(value)
    return kept_frames, kept_values


BUILDERS = {"blink": blink_tracks, "breathing": breathing_tracks,
            "saccades": saccade_tracks, "sway": sway_tracks}


# Each setting's range; a rate or a time must be positive, so its lowest value is above 0.
SETTING_LIMITS = {"blink_rate": (1e-3, 600.0), "blink_duration": (1e-3, 10.0),
                  "blink_randomness": (0.0, 1.0), "breathing_rate": (1e-3, 600.0),
                  "breathing_depth": (0.0, MAX_DEGREES), "saccade_interval": (1e-3, 3600.0),
                  "saccade_amplitude": (0.0, MAX_WEIGHT), "sway_amplitude": (0.0, MAX_DEGREES),
                  "sway_period": (1e-3, 3600.0)}
MAX_EVENTS = 20_000  # per layer: 20000 saccades are over six hours of footage


def life_motions(frame_start: int, frame_end: int, fps: float, seed: int = 0,
                 layers=LAYERS, settings: LifeSettings | None = None) -> dict[str, Motion]:
    """layer name -> Motion (BEZIER keys) over frame_start..frame_end."""
    settings = settings or LifeSettings()
    fps = frame_rate(fps)
    frame_span(frame_start, frame_end, "life layers")
    if frame_end <= frame_start:
        raise PortraitError(f"empty frame range {frame_start}..{frame_end}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise PortraitError(f"seed must be a whole number 0 or more, got {seed!r}")
    unknown = [layer for layer in layers if layer not in BUILDERS]
    if unknown:
        raise PortraitError(f"unknown life layer {unknown[0]!r} (choose from {', '.join(LAYERS)})")
    for name, (low, high) in SETTING_LIMITS.items():
        label = name.replace("_", " ")
        value = number(getattr(settings, name), label)
        if not low <= value <= high:
            need = "positive" if low > 0 else "within"
            raise PortraitError(f"{label} must be {need} {low:g}..{high:g}, got {value:g}")
    seconds = (frame_end - frame_start) / fps
    events = {"blink": settings.blink_rate / 60.0, "breathing": settings.breathing_rate / 60.0,
              "saccades": 1.0 / settings.saccade_interval, "sway": 1.0 / settings.sway_period}
    for layer in layers:
        if seconds * events[layer] > MAX_EVENTS:
            raise PortraitError(f"frames {frame_start}..{frame_end} at {fps:g} fps last "
                                f"{seconds:.0f} s: over {MAX_EVENTS} {layer} events, too long "
                                "for life layers")
    return {layer: make_motion(f"life_{layer}", fps,
                               BUILDERS[layer](int(frame_start), int(frame_end), fps, settings, seed),
                               frame_range=(int(frame_start), int(frame_end)))
            for layer in layers}
