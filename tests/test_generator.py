"""The generator on real portraits with real MediaPipe landmarks, edited into targets."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import PortraitError
from core.generator import Generator
from core.generator.baselines import BASELINES
from core.generator.sequence import Scene, render_sequence
from core.landmarks import detect_landmarks
from core.landmarks.topology import (CHIN_TIP, INNER_LIP_CONTOUR, INNER_LIP_LOWER,
                                     INNER_LIP_UPPER, LEFT_EYE_UPPER, LEFT_IRIS_CENTER,
                                     OUTER_LIP_LOWER, OUTER_LIP_UPPER, RIGHT_EYE_CONTOUR,
                                     RIGHT_EYE_LOWER, RIGHT_EYE_UPPER, RIGHT_IRIS_CENTER,
                                     UPPER_LIP_INNER_MIDDLE)
from core.media import default_portrait_path, read_image, resize_image

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"
IRISES = list(range(468, 478))


# --- portraits and targets ------------------------------------------------------------------

@pytest.fixture(scope="module")
def hopper():
    image = read_image(default_portrait_path())
    return image, detect_landmarks(image)


@pytest.fixture(scope="module")
def painting():
    image = read_image(TESTDATA / "portraits" / "painting_bouguereau_girl_with_book.jpg")
    return image, detect_landmarks(image)


@pytest.fixture(scope="module")
def hopper_generator(hopper):
    return Generator(*hopper)


@pytest.fixture(scope="module")
def painting_generator(painting):
    return Generator(*painting)


def eye_width(landmarks):
    corners = landmarks[[RIGHT_EYE_UPPER[0], RIGHT_EYE_UPPER[-1]], :2]
    return float(np.linalg.norm(corners[0] - corners[1]))


def inter_ocular(landmarks):
    return float(np.linalg.norm(landmarks[RIGHT_IRIS_CENTER, :2] - landmarks[LEFT_IRIS_CENTER, :2]))


def open_mouth(landmarks, amount=0.4):
    """Drop the lower lip and chin by `amount` inter-ocular distances, tapering to the corners."""
    target = landmarks.copy()
    corners = landmarks[[61, 291], :2]
    centre_x, lip_line = corners.mean(axis=0)
    half_width = abs(corners[1, 0] - corners[0, 0]) / 2
    x, y = landmarks[:, 0], landmarks[:, 1]
    below = np.clip((y - lip_line) / (0.3 * inter_ocular(landmarks)), 0, 1)
    weight = below * np.clip(1.3 - np.abs(x - centre_x) / (2.2 * half_width), 0, 1)
    lower_lip = sorted(set(INNER_LIP_LOWER[1:-1] + OUTER_LIP_LOWER[1:-1]))
    taper = np.clip(1 - ((x - centre_x) / (1.15 * half_width)) ** 2, 0, 1)
    weight[lower_lip] = np.maximum(weight[lower_lip], taper[lower_lip])
    weight[[61, 291, 78, 308] + IRISES] = 0
    target[:, 1] += amount * inter_ocular(landmarks) * weight
    return target


def mouth_width(landmarks):
    """Inner-lip corner to corner, pixels."""
    return float(np.linalg.norm(landmarks[78, :2] - landmarks[308, :2]))


def raise_upper_lip(landmarks, share):
    """Raise the upper lip (both its edges) by `share` of the mouth's width at the midline,
    tapering to the corners."""
    target = landmarks.copy()
    upper = sorted(set(INNER_LIP_UPPER[1:-1] + OUTER_LIP_UPPER[1:-1]))
    centre_x = landmarks[[61, 291], 0].mean()
    half_width = abs(landmarks[291, 0] - landmarks[61, 0]) / 2
    taper = np.clip(1 - ((landmarks[upper, 0] - centre_x) / (1.1 * half_width)) ** 2, 0, 1)
    target[upper, 1] -= share * mouth_width(landmarks) * taper
    return target


def reshape_lips(landmarks, factor):
    """The lips narrowed (factor < 1, rounded as for "oh") or widened (> 1, stretched) about
    the mouth's middle."""
    target = landmarks.copy()
    lips = sorted(set(INNER_LIP_UPPER + INNER_LIP_LOWER + OUTER_LIP_UPPER + OUTER_LIP_LOWER))
    centre_x = landmarks[[61, 291], 0].mean()
    target[lips, 0] = centre_x + factor * (landmarks[lips, 0] - centre_x)
    return target


