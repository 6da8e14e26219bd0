"""core.rig on real MediaPipe landmarks of real portraits: basis, head pose, fit, motions, presets."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from core.errors import PortraitError
from core.landmarks import detect_landmarks
from core.landmarks.topology import (LEFT_EYE_CONTOUR, LEFT_EYE_LOWER, LEFT_EYE_UPPER,
                                     RIGHT_EYE_CONTOUR, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER)
from core.media import default_portrait_path, read_image
from core.rig import (ARKIT_NAMES, FaceRig, HeadPose, Motion, fit_rig, fit_sequence,
                      image_to_portrait, list_expressions, list_motions, load_expression,
                      load_motion, motion_landmarks, portrait_to_image)
from core.rig.basis import BROW
from core.rig.fcurve import SMOOTHING, evaluate_track

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"
PORTRAITS = [default_portrait_path(), TESTDATA / "portraits" / "photo_obama_official_portrait.jpg",
             TESTDATA / "portraits" / "painting_mona_lisa.jpg"]
CHIN, NOSE_TIP, RIGHT_EAR, LEFT_EAR, FOREHEAD = 152, 1, 234, 454, 10
UPPER_INNER_LIP, LOWER_INNER_LIP = 13, 14
RIGHT_CORNER, LEFT_CORNER = 61, 291  # the subject's right corner is on the image's left


@pytest.fixture(scope="module", params=PORTRAITS, ids=lambda p: p.stem)
def portrait(request):
    image = read_image(request.param)
    landmarks = detect_landmarks(image).astype(np.float64)
    rig = FaceRig.from_landmarks(landmarks, (image.shape[1], image.shape[0]))
    iod = float(np.linalg.norm(landmarks[468, :2] - landmarks[473, :2]))
    return rig, landmarks, iod


def shape(name: str, value: float = 1.0) -> np.ndarray:
    weights = np.zeros(len(ARKIT_NAMES))
    weights[ARKIT_NAMES.index(name)] = value
    return weights


def aperture(points: np.ndarray, upper: list[int], lower: list[int]) -> float:
    """Mean gap between paired upper and lower lid points (corners excluded), pixels."""
    return float(np.linalg.norm(points[upper[1:-1], :2] - points[lower[1:-1], :2], axis=1).mean())


def inside(point: np.ndarray, polygon: np.ndarray) -> bool:
    """Even-odd rule point-in-polygon test in 2D."""
    x, y = point[:2]
    result = False
    for (x0, y0), (x1, y1) in zip(polygon[:, :2], np.roll(polygon[:, :2], -1, axis=0)):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            result = not result
    return result


# --- names ---------------------------------------------------------------------------------

def test_names_are_the_52_arkit_names_in_live_link_order():
    with open(TESTDATA / "mocap" / "livelinkface_MySlate_3_Jason_Millers_iPhone.csv") as f:
        header = next(csv.reader(f))
    live_link = header[2:2 + 52]  # after Timecode, BlendShapeCount; PascalCase there
    assert len(ARKIT_NAMES) == len(set(ARKIT_NAMES)) == 52
    assert [n[0].upper() + n[1:] for n in ARKIT_NAMES] == live_link
    assert all(n[0].islower() for n in ARKIT_NAMES)


# --- rest, space, head pose -----------------------------------------------------------------

def test_zero_weights_and_pose_give_the_rest_landmarks(portrait):
    rig, landmarks, _ = portrait
    np.testing.assert_allclose(rig.evaluate(np.zeros(52)), landmarks, rtol=0, atol=1e-9)
    np.testing.assert_allclose(rig.evaluate({}, HeadPose()), landmarks, rtol=0, atol=1e-9)


def test_portrait_space_round_trip_and_axes():
    rng = np.random.default_rng(0)
    for size in [(512, 600), (1280, 720), (333, 333)]:
        points = rng.uniform(-50, 1300, (100, 3))
        np.testing.assert_allclose(portrait_to_image(image_to_portrait(points, size), size), points,
                                   atol=1e-9)
    # centre -> origin; image right -> +X; image up -> +Z; depth -> +Y; long side spans [-1, 1]
    corners = image_to_portrait(np.array([[640, 360, 0], [1280, 360, 0], [640, 0, 0],
                                          [640, 360, 64.0]]), (1280, 720))
    np.testing.assert_allclose(corners, [[0, 0, 0], [1, 0, 0], [0, 0, 0.5625], [0, 0.1, 0]],
                               atol=1e-12)


def test_head_yaw_moves_the_nose_more_than_the_ears_towards_image_right(portrait):
    rig, landmarks, iod = portrait
    turned = rig.evaluate(np.zeros(52), HeadPose(yaw=20.0))
    shift = turned[:, 0] - landmarks[:, 0]
    assert shift[NOSE_TIP] > 0.2 * iod  # positive yaw turns the face towards image right
    assert abs(shift[NOSE_TIP]) > abs(shift[RIGHT_EAR]) + 0.1 * iod
    assert abs(shift[NOSE_TIP]) > abs(shift[LEFT_EAR]) + 0.1 * iod


def test_pitch_nods_down_and_roll_tilts_the_top_towards_image_right(portrait):
    rig, landmarks, iod = portrait
    nodded = rig.evaluate(np.zeros(52), HeadPose(pitch=15.0))
    assert nodded[NOSE_TIP, 1] - landmarks[NOSE_TIP, 1] > 0.1 * iod
    tilted = rig.evaluate(np.zeros(52), HeadPose(roll=10.0))
    assert tilted[FOREHEAD, 0] - landmarks[FOREHEAD, 0] > 0.1 * iod
    moved = rig.evaluate(np.zeros(52), HeadPose(translation=(0.1, 0.0, 0.05)))
    scale = max(rig.image_size) / 2
    np.testing.assert_allclose(moved - landmarks, np.tile([0.1 * scale, -0.05 * scale, 0], (478, 1)),
                               atol=1e-9)


def test_evaluate_batch_matches_evaluate(portrait):
    rig, _, _ = portrait
    rng = np.random.default_rng(1)
    weights = rng.uniform(0, 1, (4, 52)) * (rng.uniform(size=(4, 52)) < 0.2)
    heads = rng.uniform(-15, 15, (4, 3))
    translations = rng.uniform(-0.05, 0.05, (4, 3))
    batch = rig.evaluate_batch(weights, heads, translations)
    for t in range(4):
        single = rig.evaluate(weights[t], HeadPose(*heads[t], translation=tuple(translations[t])))
        np.testing.assert_allclose(batch[t], single, atol=1e-9)


# --- the basis ------------------------------------------------------------------------------

def test_jaw_open_drops_the_chin_and_parts_the_lips(portrait):
    rig, rest, iod = portrait
    opened = rig.evaluate(shape("jawOpen"))
    assert opened[CHIN, 1] - rest[CHIN, 1] > 0.3 * iod  # image y grows downwards
    gap_rest = rest[LOWER_INNER_LIP, 1] - rest[UPPER_INNER_LIP, 1]
    gap_open = opened[LOWER_INNER_LIP, 1] - opened[UPPER_INNER_LIP, 1]
    assert gap_open - gap_rest > 0.3 * iod
    upper_move = np.linalg.norm(opened[UPPER_INNER_LIP, :2] - rest[UPPER_INNER_LIP, :2])
    lower_move = np.linalg.norm(opened[LOWER_INNER_LIP, :2] - rest[LOWER_INNER_LIP, :2])
    assert upper_move < 0.15 * lower_move  # the upper lip barely moves
    # mouthClose brings the lips back together over the open jaw
    closed = rig.evaluate(shape("jawOpen") + shape("mouthClose"))
    assert abs(closed[LOWER_INNER_LIP, 1] - closed[UPPER_INNER_LIP, 1] - gap_rest) < 0.03 * iod


@pytest.mark.parametrize("side", ["Left", "Right"])
def test_blink_closes_that_eye_only(portrait, side):
    rig, rest, _ = portrait
    eyes = {"Left": (LEFT_EYE_UPPER, LEFT_EYE_LOWER), "Right": (RIGHT_EYE_UPPER, RIGHT_EYE_LOWER)}
    other = "Right" if side == "Left" else "Left"
    blinked = rig.evaluate(shape(f"eyeBlink{side}"))
    assert aperture(blinked, *eyes[side]) <= 0.05 * aperture(rest, *eyes[side])
    other_points = sorted(set(eyes[other][0] + eyes[other][1]))
    np.testing.assert_allclose(blinked[other_points], rest[other_points], atol=1e-9)


@pytest.mark.parametrize("side", ["Left", "Right"])
def test_eye_look_moves_the_iris_inside_that_eye(portrait, side):
    rig, rest, iod = portrait
    iris = {"Left": 473, "Right": 468}
    contour = {"Left": LEFT_EYE_CONTOUR, "Right": RIGHT_EYE_CONTOUR}
    outward = 1 if side == "Left" else -1  # the subject's left is image right
    expected = {"Up": (0, -1), "Down": (0, 1), "Out": (outward, 0), "In": (-outward, 0)}
    for direction, (dx, dy) in expected.items():
        looked = rig.evaluate(shape(f"eyeLook{direction}{side}"))
        move = looked[iris[side], :2] - rest[iris[side], :2]
        assert move @ np.array([dx, dy]) > 0.02 * iod, direction
        assert inside(looked[iris[side]], looked[contour[side]]), direction
        other = iris["Right" if side == "Left" else "Left"]
        np.testing.assert_allclose(looked[other], rest[other], atol=1e-9)


@pytest.mark.parametrize("side", ["Left", "Right"])
def test_smile_lifts_and_widens_that_corner(portrait, side):
    rig, rest, iod = portrait
    corner, other, outward = (LEFT_CORNER, RIGHT_CORNER, 1) if side == "Left" else (RIGHT_CORNER, LEFT_CORNER, -1)
    smiled = rig.evaluate(shape(f"mouthSmile{side}"))
    move = smiled[corner] - rest[corner]
    assert -move[1] > 0.05 * iod and outward * move[0] > 0.05 * iod
    assert np.linalg.norm(smiled[other, :2] - rest[other, :2]) < 0.3 * np.linalg.norm(move[:2])
    frowned = rig.evaluate(shape(f"mouthFrown{side}"))
    assert frowned[corner, 1] - rest[corner, 1] > 0.05 * iod


def test_brows_move_the_right_way(portrait):
    rig, rest, iod = portrait
    for side, sign in (("Left", 1), ("Right", -1)):
        brow, other = BROW[sign], BROW[-sign]
        down = rig.evaluate(shape(f"browDown{side}"))
        assert (down[brow, 1] - rest[brow, 1]).mean() > 0.05 * iod
        assert np.abs(down[other] - rest[other]).max() < 1e-9
        up = rig.evaluate(shape(f"browOuterUp{side}"))
        lateral = brow[np.argmax(sign * rest[brow, 0])]
        medial = brow[np.argmin(sign * rest[brow, 0])]
        assert rest[lateral, 1] - up[lateral, 1] > 0.05 * iod
        assert rest[lateral, 1] - up[lateral, 1] > 3 * (rest[medial, 1] - up[medial, 1])
    inner = rig.evaluate(shape("browInnerUp"))
    for sign in (1, -1):
        brow = BROW[sign]
        medial = brow[np.argmin(sign * rest[brow, 0])]
        lateral = brow[np.argmax(sign * rest[brow, 0])]
        assert rest[medial, 1] - inner[medial, 1] > 0.05 * iod
        assert rest[medial, 1] - inner[medial, 1] > 3 * (rest[lateral, 1] - inner[lateral, 1])


def test_every_shape_moves_a_bounded_region_on_its_own_side(portrait):
    rig, rest, iod = portrait
    midline = rest[[NOSE_TIP, 168, CHIN], 0].mean()
    for name in ARKIT_NAMES:
        moved = np.linalg.norm(rig.evaluate(shape(name))[:, :2] - rest[:, :2], axis=1) / iod
        if name == "jawForward":  # straight at the camera: seen in depth only
            moved = np.linalg.norm(rig.evaluate(shape(name)) - rest, axis=1) / iod
        assert moved.max() > 0.02, name
        assert (moved > 0.01).mean() < 0.45, name
        if name in ("jawLeft", "jawRight", "mouthLeft", "mouthRight"):
            # a sideways shift towards the subject's own side: left = image right
            points = [CHIN] if name.startswith("jaw") else [RIGHT_CORNER, LEFT_CORNER]
            shift = rig.evaluate(shape(name))[points, 0] - rest[points, 0]
            assert (shift > 0.02 * iod).all() if name.endswith("Left") else (shift < -0.02 * iod).all()
        elif name.endswith(("Left", "Right")) and not name.startswith(("eyeLookIn", "eyeLookOut")):
            centre = (moved * rest[:, 0]).sum() / moved.sum()
            assert (centre > midline) == name.endswith("Left"), name


# --- fitting --------------------------------------------------------------------------------

def test_fit_recovers_known_weights_and_pose(portrait):
    rig, _, iod = portrait
    truth = {"jawOpen": 0.4, "eyeBlinkLeft": 0.7, "mouthSmileRight": 0.5, "browInnerUp": 0.3,
             "eyeLookOutRight": 0.6}
    head = HeadPose(yaw=8.0, pitch=-5.0, roll=3.0, translation=(0.02, 0.0, -0.01))
    target = rig.evaluate(truth, head)
    weights, fitted_head, residual = fit_rig(rig, target)
    assert residual < 0.5  # % of the inter-ocular distance
    for name, value in truth.items():
        assert abs(weights[ARKIT_NAMES.index(name)] - value) < 0.08, name
    assert np.abs(fitted_head.angles - head.angles).max() < 0.5
    others = [k for k, n in enumerate(ARKIT_NAMES) if n not in truth]
    assert weights[others].max() < 0.1
    assert weights.min() >= 0 and weights.max() <= 1


def test_fit_sequence_tracks_a_rig_generated_motion(portrait):
    rig, _, _ = portrait
    targets = motion_landmarks(rig, load_motion("demo_talk"))[::12]
    weights, heads, translations, residuals = fit_sequence(rig, targets)
    assert weights.shape == (len(targets), 52) and heads.shape == translations.shape == (len(targets), 3)
    assert residuals.max() < 0.5
    replay = rig.evaluate_batch(weights, heads, translations)
    assert np.abs(replay - targets)[..., :2].max() < 0.05 * np.linalg.norm(targets[0, 468, :2] - targets[0, 473, :2])


def test_box_qp_matches_scipy_bounded_least_squares():
    from scipy.optimize import lsq_linear

    from core.rig.qp import solve_box_qp
    rng = np.random.default_rng(3)
    for _ in range(5):
        matrix, rhs = rng.normal(size=(80, 58)), rng.normal(size=80) * 3
        lower = np.r_[np.zeros(52), np.full(6, -np.inf)]
        upper = np.r_[np.ones(52) * 0.3, np.full(6, np.inf)]
        expected = lsq_linear(matrix, rhs, bounds=(lower, upper), method="bvls", tol=1e-12).x
        ours = solve_box_qp(matrix.T @ matrix, -matrix.T @ rhs, lower, upper)
        np.testing.assert_allclose(ours, expected, atol=1e-9)


def test_pose_only_fit_keeps_weights_at_zero(portrait):
    rig, rest, _ = portrait
    target = rig.evaluate(shape("jawOpen", 0.8), HeadPose(yaw=5.0))
    weights, head, residual = fit_rig(rig, target, pose_only=True)
    assert not weights.any()
    assert residual > fit_rig(rig, target)[2] + 1.0


def test_bad_input_is_a_portrait_error(portrait):
    rig, rest, _ = portrait
    with pytest.raises(PortraitError):
        FaceRig.from_landmarks(rest[:400], rig.image_size)
    with pytest.raises(PortraitError):
        rig.evaluate({"jawOpenn": 1.0})
    with pytest.raises(PortraitError):
        rig.evaluate(np.zeros(51))
    nan_target = rest.copy()
    nan_target[5, 0] = np.nan
    with pytest.raises(PortraitError):
        fit_rig(rig, nan_target)


# --- motions and presets --------------------------------------------------------------------

def test_motion_json_round_trip(tmp_path):
    motion = load_motion("demo_talk")
    path = tmp_path / "copy.json"
    motion.save(path)
    again = load_motion(path)
    assert again.to_dict() == motion.to_dict()
    assert json.loads(path.read_text())["tracks"]["jawOpen"][0] == [1, 0.0]
    for ours, theirs in zip(again.sample(), motion.sample()):
        np.testing.assert_array_equal(ours, theirs)


def test_interpolation_modes():
    keys = [[1, 0.0], [11, 1.0], [21, 0.5]]

    def sampled(mode, frames):
        motion = Motion.from_dict({"fps": 24, "frame_start": 1, "frame_end": 21,
                                   "tracks": {"jawOpen": keys}, "interpolation": mode})
        return motion.track("jawOpen", np.asarray(frames, float))

    np.testing.assert_allclose(sampled("LINEAR", [1, 6, 11, 16, 21, 30]), [0, 0.5, 1, 0.75, 0.5, 0.5])
    np.testing.assert_allclose(sampled("CONSTANT", [1, 6, 10.9, 11, 16, 25]), [0, 0, 0, 1, 1, 0.5])
    bezier = sampled("BEZIER", np.linspace(-5, 30, 351))
    np.testing.assert_allclose(sampled("BEZIER", [1, 11, 21]), [0, 1, 0.5], atol=1e-12)
    assert bezier.min() >= 0 and bezier.max() <= 1 + 1e-12  # auto-clamped: no overshoot
    ease_in = sampled("BEZIER", [2])[0]
    assert 0 < ease_in < 0.1  # flat start, unlike LINEAR's 0.1


def test_bezier_matches_blender_fcurves():
    """The motion presets' curves evaluate as Blender's default F-curves do (real bpy)."""
    import bpy
    holder = bpy.data.objects.new("curve_holder", None)
    holder["value"] = 0.0
    holder.keyframe_insert('["value"]', frame=1)
    curve = holder.animation_data.action.fcurves[0] if hasattr(holder.animation_data.action, "fcurves") \
        else [c for layer in holder.animation_data.action.layers for strip in layer.strips
              for bag in strip.channelbags for c in bag.fcurves][0]
    curve.auto_smoothing = SMOOTHING
    frames = np.linspace(-3, 100, 413)
    try:
        for name in list_motions():
            motion = load_motion(name)
            for track, keys in motion.tracks.items():
                curve.keyframe_points.clear()
                for frame, value in keys:
                    curve.keyframe_points.insert(frame, value)
                curve.update()
                blender = np.array([curve.evaluate(f) for f in frames])
                ours = evaluate_track(keys, frames)
                np.testing.assert_allclose(ours, blender, atol=1e-4 * max(1, np.abs(keys[:, 1]).max()),
                                           err_msg=f"{name} {track}")
    finally:
        bpy.data.objects.remove(holder)


def test_sampling_at_another_fps():
    motion = load_motion("nod")
    weights, heads, translations = motion.sample()
    assert len(weights) == motion.frame_end - motion.frame_start + 1
    doubled = motion.sample(2 * motion.fps)[1]
    assert len(doubled) == 2 * (len(heads) - 1) + 1
    np.testing.assert_allclose(doubled[::2], heads, atol=1e-12)


@pytest.mark.parametrize("bad, message", [
    ({"fps": 24, "frame_start": 1, "frame_end": 10, "tracks": {"jawOpn": [[1, 0]]}}, "unknown track"),
    ({"fps": 24, "frame_start": 1, "frame_end": 10, "tracks": {"jawOpen": [[1, 0], [1, 1]]}}, "two keys"),
    ({"fps": 24, "frame_start": 1, "frame_end": 10, "tracks": {}, "interpolation": "CUBIC"}, "interpolation"),
    ({"fps": 0, "frame_start": 1, "frame_end": 10, "tracks": {}}, "fps"),
    ({"fps": 24, "frame_start": 10, "frame_end": 1, "tracks": {}}, "before"),
    ({"fps": 24, "frame_start": 1, "tracks": {}}, "missing"),
    ({"fps": 24, "frame_start": 1, "frame_end": 10, "tracks": {"jawOpen": [[1, "x"]]}}, "keys"),
])
def test_bad_motion_is_a_portrait_error(bad, message):
    with pytest.raises(PortraitError, match=message):
        Motion.from_dict(bad)


def test_every_preset_loads():
    assert {"demo_talk", "idle", "nod", "shake", "talk_loop"} <= set(list_motions())
    for name in list_motions():
        weights, heads, translations = load_motion(name).sample()
        assert np.isfinite(weights).all() and weights.min() >= 0 and weights.max() <= 1, name
        assert np.abs(heads).max() <= 30, name
    demo = load_motion("demo_talk")
    assert demo.fps == 24 and 3.5 <= demo.duration <= 4.5
    expected = {"smile", "surprise", "sadness", "anger", "disgust", "fear",
                "vowel_a", "vowel_e", "vowel_i", "vowel_o", "vowel_u"}
    assert expected <= set(list_expressions())
    for name in list_expressions():
        weights = load_expression(name)
        assert weights and all(n in ARKIT_NAMES and 0 <= v <= 1 for n, v in weights.items()), name
    with pytest.raises(PortraitError, match="unknown motion preset"):
        load_motion("no_such_motion")


def test_motion_landmarks_play_the_rig(portrait):
    rig, rest, iod = portrait
    motion = load_motion("demo_talk")
    track = motion_landmarks(rig, motion, fps=12)
    assert track.shape == (len(motion.frames(12)), 478, 3)
    np.testing.assert_allclose(track[0], rest, atol=1e-9)  # the demo starts at rest
    jaw = motion.track("jawOpen", motion.frames(12))
    chin_drop = track[:, CHIN, 1] - rest[CHIN, 1]
    assert np.corrcoef(jaw, chin_drop)[0, 1] > 0.5


def test_rescaled_motion_keeps_each_key_at_its_time():
    motion = load_motion("nod")
    doubled = motion.rescaled(2 * motion.fps)
    assert motion.rescaled(motion.fps) is motion
    assert doubled.frame_start == motion.frame_start
    assert doubled.duration == pytest.approx(motion.duration)
    for name, keys in motion.tracks.items():
        np.testing.assert_allclose(doubled.tracks[name][:, 0] - motion.frame_start,
                                   2 * (keys[:, 0] - motion.frame_start))
        np.testing.assert_array_equal(doubled.tracks[name][:, 1], keys[:, 1])
