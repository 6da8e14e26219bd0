"""Hostile files for every core reader: images, videos, audio, Live Link CSVs, motion JSON and
landmarks JSON. Each is refused with one line naming the file, or read into values in range;
the folder around it is byte-identical afterwards. Image modes Blender decodes (CMYK, ICC,
16-bit, grey, grey+alpha, RGBA, palette) come out in the colours they hold."""
from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms
from scipy.io import wavfile

from hostile_support import assert_finite, assert_one_line, count, tree_state

from core.errors import PortraitError
from core.landmarks.files import load_landmarks_json
from core.media import VideoReader, read_image
from core.rig.motion import TRACK_NAMES, load_motion, track_limit
from core.sources.lipsync import lipsync_motion
from core.sources.livelink import import_livelink
from core.validate import MAX_FRAME

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"
TAKE = TESTDATA / "mocap" / "livelinkface_MySlate_3_Jason_Millers_iPhone.csv"
SPEECH = TESTDATA / "audio" / "jfk_inaugural_ask_not.wav"
CLIP = TESTDATA / "driving" / "lp_d0_man_greenscreen.mp4"

# Numbers a file can hold that no reader may pass on: JSON/CSV spellings of them.
HOSTILE_NUMBERS = [float("nan"), float("inf"), float("-inf"), 1e308, -1e308, 1e30, 10 ** 400,
                   -(10 ** 30), 2 ** 63, 1e-320]
hostile_number = st.one_of(st.sampled_from(HOSTILE_NUMBERS), st.floats(allow_nan=True),
                           st.integers(), st.none(), st.booleans(), st.text(max_size=4))
json_value = st.recursive(st.one_of(hostile_number),
                          lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                  st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4)),
                          max_leaves=12)


def _read(reader, path: Path, kind: str):
    """Run one reader on one hostile file: a refusal naming it, or its value; nothing written."""
    count(kind)
    before = tree_state(path.parent)
    try:
        value = reader(path)
    except PortraitError as exc:
        assert_one_line(str(exc), path.name)
        value = None
    assert tree_state(path.parent) == before
    return value


def _folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hostile")


# ---- images -------------------------------------------------------------------------------

COLOURS = np.array([[200, 30, 60], [20, 180, 90], [250, 250, 10], [5, 5, 5]], np.uint8)


def _blocks() -> np.ndarray:
    """A 32x32 image of four flat colour bands (JPEG keeps flat bands nearly exact)."""
    return np.repeat(np.repeat(COLOURS[:, None, :], 8, axis=0), 32, axis=1)


def _mode_files(folder: Path) -> dict[str, tuple[Path, np.ndarray, int]]:
    """name -> (file, expected RGB, tolerance): every mode and profile Blender decodes."""
    rgb = _blocks()
    grey = np.round(rgb @ [0.299, 0.587, 0.114]).astype(np.uint8)
    files = {}

    def save(name, image, expected, tolerance=0, **options):
        path = folder / name
        image.save(path, **options)
        files[name] = (path, expected, tolerance)

    save("cmyk.jpg", Image.fromarray(rgb).convert("CMYK"), rgb, 3, quality=100)
    save("cmyk.tif", Image.fromarray(rgb).convert("CMYK"), rgb, 1)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    save("icc.jpg", Image.fromarray(rgb), rgb, 3, quality=100, subsampling=0,
         icc_profile=srgb)
    save("icc.png", Image.fromarray(rgb), rgb, 0, icc_profile=srgb)
    save("grey.png", Image.fromarray(grey), np.repeat(grey[..., None], 3, 2))
    save("grey.jpg", Image.fromarray(grey), np.repeat(grey[..., None], 3, 2), 3, quality=100)
    alpha = np.full(grey.shape, 77, np.uint8)
    save("grey_alpha.png", Image.fromarray(np.dstack([grey, alpha]), "LA"),
         np.repeat(grey[..., None], 3, 2))
    save("rgba.png", Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), rgb)  # alpha dropped
    save("palette.png", Image.fromarray(rgb).quantize(4), rgb)
    import cv2

    sixteen = rgb.astype(np.uint16) * 257 + 128  # 16-bit values just off the 8-bit grid
    cv2.imwrite(str(folder / "rgb16.png"), sixteen[:, :, ::-1])
    files["rgb16.png"] = (folder / "rgb16.png", rgb, 0)
    cv2.imwrite(str(folder / "grey16.png"), grey.astype(np.uint16) * 257)
    files["grey16.png"] = (folder / "grey16.png", np.repeat(grey[..., None], 3, 2), 0)
    rgba16 = np.dstack([sixteen[:, :, ::-1], np.full(grey.shape, 1000, np.uint16)])
    cv2.imwrite(str(folder / "rgba16.png"), rgba16)
    files["rgba16.png"] = (folder / "rgba16.png", rgb, 0)
    return files


