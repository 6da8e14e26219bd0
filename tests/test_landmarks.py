"""Stage 1 on real portraits and real video: detection, part groups, tracking."""
import numpy as np
import pytest

from conftest import DRIVING, PORTRAITS, ROOT, portrait_with_landmarks
from core.errors import PortraitError
from core.landmarks import PARTS, detect_faces, detect_landmarks, inter_ocular, part_indices
from core.landmarks.tracking import fill_gaps, smooth_track, track_frames
from core.media import read_image, read_video, resize_image


@pytest.mark.parametrize("path", PORTRAITS, ids=lambda p: p.stem)
def test_every_portrait_gives_478_points_inside_the_image(path):
    image, landmarks = portrait_with_landmarks(str(path))
    assert landmarks.shape == (478, 3) and landmarks.dtype == np.float32
    height, width = image.shape[:2]
    assert (landmarks[:, 0] > 0).all() and (landmarks[:, 0] < width).all()
    assert (landmarks[:, 1] > 0).all() and (landmarks[:, 1] < height).all()
    # anatomy: eyes above the nose tip above the mouth above the chin; subject's right eye on image left
    assert landmarks[468, 0] < landmarks[473, 0]
    assert landmarks[468, 1] < landmarks[1, 1] < landmarks[13, 1] < landmarks[152, 1]


def test_large_portrait_landmarks_scale_with_the_image(default_portrait):
    image, landmarks = default_portrait
    big = resize_image(image, (image.shape[1] * 4, image.shape[0] * 4))  # ~2048x2400
    big_landmarks = detect_landmarks(big)
    error = np.abs(big_landmarks[:, :2] / 4 - landmarks[:, :2]).mean()
    assert error < 0.02 * inter_ocular(landmarks)


def test_part_groups_are_named_and_cover_the_refined_mesh():
    assert set(PARTS) == {"face_oval", "right_brow", "left_brow", "right_eye", "left_eye",
                          "right_iris", "left_iris", "nose", "outer_lips", "inner_lips"}
    indices = {i for name in PARTS for i in part_indices(name)}
    assert max(indices) == 477 and min(indices) >= 0
    assert len(part_indices("inner_lips")) == 20 and len(part_indices("right_iris")) == 4