def blink_right_eye(landmarks):
    """Upper lid margin of the subject's right eye laid onto its lower lid."""
    target = landmarks.copy()
    upper = RIGHT_EYE_UPPER[1:-1]
    lower_x, lower_y = landmarks[RIGHT_EYE_LOWER, 0], landmarks[RIGHT_EYE_LOWER, 1]
    order = np.argsort(lower_x)
    target[upper, 1] = np.interp(landmarks[upper, 0], lower_x[order], lower_y[order])
    return target


def look_sideways(landmarks, share=0.2):
    """Both irises moved towards image-right by `share` of an eye width."""
    target = landmarks.copy()
    target[IRISES, 0] += share * eye_width(landmarks)
    return target


def turn_head(landmarks, degrees):
    """Rotate the 3D landmarks about a vertical axis behind the face (a yaw)."""
    target = landmarks.astype(np.float64).copy()
    pivot = target.mean(axis=0)
    pivot[2] += 0.6 * np.ptp(target[:, 0])
    angle = np.radians(degrees)
    x, z = target[:, 0] - pivot[0], target[:, 2] - pivot[2]
    target[:, 0] = pivot[0] + np.cos(angle) * x + np.sin(angle) * z
    target[:, 2] = pivot[2] - np.sin(angle) * x + np.cos(angle) * z
    return target.astype(np.float32)


def polygon_mask(points, shape):
    """Pixels (H, W) whose centres lie inside the polygon (pixel coordinates as landmarks)."""
    from matplotlib.path import Path as Polygon
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    centres = np.column_stack([cols.ravel() + 0.5, rows.ravel() + 0.5])
    return Polygon(points[:, :2]).contains_points(centres).reshape(shape[:2])


def luminance(image):
    return image.astype(np.float64) @ [0.299, 0.587, 0.114]


