"""Motions: keyframed blendshape weights and head angles, as Blender would play them.

Motion JSON (presets/motions/*.json; also what the solve / mocap / lip-sync importers write):
    {"name": "...", "fps": 24.0, "frame_start": 1, "frame_end": 96,
     "tracks": {"jawOpen": [[frame, value], ...], "head.yaw": [[frame, degrees], ...], ...},
     "interpolation": "BEZIER" | "LINEAR" | "CONSTANT"}
Track names are the 52 ARKit names, "head.yaw" / "head.pitch" / "head.roll" (degrees, signs as
in core.rig.pose) and "head.x" / "head.y" / "head.z" (the head's translation, portrait units,
i.e. the rig object's location offset from its pivot). Frames are scene frames (floats allowed);
unlisted tracks stay 0; before the first key and after the last a track holds its end value.

Tracks play as the F-curves of core.rig.fcurve's contract: what Blender plays is what
Motion.track computes.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import PortraitError
from .fcurve import INTERPOLATIONS, evaluate_track
from ..validate import (MAX_DEGREES, MAX_FRAME, MAX_OFFSET, MAX_WEIGHT, MIN_FRAME,
                        finite_array, float_array, frame_rate, frame_span, number, within)
from .names import ARKIT_NAMES, NUM_SHAPES
from .presets import preset_names, resolve_preset

HEAD_ANGLE_TRACKS = ("head.yaw", "head.pitch", "head.roll")
HEAD_TRANSLATION_TRACKS = ("head.x", "head.y", "head.z")
TRACK_NAMES = tuple(ARKIT_NAMES) + HEAD_ANGLE_TRACKS + HEAD_TRANSLATION_TRACKS

def _parse_keys(name: str, raw) -> np.ndarray:
    keys = float_array(raw, f"motion track {name!r}: keys [[frame, value], ...]", (-1, 2))
    if len(keys) == 0:
        raise PortraitError(f"motion track {name!r}: keys must be a non-empty [[frame, value], ...]")
    keys = keys[np.argsort(keys[:, 0], kind="stable")]
    if (np.diff(keys[:, 0]) == 0).any():
        raise PortraitError(f"motion track {name!r}: two keys on one frame")
    return keys


def track_limit(name: str) -> float:
    """The largest magnitude a track's values may have (weights, degrees, portrait units)."""
    if name in HEAD_ANGLE_TRACKS:
        return MAX_DEGREES
    return MAX_OFFSET if name in HEAD_TRANSLATION_TRACKS else MAX_WEIGHT