def test_every_image_mode_reads_in_its_own_colours(tmp_path):
    for name, (path, expected, tolerance) in _mode_files(tmp_path).items():
        count("image mode")
        pixels = read_image(path)
        assert pixels.dtype == np.uint8 and pixels.shape == expected.shape, name
        error = np.abs(pixels.astype(int) - expected).max()
        assert error <= tolerance, (name, error)


def test_float_images_with_nan_pixels_are_refused(tmp_path):
    data = np.full((32, 32), 0.5, np.float32)
    data[3, 4] = np.nan
    path = tmp_path / "nan.tif"
    Image.fromarray(data, "F").save(path)
    assert _read(read_image, path, "image: non-finite pixels") is None
    with pytest.raises(PortraitError, match="NaN or infinite"):
        read_image(path)
    data[3, 4] = 0.25
    Image.fromarray(data, "F").save(path)
    assert (read_image(path) == np.where(data == 0.25, 64, 128)[..., None]).all()


VALID_PNG = io.BytesIO()
Image.fromarray(_blocks()).save(VALID_PNG, "PNG")
VALID_JPEG = io.BytesIO()
Image.fromarray(_blocks()).save(VALID_JPEG, "JPEG")


@given(data=st.one_of(st.binary(max_size=300),
                      st.builds(lambda cut: VALID_PNG.getvalue()[:cut], st.integers(0, 400)),
                      st.builds(lambda cut: VALID_JPEG.getvalue()[:cut], st.integers(0, 600)),
                      st.builds(lambda at, byte: _flip(VALID_PNG.getvalue(), at, byte),
                                st.integers(0, 400), st.integers(0, 255)),
                      st.builds(lambda at, byte: _flip(VALID_JPEG.getvalue(), at, byte),
                                st.integers(0, 600), st.integers(0, 255))),
       suffix=st.sampled_from([".png", ".jpg", ".tif", ".exr", ".webp"]))
def test_hostile_image_bytes(tmp_path_factory, data, suffix):
    path = _folder(tmp_path_factory) / f"portrait{suffix}"
    path.write_bytes(data)
    pixels = _read(read_image, path, "image: corrupt or truncated bytes")
    if pixels is not None:  # a decoder may recover a damaged file: then it is a real image
        assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3


def _flip(data: bytes, at: int, byte: int) -> bytes:
    at %= len(data)
    return data[:at] + bytes([byte]) + data[at + 1:]


def test_image_paths_that_are_not_files(tmp_path):
    (tmp_path / "folder.png").mkdir()
    for path in (tmp_path / "missing.png", tmp_path / "folder.png"):
        _read(read_image, path, "image: not a file")
    with pytest.raises(PortraitError):
        read_image(tmp_path / "folder.png")


# ---- videos -------------------------------------------------------------------------------

def _read_all(path: Path):
    reader = VideoReader(path)
    try:
        frames = list(reader)
    finally:
        reader.close()
    assert math.isfinite(reader.fps) and reader.fps > 0
    return frames


