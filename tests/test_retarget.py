"""Retargeting on real tracked motion onto real portraits."""
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from conftest import DRIVING, PORTRAITS, portrait_with_landmarks
from core.errors import PortraitError
from core.landmarks import inter_ocular, track_frames
from core.landmarks.topology import INNER_LIP_UPPER
from core.media import read_video
from core.retarget import Multipliers, fit_similarity, region_gains, retarget


@pytest.fixture(scope="module")
def talking_track():
    frames, fps = read_video([p for p in DRIVING if "d3_" in p.name][0])
    track, _ = track_frames(frames[:90], fps)
    return track


def mouth_gap(landmarks):
    return np.linalg.norm(landmarks[..., 14, :2] - landmarks[..., 13, :2], axis=-1)


def test_similarity_fit_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(50, 3)) * 100
    rotation = Rotation.from_euler("xyz", [10, -25, 5], degrees=True).as_matrix()
    moved = 1.7 * points @ rotation.T + [3, -4, 5]
    fit = fit_similarity(points, moved)
    assert fit.scale == pytest.approx(1.7)
    assert np.allclose(fit.rotation, rotation)
    assert np.allclose(fit.inverse().apply(moved), points)


def test_similarity_fit_never_mirrors():
    """A mirrored point set is fitted by the best proper rotation (det +1), not a reflection:
    the rotation and scale of a least-squares fit with the weakest axis flipped."""
    rng = np.random.default_rng(1)
    points = rng.normal(size=(40, 3)) * [100, 60, 10]  # z the weakest axis: flip it
    rotation = Rotation.from_euler("xyz", [5, 15, -10], degrees=True).as_matrix()
    mirrored = (points * [1, 1, -1]) @ rotation.T
    fit = fit_similarity(points, mirrored)
    assert np.linalg.det(fit.rotation) == pytest.approx(1.0)

    centred, target = points - points.mean(axis=0), mirrored - mirrored.mean(axis=0)
    u, sigma, vt = np.linalg.svd(target.T @ centred / len(points))
    flip = np.diag([1.0, 1.0, -1.0])
    assert np.allclose(fit.rotation, u @ flip @ vt)
    assert fit.scale == pytest.approx((sigma * [1, 1, -1]).sum() / (centred ** 2).sum(axis=1).mean())
    assert np.allclose(fit.rotation, rotation, atol=0.05)  # the flat z axis costs little


def test_self_retarget_reproduces_the_driver(talking_track):
    targets = retarget(talking_track, talking_track[0])
    assert np.abs(targets - talking_track).max() < 1e-2


def test_neutral_frame_maps_onto_the_portrait_exactly(talking_track):
    _, portrait = portrait_with_landmarks(str(PORTRAITS[2]))
    targets = retarget(talking_track, portrait, neutral_frame=5)
    assert np.abs(targets[5] - portrait).max() < 1e-2


def test_expression_scales_with_the_portraits_proportions(talking_track):
    _, portrait = portrait_with_landmarks(str(PORTRAITS[0]))
    frame = int(np.argmax(mouth_gap(talking_track)))
    targets = retarget(talking_track, portrait)
    driver_open = (mouth_gap(talking_track[frame]) - mouth_gap(talking_track[0])) / inter_ocular(talking_track[0])
    target_open = (mouth_gap(targets[frame]) - mouth_gap(portrait)) / inter_ocular(portrait)
    assert driver_open > 0.05  # the clip's widest mouth, beyond frame 0's parted lips
    # same opening relative to face size, within the proportion correction's range
    assert 0.5 * driver_open < target_open < 2.0 * driver_open


def test_region_multipliers(talking_track):
    _, portrait = portrait_with_landmarks(str(PORTRAITS[0]))
    frame = int(np.argmax(mouth_gap(talking_track)))
    normal = retarget(talking_track, portrait)[frame]
    no_mouth = retarget(talking_track, portrait, multipliers=Multipliers(mouth=0.0, head=0.0))[frame]
    still = retarget(talking_track, portrait,
                     multipliers=Multipliers(head=0, eyes=0, brows=0, mouth=0))[frame]
    assert mouth_gap(no_mouth) == pytest.approx(mouth_gap(portrait), abs=0.5)
    assert mouth_gap(normal) > mouth_gap(portrait) + 2
    # with everything at 0 only unregioned points (cheeks, the nose tip the lip pulls) can
    # move: the head stays put (forehead, nose bridge, chin)
    skull = [10, 168, 152]
    assert np.abs(still[skull] - portrait[skull])[:, :2].max() < 0.05 * inter_ocular(portrait)


def test_head_multiplier_scales_the_rotation(talking_track):
    _, portrait = portrait_with_landmarks(str(PORTRAITS[0]))
    moved = np.abs(retarget(talking_track, portrait) - portrait).mean(axis=(1, 2))
    half = np.abs(retarget(talking_track, portrait, multipliers=Multipliers(head=0.5)) - portrait).mean(axis=(1, 2))
    busiest = int(np.argmax(moved))
    assert half[busiest] < 0.8 * moved[busiest]


def test_absolute_mode_copies_the_driver_shape(talking_track):
    _, portrait = portrait_with_landmarks(str(PORTRAITS[0]))
    absolute = retarget(talking_track, portrait, absolute=True)
    fit = fit_similarity(talking_track[0], absolute[0])
    assert np.abs(fit.apply(talking_track[0]) - absolute[0]).max() < 1e-2
    assert np.abs(absolute[0] - portrait).mean() > 0.5  # the driver's face, not the portrait's


def test_bad_neutral_frame(talking_track):
    with pytest.raises(PortraitError, match="neutral-frame"):
        retarget(talking_track, talking_track[0], neutral_frame=len(talking_track))


def test_region_gains_scale_only_their_regions():
    gains = region_gains(Multipliers(head=3.0, eyes=0.0, brows=2.0, mouth=0.5))
    assert gains.shape == (478,)
    assert gains[INNER_LIP_UPPER].tolist() == [0.5] * len(INNER_LIP_UPPER)
    assert sorted(set(gains.tolist())) == [0.0, 0.5, 1.0, 2.0]  # the head gain is not in it
