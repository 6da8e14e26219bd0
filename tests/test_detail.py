"""The driver's creases on the portrait: what its frame shows and its neutral frame does not."""
from __future__ import annotations

import cv2
import imageio.v3 as iio
import numpy as np
import pytest

from conftest import TESTDATA, portrait_with_landmarks
from core.generator import Generator
from core.generator.detail import DriverDetail, skin_coverage
from core.generator.references import Reference
from core.landmarks import track_frames
from core.landmarks.topology import FACE_OVAL, FOREHEAD
from core.media import default_portrait_path, read_video
from test_cli import PORTRAIT, assert_one_line_error, run_cli, short_driver  # noqa: F401

SMILE_CLIP = TESTDATA / "driving" / "lp_d0_man_greenscreen.mp4"  # frame 0 neutral, then smiles
SMILE = 40  # a broad smile: crow's feet and cheek folds


@pytest.fixture(scope="module")
def smile_clip():
    """The clip's first SMILE + 1 frames and their track."""
    frames, fps = read_video(SMILE_CLIP)
    frames = frames[:SMILE + 1]
    track, _ = track_frames(frames, fps)
    return frames, track


@pytest.fixture(scope="module")
def portrait():
    """The default portrait, its landmarks and a target with the head a little lowered."""
    image, landmarks = portrait_with_landmarks(str(default_portrait_path()))
    target = landmarks.copy()
    target[:, 1] += 3.0
    return image, landmarks, target


def luma(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float64) @ [0.299, 0.587, 0.114]


def test_a_crease_in_the_driver_frame_appears_on_the_portrait(smile_clip, portrait):
    frames, track = smile_clip
    image, landmarks, target = portrait
    neutral = Reference(frames[0], track[0])
    # The same frame with a crease drawn across the forehead, a third of the way down from
    # its top landmark: a dark line 2 px wide (the driver's face is about 300 px).
    creased = frames[0].copy()
    centre = (track[0][FOREHEAD, :2] * 2 + track[0][1, :2]) / 3
    y, x = int(round(centre[1])), int(round(centre[0]))
    creased[y - 1:y + 1, x - 40:x + 40] = (creased[y - 1:y + 1, x - 40:x + 40] * 0.6)
    plain = Generator(image, landmarks).render(target)
    added = DriverDetail(neutral).add(plain, target, Reference(creased, track[0]))

    change = luma(added) - luma(plain)
    # Where the crease lands on the portrait: the same place between the same landmarks.
    there = (target[FOREHEAD, :2] * 2 + target[1, :2]) / 3
    ty, tx = int(round(there[1])), int(round(there[0]))
    assert change[ty - 3:ty + 4, tx - 10:tx + 11].min() < -8  # darker along the crease
    assert np.abs(change[ty + 15:ty + 30, tx - 10:tx + 11]).max() < 1.0  # not below it
    outside = np.zeros(plain.shape[:2], np.uint8)
    cv2.fillPoly(outside, [np.round(target[FACE_OVAL, :2]).astype(np.int32)], 1)
    assert np.array_equal(added[outside == 0], plain[outside == 0])  # nothing off the face


def test_a_thing_moving_against_the_landmarks_leaves_no_ghost(smile_clip, portrait):
    """A glasses' rim on the driver's cheek, 5 px lower in its frame than in its neutral frame
    with the same landmarks: not a crease, nothing of it goes on the portrait."""
    frames, track = smile_clip
    image, landmarks, target = portrait
    cheek = track[0][50, :2]  # a right cheek landmark, below the eye
    y, x = int(round(cheek[1])), int(round(cheek[0]))

    def with_rim(shift):
        picture = frames[0].copy()
        picture[y + shift - 1:y + shift + 1, x - 30:x + 30] = 235  # bright metal
        return Reference(picture, track[0])
    plain = Generator(image, landmarks).render(target)
    added = DriverDetail(with_rim(0)).add(plain, target, with_rim(5))
    assert np.abs(luma(added) - luma(plain)).max() < 3


def test_identical_driver_and_neutral_frames_add_nothing(smile_clip, portrait):
    frames, track = smile_clip
    image, landmarks, target = portrait
    plain = Generator(image, landmarks).render(target)
    same = Reference(frames[SMILE], track[SMILE])
    assert DriverDetail(same).add(plain, target, Reference(frames[SMILE].copy(),
                                                           track[SMILE].copy())) is plain
    assert plain.tobytes() == Generator(image, landmarks).render(target).tobytes()


def test_a_real_smile_brings_its_creases_closer_to_the_real_frame(smile_clip):
    """Self-reenactment: the clip's neutral frame is the portrait; the smile's crow's feet and
    cheek folds on the skin make the frame closer to the real one, deterministically."""
    frames, track = smile_clip
    target = track[SMILE]
    plain = Generator(frames[0], track[0]).render(target)
    detail = DriverDetail(Reference(frames[0], track[0]))
    driver = Reference(frames[SMILE], track[SMILE])
    added = detail.add(plain, target, driver)
    assert added.tobytes() == detail.add(plain, target, driver).tobytes()
    assert added is not plain and not np.array_equal(added, plain)
    in_place = plain.copy()
    assert detail.add(in_place, target, driver, in_place=True) is in_place
    assert in_place.tobytes() == added.tobytes()  # the frame a sequence reuses, written over
    from core.generator.composite import bounding_box

    x0, y0, x1, y1 = bounding_box(target[FACE_OVAL, :2], 1, *plain.shape[1::-1])
    skin = skin_coverage(target, (x0, y0, x1, y1), 300.0) > 0.5
    real = frames[SMILE][y0:y1, x0:x1][skin].astype(int)

    def error(frame):
        return np.abs(frame[y0:y1, x0:x1][skin] - real).mean()
    assert np.abs(added.astype(int) - plain).max() > 10  # it does something
    assert error(added) < 0.9 * error(plain)  # 4.30 -> 3.23 levels when written


def test_detail_on_the_command_line(tmp_path, short_driver):
    result = run_cli("animate", PORTRAIT, "--motion", "demo_talk", "--output",
                     tmp_path / "out.mp4", "--detail")
    assert_one_line_error(result, "--detail needs --driver")
    plain, creased = tmp_path / "plain", tmp_path / "creased"
    for folder, flags in ((plain, ()), (creased, ("--detail",))):
        result = run_cli("animate", PORTRAIT, "--driver", short_driver, "--frames-dir", folder,
                         "--neutral-frame", "3", *flags)
        assert result.returncode == 0, result.stderr
    names = sorted(path.name for path in plain.glob("frame_*.png"))
    assert names == sorted(path.name for path in creased.glob("frame_*.png"))
    changed = [not np.array_equal(iio.imread(plain / name), iio.imread(creased / name))
               for name in names]
    assert changed[3] is False  # the neutral frame: nothing to add
    assert sum(changed) > len(names) // 2
