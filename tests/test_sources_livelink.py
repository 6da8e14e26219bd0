"""Live Link Face CSV import on the real take: keyed values, fps mapping, names, bad input."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from core.errors import PortraitError
from core.rig.names import ARKIT_NAMES
from core.sources.livelink import import_livelink, livelink_motion, read_livelink_csv

TAKE = Path(__file__).resolve().parents[1].parent / "shared" / "testdata" / "mocap" / \
    "livelinkface_MySlate_3_Jason_Millers_iPhone.csv"


def _rows(path=TAKE) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _column(name: str, path=TAKE) -> np.ndarray:
    header, rows = _rows(path)
    index = [title.lower() for title in header].index(name.lower())
    return np.array([float(row[index]) for row in rows])


def _row_seconds(path=TAKE) -> np.ndarray:
    """Row times from HH:MM:SS:FF.fff at the take's 60 fps timecode, written out independently."""
    _, rows = _rows(path)
    seconds = []
    for row in rows:
        hours, minutes, secs, frames = row[0].split(":")
        seconds.append(int(hours) * 3600 + int(minutes) * 60 + int(secs) + float(frames) / 60.0)
    return np.array(seconds) - seconds[0]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows([header] + rows)
    return path


def _values(motion, name: str) -> tuple[np.ndarray, np.ndarray]:
    keys = motion.tracks[name]
    return keys[:, 0], keys[:, 1]


def test_take_timing_is_read_from_the_timecode():
    take = read_livelink_csv(TAKE)
    assert take.timecode_rate == 60.0
    assert take.capture_rate == pytest.approx(60.0, rel=0.002)
    assert take.weights.shape == (328, 52)
    assert take.times[-1] == pytest.approx(_row_seconds()[-1], abs=1e-9)


def test_keys_equal_the_csv_at_the_capture_rate():
    motion = import_livelink(TAKE, fps=60.0, frame_start=10)
    for name in ("jawOpen", "eyeBlinkLeft", "mouthSmileRight", "browDownLeft", "tongueOut"):
        frames, values = _values(motion, name)
        np.testing.assert_array_equal(frames, 10 + np.arange(328))
        np.testing.assert_allclose(values, _column(name), atol=1e-8)
    assert set(ARKIT_NAMES) <= set(motion.tracks)
    assert (motion.frame_start, motion.frame_end) == (10, 337)
    assert motion.interpolation == "LINEAR"


@pytest.mark.parametrize("fps", [24.0, 30.0, 25.0])
def test_resampled_keys_interpolate_the_csv(fps):
    motion = import_livelink(TAKE, fps=fps)
    frames, values = _values(motion, "jawOpen")
    expected = np.interp((frames - 1) / fps, _row_seconds(), _column("JawOpen"))
    np.testing.assert_allclose(values, expected, atol=1e-7)
    assert frames[-1] - 1 == np.floor(_row_seconds()[-1] * fps)


def test_names_match_case_insensitively(tmp_path):
    header, rows = _rows()
    camel = [title[0].lower() + title[1:] for title in header]
    motion = import_livelink(_write(tmp_path / "camel.csv", camel, rows), fps=60.0)
    reference = import_livelink(TAKE, fps=60.0)
    assert motion.tracks.keys() == reference.tracks.keys()
    for name, keys in reference.tracks.items():
        np.testing.assert_array_equal(motion.tracks[name], keys)


def test_swap_mouth_left_right():
    swapped = livelink_motion(read_livelink_csv(TAKE), 60.0, swap_mouth_lr=True)
    np.testing.assert_allclose(_values(swapped, "mouthRight")[1], _column("MouthLeft"), atol=1e-8)
    np.testing.assert_allclose(_values(swapped, "mouthLeft")[1], _column("MouthRight"), atol=1e-8)


def test_gaze_from_eye_rotations_agrees_with_the_gaze_shapes():
    take = read_livelink_csv(TAKE)
    motion = livelink_motion(take, 60.0, gaze_from_eyes=True)
    derived = _values(motion, "eyeLookDownLeft")[1]
    recorded = _column("EyeLookDownLeft")
    assert np.corrcoef(derived, recorded)[0, 1] > 0.99
    assert np.abs(derived - recorded).max() < 0.05


def test_head_rotation_goes_onto_the_head_in_degrees(tmp_path):
    header, rows = _rows()
    # The shared take was recorded with head tracking off (zeros): no head keys then.
    assert "head.yaw" not in import_livelink(TAKE, fps=60.0).tracks
    yaw, pitch, roll = (header.index(name) for name in ("HeadYaw", "HeadPitch", "HeadRoll"))
    for row in rows:
        row[yaw], row[pitch], row[roll] = "0.1", "-0.2", "0.05"
    motion = import_livelink(_write(tmp_path / "head.csv", header, rows), fps=60.0)
    assert _values(motion, "head.yaw")[1][0] == pytest.approx(-np.degrees(0.1))
    assert _values(motion, "head.pitch")[1][0] == pytest.approx(np.degrees(-0.2))
    assert _values(motion, "head.roll")[1][0] == pytest.approx(np.degrees(0.05))


def _broken(tmp_path, edit) -> Path:
    header, rows = _rows()
    header, rows = edit(list(header), [list(row) for row in rows[:20]])
    return _write(tmp_path / "broken.csv", header, rows)


def _edit_row(index: int, change):
    """An edit that applies `change` to data row `index` (0-based) only."""
    return lambda h, r: (h, [change(row) if i == index else row for i, row in enumerate(r)])


@pytest.mark.parametrize("edit, message", [
    (lambda h, r: ([t for t in h if t != "JawOpen"],
                   [[v for t, v in zip(h, row) if t != "JawOpen"] for row in r]),
     "missing blendshape columns jawOpen"),
    (lambda h, r: (h[:5] + ["Mystery"] + h[6:], r), "unknown or repeated column 'Mystery'"),
    (_edit_row(3, lambda row: ["00:32:09:xx"] + row[1:]), "row 5: bad timecode"),
    (lambda h, r: (h, r[:5] + r[3:]), "timecode does not increase"),
    (_edit_row(1, lambda row: row[:-2]), "row 3 has"),
    (_edit_row(0, lambda row: row[:4] + ["abc"] + row[5:]), "not a number"),
    (lambda h, r: (h, []), "no data rows"),
    (lambda h, r: (h[1:], [row[1:] for row in r]), "first column must be Timecode"),
    (lambda h, r: (h[:-1], [row[:-1] for row in r]), "but no RightEyeRoll column"),
])
def test_bad_csv_is_a_one_line_error(tmp_path, edit, message):
    with pytest.raises(PortraitError, match=message) as error:
        read_livelink_csv(_broken(tmp_path, edit))
    assert "\n" not in str(error.value)


def test_wrong_kind_of_file_is_refused(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(PortraitError, match="empty file"):
        read_livelink_csv(empty)
    audio = TAKE.parents[1] / "audio" / "jfk_inaugural_ask_not.wav"
    with pytest.raises(PortraitError, match="not a Live Link Face CSV"):
        read_livelink_csv(audio)
    with pytest.raises(PortraitError, match="no such file"):
        read_livelink_csv(tmp_path / "missing.csv")
