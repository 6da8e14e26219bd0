"""Procedural life: deterministic per seed, plausible blinks, bounded gaze and sway."""
from __future__ import annotations

import numpy as np
import pytest

from core.errors import PortraitError
from core.sources.procedural import LAYERS, LifeSettings, life_motions

FPS = 24.0
MINUTE = (1, 1 + 60 * 24)


def _keys(motion, name: str) -> np.ndarray:
    return motion.tracks[name]


def _json(motions: dict) -> list[str]:
    return [motion.to_json() for motion in motions.values()]


def test_same_seed_same_keys_other_seed_other_keys():
    first = _json(life_motions(*MINUTE, FPS, seed=7))
    assert first == _json(life_motions(*MINUTE, FPS, seed=7))
    assert all(a != b for a, b in zip(first, _json(life_motions(*MINUTE, FPS, seed=8))))


def test_layers_are_independent_streams():
    everything = life_motions(*MINUTE, FPS, seed=3)
    blink_only = life_motions(*MINUTE, FPS, seed=3, layers=["blink"])
    assert list(blink_only) == ["blink"]
    assert blink_only["blink"].to_json() == everything["blink"].to_json()


@pytest.mark.parametrize("rate", [10.0, 17.0, 30.0])
def test_blinks_per_minute_and_shape(rate):
    motion = life_motions(*MINUTE, FPS, seed=1, layers=["blink"],
                          settings=LifeSettings(blink_rate=rate))["blink"]
    keys = _keys(motion, "eyeBlinkLeft")
    assert np.array_equal(keys, _keys(motion, "eyeBlinkRight"))
    closed = keys[keys[:, 1] == 1.0]
    assert abs(len(closed) - rate) <= 0.3 * rate + 1
    assert set(keys[:, 1]) == {0.0, 1.0}
    assert np.all(np.diff(keys[:, 0]) > 0)
    # Each blink closes in about a third of its duration and is open again 0.25 s after it began.
    for index in np.flatnonzero(keys[:, 1] == 1.0):
        start, apex, end = keys[index - 1, 0], keys[index, 0], keys[index + 1, 0]
        assert apex - start < end - apex
        assert end - start == pytest.approx(0.25 * FPS, abs=1)


def test_gaze_sway_and_breathing_stay_within_their_amplitudes():
    settings = LifeSettings(saccade_amplitude=0.3, sway_amplitude=2.0, breathing_depth=0.8)
    motions = life_motions(*MINUTE, FPS, seed=5, settings=settings)
    gaze = np.stack([_keys(motions["saccades"], name)[:, 1]
                     for name in motions["saccades"].tracks])
    assert 0.0 <= gaze.min() and gaze.max() <= 0.3 and gaze.max() > 0.05
    # A saccade is a two-frame jump between held fixations.
    jumps = _keys(motions["saccades"], "eyeLookInLeft")
    assert np.all(np.diff(jumps[:, 0]) >= 1)
    yaw = _keys(motions["sway"], "head.yaw")[:, 1]
    assert np.abs(yaw).max() <= 2.0 and np.abs(yaw).max() > 0.2
    pitch = _keys(motions["breathing"], "head.pitch")[:, 1]
    assert set(np.round(pitch, 6)) == {0.0, -0.8}
    breaths = np.sum(pitch == -0.8)
    assert abs(breaths - 14) <= 3


def test_every_layer_spans_the_requested_range():
    motions = life_motions(10, 250, FPS, seed=0)
    assert set(motions) == set(LAYERS)
    for motion in motions.values():
        assert (motion.frame_start, motion.frame_end) == (10, 250)
        assert motion.interpolation == "BEZIER"
        frames = np.concatenate([_keys(motion, name)[:, 0] for name in motion.tracks])
        assert frames.min() >= 10 and frames.max() <= 250


@pytest.mark.parametrize("kwargs, message", [
    ({"layers": ["wink"]}, "unknown life layer 'wink'"),
    ({"settings": LifeSettings(blink_rate=0)}, "blink rate must be positive"),
    ({"settings": LifeSettings(blink_randomness=2)}, "blink randomness must be within 0..1"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(PortraitError, match=message):
        life_motions(*MINUTE, FPS, **kwargs)
    with pytest.raises(PortraitError, match="empty frame range"):
        life_motions(10, 10, FPS)