@dataclass
class Motion:
    """Keyframed tracks ({track name: keys (K, 2) frame, value}) over scene frames."""
    name: str
    fps: float
    frame_start: float
    frame_end: float
    tracks: dict[str, np.ndarray] = field(default_factory=dict)
    interpolation: str = "BEZIER"

    @classmethod
    def from_dict(cls, data: dict) -> "Motion":
        """A motion from its JSON dict; a one-line PortraitError says what is wrong."""
        if not isinstance(data, dict):
            raise PortraitError("a motion must be a JSON object with 'fps', 'frame_start', "
                                "'frame_end' and 'tracks'")
        missing = [key for key in ("fps", "frame_start", "frame_end", "tracks") if key not in data]
        if missing:
            raise PortraitError(f"motion: missing {', '.join(repr(k) for k in missing)}")
        fps = frame_rate(data["fps"], "motion: fps")
        frame_start = number(data["frame_start"], "motion: frame_start", MIN_FRAME, MAX_FRAME)
        frame_end = number(data["frame_end"], "motion: frame_end", MIN_FRAME, MAX_FRAME)
        if frame_end < frame_start:
            raise PortraitError(f"motion: frame_end ({data['frame_end']!r}) is before "
                                f"frame_start ({data['frame_start']!r})")
        interpolation = str(data.get("interpolation", "BEZIER")).upper()
        if interpolation not in INTERPOLATIONS:
            raise PortraitError(f"motion: interpolation {data.get('interpolation')!r} is not one "
                                f"of {', '.join(INTERPOLATIONS)}")
        if not isinstance(data["tracks"], dict):
            raise PortraitError("motion: 'tracks' must map track names to [[frame, value], ...]")
        tracks = {}
        for name, raw in data["tracks"].items():
            if name not in TRACK_NAMES:
                raise PortraitError(f"motion: unknown track {name!r} (expected an ARKit name such "
                                    f"as 'jawOpen' or one of {', '.join(HEAD_ANGLE_TRACKS)})")
            tracks[name] = _parse_keys(name, raw)
        motion = cls(str(data.get("name", "motion")), fps, frame_start, frame_end, tracks,
                     interpolation)
        motion.check_limits("motion")
        return motion

    def check_limits(self, where: str) -> None:
        """Refuse what Blender cannot key or the rig cannot show: non-finite numbers, frames
        outside Blender's range, weights, angles or offsets beyond their limits. Every source
        (files, solves, takes, audio, rescaling) passes here before a key is written."""
        frame_rate(self.fps, f"{where}: fps")
        frame_span(self.frame_start, self.frame_end, where)
        for name, keys in self.tracks.items():
            place = f"{where}, track {name!r}"
            finite_array(keys, place)
            frame_span(float(keys[:, 0].min()), float(keys[:, 0].max()), place)
            limit = track_limit(name)
            within(keys[:, 1], place, -limit, limit)

    def to_dict(self) -> dict:
        def number(value: float):
            return int(value) if float(value).is_integer() else float(value)

        return {"name": self.name, "fps": float(self.fps), "frame_start": number(self.frame_start),
                "frame_end": number(self.frame_end),
                "tracks": {name: [[number(f), float(v)] for f, v in keys]
                           for name, keys in self.tracks.items()},
                "interpolation": self.interpolation}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    def save(self, path: str | os.PathLike) -> None:
        """Write the motion JSON atomically."""
        from ..media import atomic_path

        path = Path(path)
        if not path.parent.is_dir():
            raise PortraitError(f"{path.parent}: output folder does not exist")
        with atomic_path(path) as tmp:
            tmp.write_text(self.to_json() + "\n")

    def rescaled(self, fps: float) -> "Motion":
        """The motion moved onto a scene at `fps`: every key keeps its time in seconds from
        frame_start (self when the rates already agree)."""
        if abs(self.fps - fps) < 1e-9:
            return self
        ratio = fps / self.fps
        start = self.frame_start
        tracks = {name: np.stack([start + (keys[:, 0] - start) * ratio, keys[:, 1]], axis=1)
                  for name, keys in self.tracks.items()}
        return Motion(self.name, fps, start, start + (self.frame_end - start) * ratio, tracks,
                      self.interpolation)

    @property
    def duration(self) -> float:
        """Seconds from frame_start to frame_end."""
        return (self.frame_end - self.frame_start) / self.fps

    def frames(self, fps: float | None = None) -> np.ndarray:
        """Scene frames (T,) sampled at `fps` (default the motion's own) from frame_start to frame_end."""
        fps = self.fps if fps is None else float(fps)
        if not fps > 0:
            raise PortraitError(f"fps must be positive, got {fps}")
        count = int(math.floor(self.duration * fps + 1e-9)) + 1
        return self.frame_start + np.arange(count) * (self.fps / fps)

    def track(self, name: str, frames: np.ndarray) -> np.ndarray:
        """One track's values at scene frames (N,); 0 where the track is absent."""
        if name not in self.tracks:
            return np.zeros(len(frames))
        return evaluate_track(self.tracks[name], frames, self.interpolation)

    def sample(self, fps: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weights (T, 52), head angles (T, 3) yaw/pitch/roll deg, translations (T, 3) at `fps`."""
        frames = self.frames(fps)
        weights = np.stack([self.track(name, frames) for name in ARKIT_NAMES], axis=1)
        heads = np.stack([self.track(name, frames) for name in HEAD_ANGLE_TRACKS], axis=1)
        translations = np.stack([self.track(name, frames) for name in HEAD_TRANSLATION_TRACKS], axis=1)
        assert weights.shape[1] == NUM_SHAPES
        return weights, heads, translations


def list_motions() -> list[str]:
    """Names of the motion presets (presets/motions/*.json)."""
    return preset_names("motions")


def load_motion(name_or_path: str | os.PathLike) -> Motion:
    """A motion from a JSON file, or a preset by name (see list_motions())."""
    path = resolve_preset("motions", name_or_path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise PortraitError(f"{path}: cannot read the motion ({type(exc).__name__})") from None
    except json.JSONDecodeError as exc:
        raise PortraitError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except (ValueError, RecursionError) as exc:  # a number of 5000 digits, nesting 10^5 deep
        raise PortraitError(f"{path}: not a motion JSON ({type(exc).__name__})") from None
    try:
        return Motion.from_dict(data)
    except PortraitError as exc:
        raise PortraitError(f"{path}: {exc}") from None


def motion_landmarks(rig, motion: Motion, fps: float | None = None) -> np.ndarray:
    """The rig played through a motion at `fps` (default the motion's): (T, 478, 3) pixels."""
    weights, heads, translations = motion.sample(fps)
    return rig.evaluate_batch(weights, heads, translations)
