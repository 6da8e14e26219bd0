"""Video performance capture on a real clip: solved curves reproduce the tracked performance."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.errors import PortraitError
from core.landmarks import inter_ocular
from core.rig.names import ARKIT_NAMES
from core.rig.rig import FaceRig
from core.rig.motion import HEAD_ANGLE_TRACKS, HEAD_TRANSLATION_TRACKS
from core.sources.tracks import key_count, simplify_indices
from core.sources.video_solve import Solve, solve_motion, solve_video

CLIP = Path(__file__).resolve().parents[1].parent / "shared" / "testdata" / "driving" / \
    "lp_d18_man_frontal.mp4"  # static head, jaw wide open, pout
STRIDE = 3  # 72 solved frames of 216 (10 fps): enough to see motion, quick to fit


@pytest.fixture(scope="module")
def solved(default_portrait):
    image, landmarks = default_portrait
    rig = FaceRig.from_landmarks(landmarks, (image.shape[1], image.shape[0]))
    solve, targets, missing = solve_video(CLIP, rig, landmarks, smoothing=0.0, stride=STRIDE)
    return rig, landmarks, solve, targets, missing


def _curves(motion, names) -> np.ndarray:
    """(K, len(names)) values of dense tracks."""
    return np.stack([motion.tracks[name][:, 1] for name in names], axis=1)


def test_solved_curves_reproduce_the_tracked_landmarks(solved):
    rig, landmarks, solve, targets, missing = solved
    assert missing == 0
    assert solve.weights.shape == (len(targets[::STRIDE]), 52)
    assert solve.weights.min() >= 0.0 and solve.weights.max() <= 1.0
    # Re-render the landmarks from the motion document, as Blender or the CLI would key them.
    motion = solve_motion(solve, solve.fps, frame_start=1)
    rendered = rig.evaluate_batch(_curves(motion, ARKIT_NAMES), _curves(motion, HEAD_ANGLE_TRACKS),
                                  _curves(motion, HEAD_TRANSLATION_TRACKS))
    error = np.linalg.norm(rendered[..., :2] - targets[::STRIDE, :, :2], axis=-1).mean(axis=1)
    assert 100 * error.mean() / inter_ocular(landmarks) <= 3.0
    # The clip opens the jaw wide: the solve must say so.
    assert solve.weights[:, ARKIT_NAMES.index("jawOpen")].max() > 0.3


def test_the_blendshape_prior_pulls_the_solve_towards_mediapipes_scores(solved):
    from core.sources.video_solve import solve_targets, track_video

    rig, landmarks, solve, targets, _ = solved
    _, scores, fps, _ = track_video(CLIP)
    scores = scores[::STRIDE]
    pulled = solve_targets(rig, targets[::STRIDE], fps / STRIDE, 0.0, scores=scores, prior=0.1)
    assert np.abs(pulled.weights - solve.weights).max() > 0.05
    assert np.abs(pulled.weights - scores).mean() < np.abs(solve.weights - scores).mean()
    assert pulled.weights.min() >= 0.0 and pulled.weights.max() <= 1.0
    assert pulled.residuals.mean() <= 3.0


def test_resampling_to_the_scene_rate(solved):
    _, _, solve, _, _ = solved
    motion = solve_motion(solve, 24.0, frame_start=5)
    frames = motion.tracks["jawOpen"][:, 0]
    duration = (len(solve.weights) - 1) / solve.fps
    np.testing.assert_array_equal(frames, 5 + np.arange(int(np.floor(duration * 24 + 1e-9)) + 1))
    assert motion.interpolation == "LINEAR"
    jaw = motion.tracks["jawOpen"][:, 1]
    expected = np.interp((frames - 5) / 24.0, np.arange(len(solve.weights)) / solve.fps,
                         solve.weights[:, ARKIT_NAMES.index("jawOpen")])
    np.testing.assert_allclose(jaw, expected, atol=1e-7)


def test_keyframe_reduction_stays_within_tolerance(solved):
    _, _, solve, _, _ = solved
    dense = solve_motion(solve, solve.fps)
    reduced = solve_motion(solve, solve.fps, reduce=0.03, reduce_degrees=0.5)
    assert key_count(reduced) < 0.5 * key_count(dense)
    for name, keys in reduced.tracks.items():
        full = dense.tracks[name]
        rebuilt = np.interp(full[:, 0], keys[:, 0], keys[:, 1])
        tolerance = 0.5 if name in HEAD_ANGLE_TRACKS else 0.002 if name.startswith("head.") else 0.03
        assert np.abs(rebuilt - full[:, 1]).max() <= tolerance + 1e-6, name
        assert keys[0, 0] == full[0, 0] and keys[-1, 0] == full[-1, 0]


def test_simplify_keeps_corners_and_drops_lines():
    frames = np.arange(11, dtype=float)
    values = np.array([0, 1, 2, 3, 4, 5, 4, 3, 2, 1, 0], float)  # a tent: 3 keys suffice
    np.testing.assert_array_equal(simplify_indices(frames, values, 1e-9), [0, 5, 10])
    noisy = values + np.array([0, 0.01, -0.01, 0, 0.02, 0, 0, -0.02, 0, 0.01, 0])
    kept = simplify_indices(frames, noisy, 0.05)
    np.testing.assert_array_equal(kept, [0, 5, 10])
    assert len(simplify_indices(frames, noisy, 0.0)) > 3


def test_smoothing_keeps_weights_in_range_and_calms_flicker(solved):
    _, _, solve, _, _ = solved
    smooth = solve.smoothed(1.5)
    assert smooth.weights.min() >= 0.0 and smooth.weights.max() <= 1.0
    flicker = np.abs(np.diff(solve.weights, 2, axis=0)).mean()
    assert np.abs(np.diff(smooth.weights, 2, axis=0)).mean() < flicker
    assert solve.smoothed(0.0) is solve


def test_bad_video_is_refused(tmp_path, default_portrait):
    from core.media import VideoWriter

    image, landmarks = default_portrait
    rig = FaceRig.from_landmarks(landmarks, (image.shape[1], image.shape[0]))
    text = tmp_path / "clip.mp4"
    text.write_text("not a video")
    with pytest.raises(PortraitError, match="not a readable video"):
        solve_video(text, rig, landmarks)
    blank = tmp_path / "blank.mp4"
    with VideoWriter(blank, 10.0, (64, 64)) as writer:
        for _ in range(5):
            writer.write(np.full((64, 64, 3), 128, np.uint8))
    with pytest.raises(PortraitError, match="no face found"):
        solve_video(blank, rig, landmarks)
    with pytest.raises(PortraitError, match="N >= 1"):
        solve_video(CLIP, rig, landmarks, stride=0)
    with pytest.raises(PortraitError, match="fps must be positive"):
        still = Solve(np.zeros((3, 52)), np.zeros((3, 3)), np.zeros((3, 3)), np.zeros(3), 30.0)
        solve_motion(still, 0.0)