def test_largest_face_first_and_face_index_choice(default_portrait):
    image, _ = default_portrait
    # two copies of the portrait side by side, the right one half size
    small = resize_image(image, (image.shape[1] // 2, image.shape[0] // 2))
    canvas = np.full((image.shape[0], image.shape[1] + small.shape[1], 3), 128, np.uint8)
    canvas[:, :image.shape[1]] = image
    canvas[:small.shape[0], image.shape[1]:] = small
    faces = detect_faces(canvas)
    assert len(faces) == 2
    assert faces[0].width > faces[1].width
    assert detect_landmarks(canvas, face=1)[:, 0].min() > image.shape[1] - 1
    with pytest.raises(PortraitError, match="face 2 requested but 2"):
        detect_landmarks(canvas, face=2)


def test_no_face_is_a_clear_error():
    blank = np.full((300, 300, 3), 200, np.uint8)
    with pytest.raises(PortraitError, match="no face"):
        detect_landmarks(blank)


def test_tiny_face_is_a_clear_error(default_portrait):
    image, _ = default_portrait
    tiny = resize_image(image, (48, 56))
    canvas = np.full((400, 400, 3), 90, np.uint8)
    canvas[10:66, 10:58] = tiny
    with pytest.raises(PortraitError, match="no face|too small"):
        detect_landmarks(canvas)


def _still_jitter(track, raw, iod):
    """Mean second difference (% IOD per frame) where the raw point barely moves."""
    from core.smoothing import gaussian_smooth

    speed = np.linalg.norm(np.gradient(gaussian_smooth(raw[:, :, :2], 2.0, edges="nearest"),
                                       axis=0), axis=2)
    still = (speed < 0.003 * iod)[1:-1]
    second = np.linalg.norm(np.diff(track[:, :, :2], n=2, axis=0), axis=2)
    return 100 * second[still].mean() / iod


def test_tracking_a_real_clip_removes_jitter_within_the_detectors_noise():
    frames, fps = read_video(DRIVING[0])  # lp_d0: a smile and eye motion with still stretches
    frames = frames[:60]
    raw, missing = track_frames(frames, fps, smooth=False)
    smooth, _ = track_frames(frames, fps, smooth=True, neutral_frame=5)
    assert missing == 0 and smooth.shape == (60, 478, 3)
    iod = float(np.median(inter_ocular(raw)))
    moved = np.linalg.norm(smooth - raw, axis=2)
    assert moved.max() <= 0.0025 * iod + 1e-3  # never beyond the band around the detection
    assert moved.mean() > 0.0005 * iod  # and it did smooth
    assert np.array_equal(smooth[5], raw[5])  # the neutral frame is exactly as detected
    assert _still_jitter(smooth, raw, iod) < 0.7 * _still_jitter(raw, raw, iod)


def test_tracking_returns_the_detectors_blendshape_scores_by_arkit_name():
    from core.rig.names import ARKIT_NAMES

    frames, fps = read_video(DRIVING[0])
    track, scores, missing = track_frames(frames[:12], fps, smooth=False, with_blendshapes=True)
    assert track.shape == (12, 478, 3) and scores.shape == (12, len(ARKIT_NAMES))
    assert np.isfinite(scores).all() and scores.min() >= 0.0 and scores.max() <= 1.0
    # every name found its score: MediaPipe scores all 52 shapes, few of them exactly 0
    assert (scores > 0).mean() > 0.9
    # and the right one: blinks and gaze are the eye shapes' own, not the mouth's
    blinks = scores[:, [ARKIT_NAMES.index("eyeBlinkLeft"), ARKIT_NAMES.index("eyeBlinkRight")]]
    assert np.corrcoef(blinks.T)[0, 1] > 0.5


def test_smoothing_keeps_the_peaks_of_fast_motion_and_the_neutral_frame():
    # a 6 Hz syllable of 10 % IOD on top of a head jump at frame 0, with detector noise
    rng = np.random.default_rng(0)
    t = np.arange(90)
    track = np.zeros((90, 478, 3))
    track[:, 468, 0], track[:, 473, 0] = -50, 50  # IOD 100 px
    wave = 10 * np.sin(2 * np.pi * 6 * t / 30)
    track[:, 13, 1] += wave
    track[1:, :, 0] += 20  # the driver jumps right after its neutral frame
    noisy = track + rng.normal(0, 0.2, track.shape)
    smoothed = smooth_track(noisy, fps=30, noise=0.25)
    assert np.array_equal(smoothed[0], noisy[0])
    error = np.abs(smoothed[:, 13, 1] - noisy[:, 13, 1])
    assert error.max() <= 0.25 + 1e-9  # the peaks stay: within the noise of the detection
    assert smoothed[:, 13, 1].std() > 0.95 * track[:, 13, 1].std()  # the syllable's swing
    still = np.linalg.norm(np.diff(smoothed[10:, 200, :2], n=2, axis=0), axis=1).mean()
    raw_still = np.linalg.norm(np.diff(noisy[10:, 200, :2], n=2, axis=0), axis=1).mean()
    assert still < 0.6 * raw_still


def test_missing_frames_are_interpolated():
    track = np.zeros((5, 478, 3), np.float32)
    track[0] = 0.0
    track[4] = 8.0
    found = np.array([True, False, False, False, True])
    filled = fill_gaps(track, found)
    assert np.allclose(filled[:, 0, 0], [0, 2, 4, 6, 8])


def test_grayscale_rgba_and_16bit_portraits_read_as_rgb8(tmp_path, default_portrait):
    import imageio.v3 as iio

    image, _ = default_portrait
    gray = image.mean(axis=2).astype(np.uint8)
    rgba = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
    deep = gray.astype(np.uint16) * 257
    for name, array in (("gray.png", gray), ("rgba.png", rgba), ("deep.png", deep)):
        iio.imwrite(tmp_path / name, array)
        loaded = read_image(tmp_path / name)
        assert loaded.dtype == np.uint8 and loaded.shape == image.shape
        assert detect_landmarks(loaded).shape == (478, 3)


def test_detection_needs_no_matplotlib(tmp_path):
    """mediapipe imports matplotlib.pyplot for drawing; Blender's Python has no matplotlib.
    Detection still works there, and no stand-in is left behind for other code to find."""
    import subprocess
    import sys

    script = tmp_path / "no_matplotlib.py"
    script.write_text(f"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "matplotlib":
            raise ImportError("No module named " + repr(name))
sys.meta_path.insert(0, Block())
sys.path.insert(0, {str(ROOT)!r})
from core.landmarks import detect_landmarks
from core.media import default_portrait_path, read_image
print(detect_landmarks(read_image(default_portrait_path())).shape)
print("matplotlib" in sys.modules, "matplotlib.pyplot" in sys.modules)
""")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[:2] == ["(478, 3)", "False False"]


def test_a_missing_model_is_one_line_that_says_how_to_get_it(monkeypatch, tmp_path):
    from core.landmarks import detect

    monkeypatch.setattr(detect, "MODEL_PATH", tmp_path / "face_landmarker.task")
    image = read_image(PORTRAITS[0])
    with pytest.raises(PortraitError) as error:
        detect_landmarks(image)
    message = str(error.value)
    assert "face landmark model is missing" in message and "python build.py model" in message
    assert "\n" not in message


def test_the_mesh_points_are_every_landmark_but_the_irises_each_at_its_own_index():
    from core.landmarks.topology import IRIS_POINT_INDICES, MESH_POINT_INDICES, NUM_LANDMARKS

    assert sorted([*MESH_POINT_INDICES, *IRIS_POINT_INDICES]) == list(range(NUM_LANDMARKS))
    assert list(MESH_POINT_INDICES) == list(range(len(MESH_POINT_INDICES)))