@pytest.mark.parametrize("kind", ["random", "truncated", "empty", "audio only", "image"])
@settings(max_examples=max(4, settings().max_examples // 4))
@given(cut=st.integers(0, 60000), seed=st.integers(0, 2 ** 16))
def test_hostile_videos(tmp_path_factory, kind, cut, seed):
    path = _folder(tmp_path_factory) / "driver.mp4"
    if kind == "random":
        path.write_bytes(np.random.default_rng(seed).bytes(cut % 4000))
    elif kind == "truncated":
        path.write_bytes(CLIP.read_bytes()[:cut])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "audio only":
        path.write_bytes(SPEECH.read_bytes()[:cut + 2000])
    else:
        path.write_bytes(VALID_PNG.getvalue())
    frames = _read(_read_all, path, f"video: {kind}")
    for frame in frames or ():
        assert frame.dtype == np.uint8 and frame.ndim == 3


# ---- audio --------------------------------------------------------------------------------

def _float_wav(path: Path, samples: np.ndarray) -> None:
    wavfile.write(path, 16000, samples.astype(np.float32))


def _speech(seconds: float = 1.5) -> np.ndarray:
    rate, samples = wavfile.read(SPEECH)
    return samples[:int(seconds * rate)].astype(np.float32) / 32768.0


@given(poison=st.sampled_from([np.nan, np.inf, -np.inf, 1e30, -1e6, 40.0]),
       at=st.integers(0, 23999), spread=st.integers(1, 200))
def test_audio_with_non_finite_or_absurd_samples(tmp_path_factory, poison, at, spread):
    path = _folder(tmp_path_factory) / "speech.wav"
    samples = _speech()
    samples[at:at + spread] = poison
    _float_wav(path, samples)
    motion = _read(lambda p: lipsync_motion(p, 24.0, 1), path, "audio: non-finite or absurd samples")
    assert motion is None  # every poisoned file is refused, never keyed


@pytest.mark.parametrize("kind", ["random", "truncated", "silence", "too short", "a csv"])
@settings(max_examples=max(4, settings().max_examples // 4))
@given(cut=st.integers(0, 50000), seed=st.integers(0, 2 ** 16))
def test_hostile_audio_files(tmp_path_factory, kind, cut, seed):
    path = _folder(tmp_path_factory) / "speech.wav"
    if kind == "random":
        path.write_bytes(np.random.default_rng(seed).bytes(cut % 3000))
    elif kind == "truncated":
        path.write_bytes(SPEECH.read_bytes()[:cut])
    elif kind == "silence":
        _float_wav(path, np.zeros(16000))
    elif kind == "too short":
        _float_wav(path, _speech(0.05))
    else:
        path.write_bytes(TAKE.read_bytes()[:cut])
    motion = _read(lambda p: lipsync_motion(p, 24.0, 1), path, f"audio: {kind}")
    if motion is not None:
        motion.check_limits("lip sync")


def test_audio_at_a_hostile_scene_rate_or_frame(tmp_path):
    path = tmp_path / "speech.wav"
    _float_wav(path, _speech())
    for fps, start in ((float("nan"), 1), (float("inf"), 1), (0.0, 1), (24.0, MAX_FRAME)):
        count("audio: hostile scene rate or start frame")
        with pytest.raises(PortraitError) as caught:
            lipsync_motion(path, fps, start)
        assert_one_line(str(caught.value))


# ---- Live Link Face CSV -------------------------------------------------------------------

TAKE_ROWS = TAKE.read_text(encoding="utf-8-sig").splitlines()[:25]
HOSTILE_CELLS = ["nan", "NaN", "inf", "-inf", "1e400", "-1e30", "12", "-11", "", "abc", "0x1p3",
                 "1_000", " ", "\x00", "99:99:99:99.999", "00:00:00:00", "999999:00:00:00.0"]


@given(edits=st.lists(st.tuples(st.integers(0, 24), st.integers(0, 61),
                                st.sampled_from(HOSTILE_CELLS)), min_size=1, max_size=3),
       fps=st.sampled_from([24.0, 60.0, float("nan"), 1e-9, 1e9]))
def test_hostile_livelink_cells(tmp_path_factory, edits, fps):
    rows = [line.split(",") for line in TAKE_ROWS]
    for row, column, text in edits:
        rows[row][column % len(rows[row])] = text
    path = _folder(tmp_path_factory) / "take.csv"
    path.write_text("\n".join(",".join(row) for row in rows))
    motion = _read(lambda p: import_livelink(p, fps, 1), path, "Live Link CSV: hostile cells")
    if motion is not None:
        motion.check_limits("take")


@given(cut=st.integers(0, 4000), extra=st.sampled_from(["", ",,,,", "\n\n", ",x", "\r\n1,2"]))
def test_truncated_or_ragged_livelink(tmp_path_factory, cut, extra):
    path = _folder(tmp_path_factory) / "take.csv"
    path.write_text("\n".join(TAKE_ROWS)[:cut] + extra)
    motion = _read(lambda p: import_livelink(p, 60.0, 1), path, "Live Link CSV: truncated or ragged")
    if motion is not None:
        motion.check_limits("take")


# ---- motion JSON --------------------------------------------------------------------------

VALID_MOTION = {"name": "m", "fps": 24, "frame_start": 1, "frame_end": 10,
                "tracks": {"jawOpen": [[1, 0.0], [10, 0.5]], "head.yaw": [[1, 0], [5, 3]]},
                "interpolation": "BEZIER"}


def _motion_file(folder: Path, data) -> Path:
    path = folder / "motion.json"
    path.write_text(json.dumps(data, allow_nan=True) if not isinstance(data, str) else data)
    return path


@given(field=st.sampled_from(["fps", "frame_start", "frame_end", "tracks", "interpolation",
                              "name"]), value=json_value)
def test_motion_json_with_a_hostile_field(tmp_path_factory, field, value):
    data = dict(VALID_MOTION, **{field: value})
    path = _motion_file(_folder(tmp_path_factory), data)
    motion = _read(load_motion, path, "motion JSON: hostile field")
    if motion is not None:
        for keys in motion.tracks.values():
            assert_finite(keys)


@given(track=st.sampled_from(TRACK_NAMES), frame=st.one_of(st.sampled_from(HOSTILE_NUMBERS),
                                                           st.floats()),
       value=st.one_of(st.sampled_from(HOSTILE_NUMBERS), st.floats()))
def test_motion_json_with_a_hostile_key(tmp_path_factory, track, frame, value):
    data = dict(VALID_MOTION, tracks={track: [[1, 0.0], [frame, value]]})
    path = _motion_file(_folder(tmp_path_factory), data)
    motion = _read(load_motion, path, "motion JSON: hostile key")
    if motion is not None:
        keys = motion.tracks[track]
        assert_finite(keys)
        assert np.abs(keys[:, 0]).max() <= MAX_FRAME
        assert np.abs(keys[:, 1]).max() <= track_limit(track)


@given(track=st.sampled_from(TRACK_NAMES),
       keys=st.lists(st.tuples(st.integers(-1000, 1000),
                               st.floats(-1, 1, allow_nan=False)), min_size=1, max_size=6,
                     unique_by=lambda key: key[0]))
def test_motions_in_range_are_accepted(tmp_path_factory, track, keys):
    """The other side of refusing: every well-formed motion still loads, keys intact."""
    count("motion JSON: in range (must load)")
    data = dict(VALID_MOTION, tracks={track: [list(key) for key in keys]})
    motion = load_motion(_motion_file(_folder(tmp_path_factory), data))
    assert sorted(map(tuple, motion.tracks[track].tolist())) == sorted(map(tuple, keys))


@pytest.mark.parametrize("text", ["", "{", "[]", "null", "[" * 100000 + "]" * 100000,
                                  '{"fps": ' + "9" * 5000 + "}", "\udcff", '{"fps": NaN}'])
def test_motion_json_that_is_not_json(tmp_path, text):
    path = tmp_path / "motion.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    assert _read(load_motion, path, "motion JSON: not JSON") is None


# ---- landmarks JSON -----------------------------------------------------------------------

def _landmarks(size=(160, 160)) -> dict:
    points = np.random.default_rng(0).uniform(10, 150, (478, 3))
    return {"image": "x.png", "size": list(size), "faces": [{"box": [0, 0, 1, 1],
                                                               "landmarks": points.tolist()}]}


@given(where=st.sampled_from(["size", "size0", "faces", "face", "landmarks", "point", "coord"]),
       value=json_value)
def test_landmarks_json_with_a_hostile_field(tmp_path_factory, where, value):
    data = _landmarks()
    if where == "size":
        data["size"] = value
    elif where == "size0":
        data["size"][0] = value
    elif where == "faces":
        data["faces"] = value
    elif where == "face":
        data["faces"][0] = value
    elif where == "landmarks":
        data["faces"][0]["landmarks"] = value
    elif where == "point":
        data["faces"][0]["landmarks"][7] = value
    else:
        data["faces"][0]["landmarks"][7][1] = value
    path = _folder(tmp_path_factory) / "landmarks.json"
    path.write_text(json.dumps(data, allow_nan=True))
    result = _read(load_landmarks_json, path, "landmarks JSON: hostile field")
    if result is not None:
        landmarks, size = result
        assert landmarks.shape == (478, 3)
        assert_finite(landmarks)
        assert all(isinstance(side, int) and side > 0 for side in size)


@pytest.mark.parametrize("face", [-1, 1, 10 ** 6])
def test_landmarks_json_missing_face(tmp_path, face):
    path = tmp_path / "landmarks.json"
    path.write_text(json.dumps(_landmarks()))
    count("landmarks JSON: missing face")
    with pytest.raises(PortraitError) as caught:
        load_landmarks_json(path, face)
    assert_one_line(str(caught.value), path.name)