def psnr(a, b):
    mse = ((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean()
    return np.inf if mse == 0 else 10 * np.log10(255 ** 2 / mse)


# --- rest, locality, determinism --------------------------------------------------------------

@pytest.mark.parametrize("portrait", ["hopper", "painting"])
def test_rest_reproduces_the_portrait_exactly(portrait, request):
    image, landmarks = request.getfixturevalue(portrait)
    frame = Generator(image, landmarks).render(landmarks.copy())
    assert frame.shape == image.shape and frame.dtype == np.uint8
    assert psnr(frame, image) >= 50
    assert np.array_equal(frame, image)


def test_pixels_nothing_moves_stay_the_portraits(hopper, hopper_generator):
    """Dropping the jaw moves the lower face and what hangs around it, nothing above."""
    image, landmarks = hopper
    target = open_mouth(landmarks)
    frame = hopper_generator.render(target)
    moved = np.any(target != landmarks, axis=1)
    highest_moved = landmarks[moved, 1].min()
    changed_rows, _ = np.nonzero(np.any(frame != image, axis=2))
    assert len(changed_rows) > 0
    assert changed_rows.min() >= highest_moved - 0.25 * inter_ocular(landmarks)


def test_same_inputs_give_the_same_bytes(hopper, hopper_generator):
    image, landmarks = hopper
    target = raise_upper_lip(open_mouth(turn_head(look_sideways(landmarks), 12)), 0.45)
    first = hopper_generator.render(target)
    again = hopper_generator.render(target)
    fresh = Generator(image.copy(), landmarks.copy()).render(target.copy())
    assert first.tobytes() == again.tobytes() == fresh.tobytes()


def test_rendering_into_a_used_frame_gives_the_same_bytes(hopper, hopper_generator):
    """render(out=) overwrites every pixel of the frame it is given, moved or not."""
    image, landmarks = hopper
    used = np.full_like(image, 77)
    for target in (open_mouth(turn_head(landmarks, 12)), landmarks):  # moved, and unchanged
        rendered = hopper_generator.render(target, out=used)
        assert rendered is used
        assert used.tobytes() == hopper_generator.render(target).tobytes()
    with pytest.raises(ValueError, match="out must be"):
        hopper_generator.render(landmarks, out=used[1:])
    with pytest.raises(ValueError, match="out must be"):
        hopper_generator.render(landmarks, out=np.asfortranarray(used))


def test_a_sequence_reuses_one_frame_and_renders_each_target(hopper):
    """One process's frames are one array rendered over again: each frame, copied as it comes,
    is that target's render."""
    image, landmarks = hopper
    targets = np.stack([open_mouth(landmarks, 0.1 * k) for k in range(1, 4)])
    frames = list(render_sequence(Scene(image, landmarks), targets))
    assert frames[0] is frames[-1]  # valid until the next is asked for, as documented
    copies = [frame.copy() for frame in render_sequence(Scene(image, landmarks), targets)]
    generator = Generator(image, landmarks)
    for copy, target in zip(copies, targets):
        assert copy.tobytes() == generator.render(target).tobytes()
    assert copies[0].tobytes() != copies[-1].tobytes()


# --- mouth ------------------------------------------------------------------------------------

@pytest.mark.parametrize("portrait", ["hopper", "painting"])
def test_parted_lips_show_a_dark_mouth_with_teeth(portrait, request):
    image, landmarks = request.getfixturevalue(portrait)
    target = reshape_lips(open_mouth(landmarks, 0.45), 1.1)  # drawn back from the teeth a little
    frame = Generator(image, landmarks).render(target)
    opening = polygon_mask(target[INNER_LIP_CONTOUR], image.shape)
    # the inner part of the opening, away from the soft edge
    inner = cv2.erode(opening.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert inner.sum() > 50
    before, after = luminance(image)[inner], luminance(frame)[inner]
    assert np.abs(frame[inner].astype(int) - image[inner]).mean() > 20
    assert np.median(after) < 0.8 * np.median(before)  # a cavity, darker than lips and skin
    lips = polygon_mask(landmarks[INNER_LIP_CONTOUR], image.shape) | \
        (polygon_mask(landmarks[[61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291]],
                      image.shape))
    lip_light = np.median(luminance(image)[lips]) if lips.any() else np.median(before)
    assert np.percentile(after, 97) > lip_light  # teeth: brighter than the lips
    assert np.percentile(after, 10) < 0.5 * lip_light  # the dark back of the mouth


@pytest.fixture(scope="module")
def large_hopper():
    """The default portrait at twice its size: a mouth 125 px wide, teeth to measure."""
    image = read_image(default_portrait_path())
    large = resize_image(image, (2 * image.shape[1], 2 * image.shape[0]))
    landmarks = detect_landmarks(large)
    return large, landmarks, Generator(large, landmarks)


def under_upper_lip(frame, target, start, stop, off_middle=0.0):
    """Mean colours (K, 3) of the rows `start` .. `stop` (shares of the mouth's width) below
    the upper lip's inner edge, in a strip 5 px wide `off_middle` mouth widths right of the
    midline (the midline is the gap between the central incisors)."""
    width = mouth_width(target)
    x, y = target[UPPER_LIP_INNER_MIDDLE, :2] + np.array([off_middle * width, 0.0])
    rows = np.arange(round(y + start * width), round(y + stop * width))
    return frame[rows][:, round(x) - 2:round(x) + 3].astype(float).mean(axis=1)


def redness(colours):
    return (colours[..., 0] - colours[..., 2]) / np.maximum(colours.mean(axis=-1), 1.0)


def test_the_gum_shows_only_above_an_upper_lip_raised_far(large_hopper):
    image, landmarks, generator = large_hopper
    lips = np.median(image[polygon_mask(landmarks[OUTER_LIP_LOWER], image.shape)], axis=0)
    open_wide = open_mouth(landmarks, 0.5)
    # Just under the upper lip (past its soft edge) and, further down, the teeth.
    bands = {}
    for share in (0.15, 0.25, 0.45):
        target = raise_upper_lip(open_wide, share)
        frame = generator.render(target)
        bands[share] = (under_upper_lip(frame, target, 0.04, 0.07, 0.08).mean(axis=0),
                        under_upper_lip(frame, target, 0.13, 0.15, 0.08).mean(axis=0))
    gum, teeth = bands[0.45]
    assert redness(gum) > 0.5 * redness(lips)  # the colour of the lips ...
    assert luminance(teeth) > luminance(gum) + 20  # ... above lighter teeth
    for share in (0.15, 0.25):  # a lip raised less bares the teeth right under it
        assert redness(bands[share][0]) < redness(gum) - 0.2
        assert abs(redness(bands[share][0]) - redness(teeth)) < 0.1


def test_the_upper_lip_shades_the_top_of_the_teeth(large_hopper):
    _, landmarks, generator = large_hopper
    target = raise_upper_lip(open_mouth(landmarks, 0.5), 0.15)  # the teeth bared
    frame = generator.render(target)
    # From just past the lip's soft edge down to the middle of a central incisor.
    column = luminance(under_upper_lip(frame, target, 0.035, 0.12, 0.08))
    top, middle = column[:2].mean(), column[-4:].mean()
    assert top < 0.95 * middle  # in the lip's shadow
    assert middle > 140  # lit teeth below it


def test_rounded_lips_cover_the_teeth_and_stretched_lips_bare_them(large_hopper):
    _, landmarks, generator = large_hopper
    under_lip = {}
    for factor in (0.8, 1.15):
        target = reshape_lips(open_mouth(landmarks, 0.6), factor)
        frame = generator.render(target)
        under_lip[factor] = luminance(under_upper_lip(frame, target, 0.04, 0.12, 0.08)).mean()
    assert under_lip[0.8] < 90  # "oh": the dark inside of the mouth, the teeth behind the lips
    assert under_lip[1.15] > under_lip[0.8] + 80  # the teeth


# --- eyes -------------------------------------------------------------------------------------

def test_blink_closes_the_eye_over_the_sclera(painting, painting_generator):
    image, landmarks = painting
    frame = painting_generator.render(blink_right_eye(landmarks))
    aperture = polygon_mask(landmarks[RIGHT_EYE_CONTOUR], image.shape)
    iris_radius = np.linalg.norm(landmarks[469:473, :2] - landmarks[468, :2], axis=1).mean()
    rows, cols = np.nonzero(aperture)
    off_iris = np.hypot(cols + 0.5 - landmarks[468, 0], rows + 0.5 - landmarks[468, 1]) \
        > 1.2 * iris_radius
    sclera = (rows[off_iris], cols[off_iris])
    assert len(sclera[0]) > 20
    assert luminance(frame)[sclera].mean() < luminance(image)[sclera].mean() - 15
    # the dark iris is covered by the lid skin, not squeezed or smeared over it
    iris = aperture & (np.hypot(*(np.mgrid[0:image.shape[0], 0:image.shape[1]][::-1] + 0.5
                                  - landmarks[468, :2, None, None])) < 0.7 * iris_radius)
    assert luminance(frame)[iris].mean() > luminance(image)[iris].mean() + 20
    # the other eye is untouched
    other = polygon_mask(landmarks[LEFT_EYE_UPPER], image.shape)
    assert np.array_equal(frame[other], image[other])


@pytest.mark.parametrize("portrait", ["hopper", "painting"])
def test_gaze_moves_the_iris_and_fills_the_sclera(portrait, request):
    image, landmarks = request.getfixturevalue(portrait)
    share = 0.2
    frame = Generator(image, landmarks).render(look_sideways(landmarks, share))
    aperture = polygon_mask(landmarks[RIGHT_EYE_CONTOUR], image.shape)
    rows, cols = np.nonzero(aperture)

    def dark_centre(picture):  # where the darkest fifth of the eye is: the iris
        light = luminance(picture)[rows, cols]
        return (cols[light <= np.percentile(light, 20)] + 0.5).mean()

    shift = dark_centre(frame) - dark_centre(image)
    assert shift > 0.3 * share * eye_width(landmarks)
    # where the iris was (its trailing side), the eye is now lighter: sclera
    centre = landmarks[468, :2]
    radius = np.linalg.norm(landmarks[469:473, :2] - centre, axis=1).mean()
    trailing = aperture & (np.hypot(*(np.mgrid[0:image.shape[0], 0:image.shape[1]][::-1]
                                      + 0.5 - centre[:, None, None])) < 0.8 * radius)
    trailing &= np.arange(image.shape[1])[None, :] + 0.5 < centre[0] - 0.2 * radius
    assert trailing.sum() > 3
    assert luminance(frame)[trailing].mean() > luminance(image)[trailing].mean() + 15


def test_the_white_where_the_iris_was_is_lit_as_the_eye_is():
    """Raphael's sitter has her eyes in the shade of their sockets, darker than her cheeks:
    the white filled in where the iris was is as dark as her own eye whites, not a light
    patch."""
    image = read_image(TESTDATA / "portraits" / "painting_raphael_la_velata.jpg")
    landmarks = detect_landmarks(image)
    generator = Generator(image, landmarks)
    aperture = polygon_mask(landmarks[RIGHT_EYE_CONTOUR], image.shape)
    centre = landmarks[RIGHT_IRIS_CENTER, :2]
    radius = np.linalg.norm(landmarks[469:473, :2] - centre, axis=1).mean()
    columns, rows = np.meshgrid(np.arange(image.shape[1]) + 0.5, np.arange(image.shape[0]) + 0.5)
    distance = np.hypot(columns - centre[0], rows - centre[1])
    own_white = np.percentile(luminance(image)[aperture & (distance > 1.2 * radius)], 90)
    for share in (0.2, -0.2):
        frame = generator.render(look_sideways(landmarks, share))
        behind = centre[0] - columns if share > 0 else columns - centre[0]  # the iris left it
        trailing = aperture & (distance < 0.8 * radius) & (behind > 0.2 * radius)
        filled = luminance(frame)[trailing].mean()
        assert luminance(image)[trailing].mean() + 15 < filled < own_white - 5


# --- head -------------------------------------------------------------------------------------

def best_shift(before, after, reach):
    """Horizontal shift (px) that best maps a strip of `before` onto `after`."""
    errors = [np.abs(np.roll(before, s, axis=1)[:, reach:-reach].astype(int)
                     - after[:, reach:-reach]).mean() for s in range(-reach, reach + 1)]
    return int(np.argmin(errors)) - reach


def test_head_turn_carries_the_hair_and_keeps_the_border(painting, painting_generator):
    image, landmarks = painting
    target = turn_head(landmarks, -15)
    frame = painting_generator.render(target)
    for rows in (slice(0, 16), slice(-16, None)):
        for cols in (slice(0, 16), slice(-16, None)):
            assert np.array_equal(frame[rows, cols], image[rows, cols])
    face_shift = float(np.mean(target[:, 0] - landmarks[:, 0]))
    assert abs(face_shift) > 10
    # the hair just above the forehead moves the same way as the face
    top = int(landmarks[:, 1].min())
    height = int(0.2 * inter_ocular(landmarks))
    x0, x1 = (int(v) for v in np.percentile(landmarks[:, 0], [20, 80]))
    strip = (slice(top - 2 * height, top - height), slice(x0, x1))
    hair_shift = best_shift(image[strip], frame[strip], int(abs(face_shift)) + 5)
    assert np.sign(hair_shift) == np.sign(face_shift)
    assert abs(hair_shift) >= 0.3 * abs(face_shift)


def test_the_head_matte_covers_the_head_and_the_plate_only_fills_it(painting):
    from core.generator.head import head_rings
    from core.generator.inputs import snap_to_pixel_centres
    from core.generator.matte import HeadMatte
    from core.landmarks.topology import FACE_OVAL

    image, landmarks = painting
    snapped = snap_to_pixel_centres(landmarks.astype(np.float64))
    cut = HeadMatte.measure(image, snapped, head_rings(snapped, image.shape[1], image.shape[0]))
    matte = cv2.resize(cut.matte, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    face = polygon_mask(landmarks[FACE_OVAL], image.shape)
    assert (matte[face] == 255).mean() > 0.99
    for corner in (matte[:20, :20], matte[:20, -20:]):  # the background above the shoulders
        assert (corner == 0).all()
    outside = matte == 0
    assert np.array_equal(cut.plate[outside], image[outside])
    # the filled head is not the head: the face is gone from the plate
    assert np.abs(cut.plate[face].astype(int) - image[face]).mean() > 10
    again = HeadMatte.measure(image, snapped, head_rings(snapped, image.shape[1], image.shape[0]))
    assert np.array_equal(again.matte, cut.matte) and np.array_equal(again.plate, cut.plate)


def test_where_the_head_leaves_the_plate_shows_and_nowhere_else():
    """A disc of head moved 12 px right by a uniform field: the crescent it leaves behind
    takes the plate's colour, the rest of the frame is untouched."""
    from core.generator.matte import HeadMatte

    size, radius, shift, cell = 192, 40, 12, 9
    yy, xx = np.mgrid[0:size, 0:size]
    disc = ((xx - 96) ** 2 + (yy - 96) ** 2 <= radius ** 2).astype(np.uint8) * 255
    plate = np.full((size, size, 3), 200, np.uint8)
    matte = HeadMatte(disc, 1.0, plate)
    frame = np.zeros((size, size, 3), np.uint8)
    nodes = -(-(size - 1) // cell) + 1
    field = np.zeros((nodes, nodes, 2))
    field[..., 0] = -shift  # backward: each pixel samples shift px to its left
    matte.show_uncovered(frame, field, (0, 0, size, size), (0, 0, size, size), cell)
    moved = np.roll(disc, shift, axis=1)
    left_behind = (disc == 255) & (moved == 0)
    untouched = (disc == 0) | (moved == 255)
    assert left_behind.sum() > 500
    assert (frame[left_behind] == 200).all()
    assert (frame[untouched] == 0).all()


def test_the_banded_blend_equals_one_band(monkeypatch):
    """The plate is blended band by band of matte rows: a quarter-size matte whose head moves
    down and sideways gives the same frame as blending it all at once."""
    import core.generator.matte as matte_module
    from core.generator.matte import HeadMatte

    size, cell = 400, 9
    yy, xx = np.mgrid[0:size // 4, 0:size // 4]
    disc = (((xx - 50) ** 2 + (yy - 50) ** 2 <= 22 ** 2) * 255).astype(np.uint8)
    cut = HeadMatte(disc, 0.25, np.full((size, size, 3), 200, np.uint8))
    nodes = -(-(size - 1) // cell) + 1
    field = np.zeros((nodes, nodes, 2))
    field[..., 0], field[..., 1] = -23.0, -37.0
    frames = []
    for band_pixels in (12, 4000):  # 3 matte rows a band, and all in one
        monkeypatch.setattr(matte_module, "BAND_PIXELS", band_pixels)
        frame = np.zeros((size, size, 3), np.uint8)
        cut.show_uncovered(frame, field, (0, 0, size, size), (0, 0, size, size), cell)
        frames.append(frame)
    assert (frames[1] > 0).sum() > 1000
    assert np.array_equal(frames[0], frames[1])


def test_head_turn_does_not_fold_the_image_over(painting):
    """Warp an image whose colours encode their own position: along every row the sampled
    source x may jump forwards (occlusion) but never run backwards (a mirrored fold)."""
    image, landmarks = painting
    height, width = image.shape[:2]
    ramp = np.zeros_like(image)
    ramp[..., 0] = np.round(np.linspace(0, 255, width))[None, :]
    ramp[..., 1] = np.round(np.linspace(0, 255, height))[:, None]
    for degrees in (-18, 18):
        frame = Generator(ramp, landmarks).render(turn_head(landmarks, degrees))
        source_x = frame[..., 0].astype(int)
        backwards = np.diff(source_x, axis=1) < -2  # beyond bilinear rounding
        assert backwards.mean() < 1e-3
        assert np.array_equal(frame[:, :8], ramp[:, :8])


@pytest.mark.parametrize("portrait", ["hopper", "painting"])
def test_a_dropping_jaw_carries_the_skin_under_the_chin_and_leaves_the_neck(portrait, request):
    """Warp an image whose green encodes its row: just under a dropping chin the skin comes
    down with it instead of being squeezed into a line, and the neck further down stays."""
    image, landmarks = request.getfixturevalue(portrait)
    chin = landmarks[CHIN_TIP]
    first_row = int(chin[1]) - 100
    coded = image.copy()
    coded[..., 1] = np.clip(np.arange(image.shape[0]) - first_row, 0, 255)[:, None]
    target = open_mouth(landmarks, 0.2)
    frame = Generator(coded, landmarks).render(target)
    column = frame[:, int(chin[0]), 1].astype(float)
    drop = target[CHIN_TIP, 1] - chin[1]
    face_height = np.ptp(landmarks[:, 1])
    assert drop > 0.07 * face_height

    def moved(below_chin):
        """How far the pixels of the frame's rows `below_chin` face heights under the target
        chin moved down from the portrait, in chin drops."""
        rows = np.round(target[CHIN_TIP, 1] + np.asarray(below_chin) * face_height).astype(int)
        return (rows - (column[rows] + first_row)) / drop

    # The skin just under the chin keeps up with it (squeezed, it came about half as far).
    assert moved(np.linspace(0.0, 0.03, 4)).mean() > 0.8
    # The neck below stays, pixel for pixel.
    neck = np.round(chin[1] + np.linspace(0.25, 0.6, 8) * face_height).astype(int)
    assert np.array_equal(frame[neck, int(chin[0])], coded[neck, int(chin[0])])


def test_mesh_warp_culls_back_faces_and_keeps_the_nearest():
    """Two triangles folded over a third: the lattice takes each node from the nearest
    front-facing triangle, exactly the affine map of that triangle (a brute-force check)."""
    from core.generator.warp import node_displacement, triangulate

    rng = np.random.default_rng(0)
    source = rng.uniform(0, 60, (40, 2))
    triangles = triangulate(source)
    target = np.column_stack([source + rng.normal(0, 4, source.shape),
                              rng.uniform(0, 10, len(source))])  # jittered: some flip
    shape, cell = (31, 31), 2.0
    field = node_displacement(target, source, triangles, (0.0, 0.0), cell, shape)
    nodes = np.stack(np.meshgrid(np.arange(31.0), np.arange(31.0)), axis=-1).reshape(-1, 2) * 2
    expected = np.zeros_like(nodes)
    nearest = np.full(len(nodes), np.inf)
    flipped = 0
    for corners in triangles:
        t, s = target[corners], source[corners]
        edges = np.array([t[1, :2] - t[0, :2], t[2, :2] - t[0, :2]]).T
        if np.linalg.det(edges) <= 0:
            flipped += 1
            continue
        b = np.linalg.solve(edges, (nodes - t[0, :2]).T).T
        weights = np.column_stack([1 - b.sum(axis=1), b])
        inside = (weights >= -1e-9).all(axis=1)
        depth = weights @ t[:, 2]
        closer = inside & (depth < nearest)
        nearest[closer] = depth[closer]
        expected[closer] = (weights @ s)[closer] - nodes[closer]
    assert flipped > 0 and np.isfinite(nearest).sum() > 0.5 * len(nodes)
    assert np.abs(field.reshape(-1, 2) - expected).max() < 1e-3


def test_row_spans_find_the_nodes_a_test_per_node_finds():
    """Each triangle is drawn by spans of columns worked out row by row; a node-by-node
    barycentric test with the same tolerance finds the same nodes, where corners sit on nodes
    (edges through nodes, shared by two triangles, nodes on the tolerance's side of them) and
    off them, on lattices of different cells and origins, triangles folded over others (the
    nearest wins) and back faces culled. All lattices drawn in one pass equal each drawn
    alone."""
    from core.generator.warp import (INSIDE_TOLERANCE, node_displacement, node_displacements,
                                     triangulate)

    rng = np.random.default_rng(3)
    grid = np.stack(np.meshgrid(np.arange(0.0, 41, 8), np.arange(0.0, 41, 8)), -1).reshape(-1, 2)
    source = np.concatenate([grid, rng.uniform(0, 40, (25, 2))])
    triangles = triangulate(source)
    # Grid corners move by whole nodes of the first lattice, the rest anywhere: some fold over.
    moved = source + np.concatenate([rng.integers(-3, 4, grid.shape) * 2.0,
                                     rng.normal(0, 4, (25, 2))])
    target = np.column_stack([moved, rng.uniform(0, 10, len(source))])
    source = source + (0.37, 0.61)  # no covered node keeps a zero displacement
    lattices = [((0.0, 0.0), 2.0, (22, 23)), ((3.0, 5.0), 1.0, (30, 25)),
                ((-2.5, 1.25), 3.5, (14, 14))]
    together = node_displacements(target, source, triangles, lattices)
    folds = 0
    for (origin, cell, shape), field in zip(lattices, together):
        assert np.array_equal(field, node_displacement(target, source, triangles, origin,
                                                       cell, shape))
        nodes = np.stack(np.meshgrid(np.arange(shape[1]) * cell + origin[0],
                                     np.arange(shape[0]) * cell + origin[1]), -1).reshape(-1, 2)
        expected, nearest = np.zeros_like(nodes), np.full(len(nodes), np.inf)
        covered = np.zeros(len(nodes), int)
        for corners in triangles:
            t, s = target[corners], source[corners]
            edges = np.array([t[1, :2] - t[0, :2], t[2, :2] - t[0, :2]]).T
            if np.linalg.det(edges) / cell ** 2 <= 1e-12:
                continue
            b = np.linalg.solve(edges, (nodes - t[0, :2]).T).T
            weights = np.column_stack([1 - b.sum(axis=1), b])
            inside = (weights >= -INSIDE_TOLERANCE).all(axis=1)
            covered += inside
            depth = weights @ t[:, 2]
            closer = inside & (depth < nearest)
            nearest[closer] = depth[closer]
            expected[closer] = (weights @ s)[closer] - nodes[closer]
        folds += (covered > 1).sum()
        drawn = (field != 0).any(axis=-1).reshape(-1)
        assert np.array_equal(drawn, covered > 0)
        assert np.abs(field.reshape(-1, 2) - expected).max() < 1e-9
    assert folds > 50



def test_only_the_part_of_the_lattice_that_moves_is_resampled():
    """One moving node moves the pixels strictly between its still neighbours, no others."""
    from core.generator.resample import pixel_positions
    from core.generator.warp import moving_part

    span, cell = (3, 5, 3 + 8 * 5 + 1, 5 + 6 * 5 + 1), 5  # 9 x 7 nodes
    field = np.zeros((7, 9, 2))
    field[2, 6] = (0.5, -1.0)
    where = moving_part(field, span, cell, span)
    assert where == (3 + 5 * 5 + 1, 5 + 1 * 5 + 1, 3 + 7 * 5, 5 + 3 * 5)
    positions = pixel_positions(field, span, span, cell)
    identity = pixel_positions(np.zeros_like(field), span, span, cell)
    rows, cols = np.nonzero((positions != identity).any(axis=2))
    x0, y0, x1, y1 = where
    assert rows.min() + span[1] == y0 and rows.max() + span[1] == y1 - 1
    assert cols.min() + span[0] == x0 and cols.max() + span[0] == x1 - 1
    assert moving_part(np.zeros((7, 9, 2)), span, cell, span) is None


# --- sizes and inputs -------------------------------------------------------------------------

def test_odd_sized_portrait(hopper):
    image = np.ascontiguousarray(hopper[0][60:472, 50:460])  # 412 x 410
    landmarks = detect_landmarks(image)
    generator = Generator(image, landmarks)
    frame = generator.render(open_mouth(turn_head(landmarks, 10)))
    assert frame.shape == (412, 410, 3)
    assert not np.array_equal(frame, image)
    assert np.array_equal(generator.render(landmarks), image)


def test_large_portrait(hopper):
    image, landmarks = hopper
    scale = 2048 / image.shape[1]
    large = resize_image(image, (2048, round(image.shape[0] * scale)))
    large_landmarks = landmarks * np.float32(scale)
    target = open_mouth(turn_head(large_landmarks, 12))
    frame = Generator(large, large_landmarks).render(target)
    assert frame.shape == large.shape
    assert np.array_equal(frame[:16, :16], large[:16, :16])
    mouth = polygon_mask(target[INNER_LIP_CONTOUR], large.shape)
    assert luminance(frame)[mouth].mean() < luminance(large)[mouth].mean() - 20


@pytest.mark.parametrize("image, landmarks, message", [
    (np.zeros((100, 100), np.uint8), np.zeros((478, 3)), "uint8 (H, W, 3)"),
    (np.zeros((100, 100, 3), np.float32), np.zeros((478, 3)), "uint8 (H, W, 3)"),
    (np.zeros((8, 100, 3), np.uint8), np.zeros((478, 3)), "too small"),
    (np.zeros((100, 100, 3), np.uint8), np.zeros((468, 3)), "shape (478, 3)"),
    (np.zeros((100, 100, 3), np.uint8), np.full((478, 3), np.nan), "finite"),
    (np.zeros((100, 100, 3), np.uint8), np.zeros((478, 3)), "degenerate"),
])
def test_bad_portrait_inputs_are_one_line_errors(image, landmarks, message):
    with pytest.raises(PortraitError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Generator(image, landmarks)


def test_bad_target_is_a_one_line_error(hopper_generator, hopper):
    with pytest.raises(PortraitError, match="target landmarks"):
        hopper_generator.render(hopper[1][:, :2])
    with pytest.raises(PortraitError, match="finite"):
        hopper_generator.render(np.full((478, 3), np.inf))


# --- baselines --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baselines_share_the_call_shape_and_rest_exactly(name, hopper):
    image, landmarks = hopper
    assert np.array_equal(BASELINES[name](image, landmarks, landmarks), image)
    frame = BASELINES[name](image, landmarks, turn_head(landmarks, 12))
    assert frame.shape == image.shape and frame.dtype == np.uint8
    border = np.ones(image.shape[:2], bool)
    border[2:-2, 2:-2] = False
    border_still = np.abs(frame[border].astype(int) - image[border]).mean() < 1.0
    moved = not np.array_equal(frame, image)
    expected = {"static": (True, False), "similarity": (False, True), "tps": (True, True)}
    assert (border_still, moved) == expected[name]


@pytest.mark.parametrize("step", [3, 5])
def test_a_coarsely_shaded_interior_lands_each_sample_on_its_pixel(step):
    from core.generator.mouth import upsample

    rows, cols = np.mgrid[0:37, 0:52].astype(np.float32)
    ramp = np.stack([rows, cols, rows + 2 * cols])  # bilinear upsampling keeps a ramp exact
    coarse = ramp[:, step // 2::step, step // 2::step]
    full = upsample(coarse, step, rows.shape)
    inner = np.s_[:, step // 2:-(step + 1), step // 2:-(step + 1)]  # between the samples
    assert full.shape == ramp.shape
    assert np.abs(full[inner] - ramp[inner]).max() < 1e-3


def test_a_large_mouth_shaded_coarsely_looks_as_when_shaded_at_every_pixel(monkeypatch):
    import core.generator.mouth as mouth

    image = resize_image(read_image(default_portrait_path()), (1024, 1024))
    landmarks = detect_landmarks(image)
    target = landmarks.copy()
    lower = sorted(set(INNER_LIP_LOWER[1:-1] + OUTER_LIP_LOWER[1:-1]) | {CHIN_TIP})
    target[lower, 1] += 0.25 * float(np.ptp(landmarks[INNER_LIP_CONTOUR, 0]))
    # The mouth here is ~100 px wide: shaded as a 4096 px portrait's would be, on every 3rd
    # pixel.
    monkeypatch.setattr(mouth, "MAX_INTERIOR_SAMPLES", 1000)
    coarse = Generator(image, landmarks).render(target)
    monkeypatch.setattr(mouth, "MAX_INTERIOR_SAMPLES", 10 ** 9)
    exact = Generator(image, landmarks).render(target)
    difference = np.abs(coarse.astype(int) - exact)
    assert difference.any()  # the large mouth was shaded coarsely
    assert difference.mean() < 0.05 and np.percentile(difference[difference > 0], 99) < 40
