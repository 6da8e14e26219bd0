"""References of the sitter: one-line errors for wrong ones, real mouth pixels for right ones."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import TESTDATA
from core.errors import PortraitError
from core.generator import Generator
from core.generator.references import Reference, load_reference, pick_informative_frames
from core.landmarks import detect_landmarks
from core.landmarks.topology import INNER_LIP_CONTOUR
from core.media import read_image, read_video, write_image
from test_cli import assert_one_line_error, run_cli

CLIP = TESTDATA / "driving" / "lp_d18_man_frontal.mp4"  # static head, the jaw wide open
CLOSED, REFERENCE, TARGET = 0, 83, 90  # frame numbers: mouth closed, wide open, wide open


@pytest.fixture(scope="module")
def sitter():
    """Frames of the clip with their landmarks: {frame number: (image, landmarks)}."""
    frames, _ = read_video(CLIP)
    return {i: (frames[i], detect_landmarks(frames[i])) for i in (CLOSED, REFERENCE, TARGET)}


def inner_mouth(landmarks, shape):
    """bool (H, W): inside the inner-lip contour, away from its soft edge."""
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[INNER_LIP_CONTOUR, :2]).astype(np.int32)], 1)
    return cv2.erode(mask, np.ones((7, 7), np.uint8)).astype(bool)


def test_a_reference_of_another_person_is_a_one_line_error():
    portrait = read_image(TESTDATA / "portraits" / "painting_girl_with_a_pearl_earring.jpg")
    other, _ = read_video(TESTDATA / "driving" / "lp_d10_woman_talking.mp4")
    reference = Reference(other[0], detect_landmarks(other[0]), "woman.png")
    with pytest.raises(PortraitError, match="does not match the portrait's sitter") as error:
        Generator(portrait, detect_landmarks(portrait), references=[reference])
    assert "\n" not in str(error.value)


def test_a_reference_without_a_face_is_a_one_line_error(tmp_path, sitter):
    blank = tmp_path / "blank.png"
    write_image(blank, np.full((240, 240, 3), 128, np.uint8))
    with pytest.raises(PortraitError, match="no face found in the reference"):
        load_reference(blank)
    portrait = tmp_path / "portrait.png"
    write_image(portrait, sitter[CLOSED][0])
    result = run_cli("animate", portrait, "--driver", CLIP, "--output", tmp_path / "out.mp4",
                     "--reference", blank)
    assert_one_line_error(result, "no face found in the reference")


def test_an_open_mouth_reference_lends_its_real_interior(sitter):
    image, landmarks = sitter[CLOSED]
    real, target = sitter[TARGET]
    reference = Reference(*sitter[REFERENCE])
    synthesized = Generator(image, landmarks).render(target)
    lent = Generator(image, landmarks, references=[reference]).render(target)
    inside = inner_mouth(target, image.shape)
    assert inside.sum() > 200
    assert np.abs(lent[inside].astype(int) - synthesized[inside]).mean() > 10  # it is used

    def error(frame):
        return np.abs(frame[inside].astype(int) - real[inside]).mean()
    # The sitter's own open mouth a few frames earlier, colour-matched, is closer to the real
    # interior than the painted one; and its colours are the reference's (the same lighting).
    assert error(lent) < 0.8 * error(synthesized)
    reference_inside = reference.image[inner_mouth(reference.landmarks, image.shape)]
    assert np.abs(np.median(lent[inside], axis=0) - np.median(reference_inside, axis=0)).max() < 25


def test_references_render_deterministically(sitter):
    image, landmarks = sitter[CLOSED]
    references = [Reference(*sitter[REFERENCE]), Reference(*sitter[TARGET])]
    target = sitter[TARGET][1]
    first = Generator(image, landmarks, references=references).render(target)
    second = Generator(image, landmarks, references=references).render(target)
    assert first.tobytes() == second.tobytes()


def test_no_usable_reference_renders_exactly_as_without(sitter):
    image, landmarks = sitter[CLOSED]
    closed_mouth = Reference(image, landmarks)  # no interior to lend
    target = sitter[TARGET][1]
    plain = Generator(image, landmarks).render(target)
    assert Generator(image, landmarks, references=[]).render(target).tobytes() == plain.tobytes()
    assert Generator(image, landmarks, references=[closed_mouth]).render(target).tobytes() == \
        plain.tobytes()


def outer_mouth(landmarks, shape):
    """bool (H, W): inside the outer-lip contour, away from its edge."""
    from core.landmarks.topology import OUTER_LIP_CONTOUR

    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[OUTER_LIP_CONTOUR, :2]).astype(np.int32)], 1)
    return cv2.erode(mask, np.ones((5, 5), np.uint8)).astype(bool)


def test_a_reference_of_the_targets_mouth_lends_its_whole_mouth(sitter):
    """The reference is the target's own frame: its lips and interior replace the portrait's
    closed lips stretched by the warp and the synthesized interior; what differs is the
    colour match (the skin's statistics move a little as the jaw drops)."""
    image, landmarks = sitter[CLOSED]
    real, target = sitter[TARGET]
    plain = Generator(image, landmarks).render(target)
    lent = Generator(image, landmarks, references=[Reference(real, target)]).render(target)
    mouth = outer_mouth(target, image.shape)
    assert mouth.sum() > 500

    def error(frame):
        return np.abs(frame[mouth].astype(int) - real[mouth]).mean()
    assert error(plain) > 15
    assert error(lent) < 0.35 * error(plain)


def test_a_reference_mouth_farther_than_the_portraits_lends_nothing(sitter):
    """A wide-open reference for a target whose lips are closed like the portrait's: the
    portrait's own mouth is nearer, so the frame is byte for byte the plain generator's; for
    a wide-open target the same reference is nearer and lends."""
    image, landmarks = sitter[CLOSED]
    reference = Reference(*sitter[REFERENCE])
    closed_target = landmarks.copy()
    closed_target[:, 0] += 3.0  # the head moved a little, the lips as in the portrait
    plain = Generator(image, landmarks).render(closed_target)
    generator = Generator(image, landmarks, references=[reference])
    assert generator.render(closed_target).tobytes() == plain.tobytes()
    target = sitter[TARGET][1]
    plain = Generator(image, landmarks).render(target)
    assert generator.render(target).tobytes() != plain.tobytes()


def test_the_nearest_reference_mouth_is_chosen_and_fades_with_nearness(sitter):
    """Of a closed and an open reference, an open target takes the open one, fully; a target
    a little nearer the open reference's lips than the portrait's takes it partly, one a
    little nearer the portrait's not at all."""
    from core.generator.references import MOUTH_NEARER_FULL, ReferenceMouths
    from core.generator.inputs import snap_to_pixel_centres

    image, landmarks = sitter[CLOSED]
    height, width = image.shape[:2]
    portrait = Reference(image, landmarks)
    closed, opened = Reference(image, landmarks), Reference(*sitter[REFERENCE])
    target = snap_to_pixel_centres(sitter[TARGET][1])
    mouth, nearer, _, _ = ReferenceMouths(portrait, [closed, opened]).nearest(target)
    assert mouth.reference is opened and nearer > MOUTH_NEARER_FULL
    assert ReferenceMouths(portrait, [opened]).layer(target, width, height).alpha.max() > 0.99
    mouths = ReferenceMouths(portrait, [opened])

    def between(share):  # landmarks `share` of the way from the portrait's to the reference's
        return snap_to_pixel_centres(landmarks + share * (sitter[REFERENCE][1] - landmarks))
    _, partly, _, _ = mouths.nearest(between(0.6))
    assert 0.1 < partly < MOUTH_NEARER_FULL
    assert 0.2 < mouths.layer(between(0.6), width, height).alpha.max() < 0.9
    assert mouths.nearest(between(0.4)) is None
    assert mouths.layer(between(0.4), width, height) is None


def test_a_reference_mouth_is_not_widened_into_another_shape(sitter):
    """The reference's own lips widened about their centre: up to MOUTH_WIDENED[0] times the
    reference lends fully, far nearer the target than the portrait's closed lips; widened
    past MOUTH_WIDENED[1] (a round mouth made wide) it lends nothing, and narrowed as much it
    still lends fully."""
    from core.generator.inputs import snap_to_pixel_centres
    from core.generator.references import LIP_POINTS, MOUTH_WIDENED, ReferenceMouths

    image, landmarks = sitter[CLOSED]
    height, width = image.shape[:2]
    mouths = ReferenceMouths(Reference(image, landmarks), [Reference(*sitter[REFERENCE])])

    def widened(factor):
        target = sitter[REFERENCE][1].copy()
        centre = target[LIP_POINTS, 0].mean()
        target[LIP_POINTS, 0] = centre + factor * (target[LIP_POINTS, 0] - centre)
        return snap_to_pixel_centres(target)
    for factor in (0.95 * MOUTH_WIDENED[0], 1 / (1.1 * MOUTH_WIDENED[1])):
        _, nearer, _, share = mouths.nearest(widened(factor))
        assert nearer > 0.5 and share == 1.0
    assert mouths.nearest(widened(1.1 * MOUTH_WIDENED[1])) is None
    assert mouths.layer(widened(1.1 * MOUTH_WIDENED[1]), width, height) is None


def test_informative_frames_start_with_the_widest_mouth():
    frames, fps = read_video(CLIP)
    from core.landmarks import track_frames

    track, _ = track_frames(frames[::6], fps, smooth=False)
    picked = pick_informative_frames(track, 5)
    assert len(picked) == len(set(picked)) == 5
    # the inner lips' midpoints apart, in mouth widths (corner to corner)
    opened = (track[:, 14, 1] - track[:, 13, 1]) / np.linalg.norm(
        track[:, 78, :2] - track[:, 308, :2], axis=1)
    assert opened[picked[0]] > 0.9 * opened.max()


def test_informative_frames_cover_the_mouth_shapes_of_speech():
    """Beyond the extremes, the picks spread over the clip's mouth shapes: no frame of a
    talking clip has lips farther than 0.1 inter-ocular distances from a picked frame's (the
    widest mouth alone leaves frames 0.24 away; farthest in expression alone, 0.13)."""
    from core.generator.inputs import snap_to_pixel_centres
    from core.generator.references import mouth_shape
    from core.landmarks import track_frames

    frames, fps = read_video(TESTDATA / "driving" / "lp_d10_woman_talking.mp4")
    track, _ = track_frames(frames[::6], fps, smooth=False)
    points = snap_to_pixel_centres(track)
    lips = np.stack([mouth_shape(p, points[0]) for p in points])
    picked = pick_informative_frames(track, 8)
    nearest = np.min([np.linalg.norm(lips - lips[i], axis=2).mean(axis=1) for i in picked],
                     axis=0)
    widest = np.linalg.norm(lips - lips[picked[0]], axis=2).mean(axis=1)
    assert widest.max() > 0.2
    assert nearest.max() < 0.1


def test_a_closed_eye_reference_lends_its_lid():
    from core.generator.references import lid_outline
    from core.generator.eyes import EYE_PARTS

    frames, _ = read_video(TESTDATA / "driving" / "lp_d9_man_glasses_expressions.mp4")
    portrait, reference, target = 0, 40, 13  # eyes open; eyes closed; eyes closed
    landmarks = {i: detect_landmarks(frames[i]) for i in (portrait, reference, target)}
    image = frames[portrait]
    plain = Generator(image, landmarks[portrait]).render(landmarks[target])
    lent = Generator(image, landmarks[portrait],
                     references=[Reference(frames[reference], landmarks[reference])]
                     ).render(landmarks[target])
    changed = np.abs(lent.astype(int) - plain).max(axis=2) > 0
    lids = np.zeros(image.shape[:2], np.uint8)
    for parts in EYE_PARTS:
        outline = np.round(landmarks[target][lid_outline(parts), :2]).astype(np.int32)
        cv2.fillPoly(lids, [outline], 1)
    assert changed[lids.astype(bool)].mean() > 0.5  # the lids are the reference's
    # ... and nothing else of the upper face (the reference lends its mouth too: below)
    upper_face = np.zeros_like(changed)
    upper_face[:int(landmarks[target][195, 1])] = True
    around_lids = cv2.dilate(lids, np.ones((9, 9), np.uint8)).astype(bool)
    assert not changed[upper_face & ~around_lids].any()
    real = frames[target][lids.astype(bool)].astype(int)
    assert np.abs(lent[lids.astype(bool)] - real).mean() < \
        0.9 * np.abs(plain[lids.astype(bool)] - real).mean()


def test_a_still_video_never_picks_a_frame_twice():
    frames, _ = read_video(TESTDATA / "driving" / "lp_d18_man_frontal.mp4")
    still = np.repeat(detect_landmarks(frames[0])[None], 12, axis=0)
    picked = pick_informative_frames(still, 6)
    assert len(picked) == 6 and len(set(picked)) == 6


def test_references_from_a_video_are_its_most_informative_frames():
    from core.generator.references import references_from_video

    clip = TESTDATA / "driving" / "lp_d0_man_greenscreen.mp4"
    references = references_from_video(clip, 3)
    frames, _ = read_video(clip)
    indices = [int(reference.name.rsplit(" ", 1)[1]) for reference in references]
    assert len(set(indices)) == 3
    for index, reference in zip(indices, references):
        assert np.array_equal(reference.image, frames[index])
        assert np.abs(reference.landmarks - detect_landmarks(frames[index])).max() < 1e-3
    with pytest.raises(PortraitError, match="at least 1"):
        references_from_video(clip, 0)


TURNING = TESTDATA / "driving" / "sadtalker_hdtf_katie_hill_talking.mp4"
# frame numbers: the portrait (frontal), a head turned to its left, the target turned further,
# a target facing as the portrait does
FRONTAL, TURNED, TURNING_TARGET, FACING = 0, 192, 175, 112


@pytest.fixture(scope="module")
def turning():
    """Frames of a clip whose head turns, with their landmarks: {frame: (image, landmarks)}."""
    frames, _ = read_video(TURNING)
    return {i: (frames[i], detect_landmarks(frames[i]))
            for i in (FRONTAL, TURNED, TURNING_TARGET, FACING)}


def test_a_turned_reference_lends_the_cheek_a_turned_target_shows(turning):
    from core.generator.composite import band_count
    from core.generator.references import (CHEEK_FEATHER, CHEEK_PARTS, cheek_outline,
                                           cheek_warp_points, head_yaw, mouth_outline)
    from core.landmarks.topology import EYE_CORNERS

    image, landmarks = turning[FRONTAL]
    real, target = turning[TURNING_TARGET]
    assert head_yaw(target, landmarks) < head_yaw(turning[TURNED][1], landmarks) < -0.15
    plain = Generator(image, landmarks).render(target)
    lent = Generator(image, landmarks, references=[Reference(*turning[TURNED])]).render(target)
    height, width = image.shape[:2]
    right_cheek, left_cheek = (cheek_outline(cheek_warp_points(target, width, height), parts)
                               for parts in CHEEK_PARTS)
    cheek = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(cheek, [np.round(right_cheek).astype(np.int32)], 1)
    changed = np.abs(lent.astype(int) - plain).max(axis=2) > 2
    assert changed[cheek.astype(bool)].mean() > 0.5  # the shown (right) cheek is the reference's
    # ... and nothing beyond the blend's reach around it: not the other cheek, eyes or mouth
    scale = np.linalg.norm(np.subtract(*target[list(EYE_CORNERS), :2]))
    x0, y0 = right_cheek.min(axis=0)
    x1, y1 = right_cheek.max(axis=0)
    reach = int(np.ceil(2 * CHEEK_FEATHER * scale)) + 2 ** (band_count(
        (0, 0, int(x1 - x0), int(y1 - y0))) + 1) + 2
    near = cv2.dilate(cheek, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)).astype(bool)
    # The reference lends its mouth too (turned like the target's, it is nearer than the
    # portrait's): leave the lent mouth's reach out.
    mouth = np.zeros_like(cheek)
    cv2.fillPoly(mouth, [np.round(mouth_outline(target)).astype(np.int32)], 1)
    near |= cv2.dilate(mouth, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)).astype(bool)
    assert changed.any() and not (np.abs(lent.astype(int) - plain).max(axis=2)[~near] > 0).any()
    other = np.zeros_like(cheek)
    cv2.fillPoly(other, [np.round(left_cheek).astype(np.int32)], 1)
    assert not changed[other.astype(bool) & ~near].any()
    # The sitter's own turned cheek is closer to the real one than the frontal cheek stretched.
    inside = cv2.erode(cheek, np.ones((9, 9), np.uint8)).astype(bool)
    assert np.abs(lent[inside].astype(int) - real[inside]).mean() < \
        0.95 * np.abs(plain[inside].astype(int) - real[inside]).mean()


def test_a_turned_reference_leaves_an_unturned_target_alone(turning):
    """No cheek is lent while the target faces as the portrait does, nor by a reference that
    does not turn: byte for byte the plain generator's frame; and the lent cheek's frames are
    deterministic."""
    image, landmarks = turning[FRONTAL]
    frontal_target = turning[FACING][1]
    turned = Reference(*turning[TURNED])
    for target, references in ((frontal_target, [turned]),
                               (turning[TURNING_TARGET][1], [Reference(image, landmarks)])):
        plain = Generator(image, landmarks).render(target)
        assert Generator(image, landmarks, references=references).render(target).tobytes() == \
            plain.tobytes()
    target = turning[TURNING_TARGET][1]
    generator = Generator(image, landmarks, references=[turned])
    first = generator.render(target)
    assert generator.render(target).tobytes() == first.tobytes()
    assert Generator(image, landmarks, references=[turned]).render(target).tobytes() == \
        first.tobytes()


def test_lent_pixels_are_blended_without_a_seam():
    """A lent layer brighter than the frame by 40 levels over a disc: deep inside it shows
    the layer, far outside the frame is untouched, and across the edge the step is spread
    wider than the alpha blend's feather (no seam), with the same total change."""
    from core.generator.composite import Layer, blend, blend_bands

    frame = np.tile(np.linspace(60, 160, 200).astype(np.uint8)[None, :, None], (200, 1, 3))
    box = (40, 40, 160, 160)
    yy, xx = np.mgrid[40:160, 40:160]
    alpha = np.clip((45 - np.hypot(xx - 100, yy - 100)) / 3, 0, 1).astype(np.float32)
    colour = frame[40:160, 40:160].transpose(2, 0, 1).astype(np.float32) + 40
    banded, feathered = frame.copy(), frame.copy()
    blend(banded, Layer(colour, alpha, box, lent=True))
    blend(feathered, Layer(colour, alpha, box))
    check = frame.copy()
    blend_bands(check, Layer(colour, alpha, box, lent=True))
    assert check.tobytes() == banded.tobytes()
    change = banded.astype(int) - frame
    assert np.abs(change[95:106, 95:106] - 40).max() <= 1
    assert not change[:8].any() and not change[-8:].any()
    row = banded[100].astype(int)[:, 0] - frame[100, :, 0]
    feathered_row = feathered[100].astype(int)[:, 0] - frame[100, :, 0]
    assert np.abs(np.diff(row)).max() < 0.6 * np.abs(np.diff(feathered_row)).max()


TALKING = TESTDATA / "driving" / "lp_d3_woman_talking.mp4"
# frame numbers: the portrait (eyes open, frontal), a reference with both eyes closed (head
# turned 5 degrees), targets with closed eyes whose head pose is 5 and 15 degrees from it
EYES_OPEN, EYES_CLOSED, CLOSED_NEAR, CLOSED_TURNED = 0, 233, 123, 144


@pytest.fixture(scope="module")
def blinking():
    """Frames of a talking clip with closed eyes: {frame: (image, landmarks)}."""
    from core.media import VideoReader

    wanted, found = {EYES_OPEN, EYES_CLOSED, CLOSED_NEAR, CLOSED_TURNED}, {}
    reader = VideoReader(TALKING)
    try:
        for index, frame in enumerate(reader):
            if index in wanted:
                found[index] = (frame, detect_landmarks(frame))
            if len(found) == len(wanted):
                break
    finally:
        reader.close()
    return found


def test_a_closed_lid_is_lent_only_to_a_head_posed_like_its_own(blinking):
    """The reference's closed lids cover a target's closed eyes at about its own head pose;
    a target turned LID_POSE[1] or more from it gets no lid (the warped portrait's)."""
    from core.generator.inputs import snap_to_pixel_centres
    from core.generator.references import LID_POSE, ReferenceLids, head_pose, rotation_angle

    image, landmarks = blinking[EYES_OPEN]
    reference = Reference(*blinking[EYES_CLOSED])
    lids = ReferenceLids(Reference(image, landmarks), [reference])
    height, width = image.shape[:2]
    for frame, lent in ((CLOSED_NEAR, True), (CLOSED_TURNED, False)):
        target = snap_to_pixel_centres(blinking[frame][1])
        turn = rotation_angle(head_pose(reference.points, target).rotation)
        assert (turn < LID_POSE[0]) if lent else (turn > LID_POSE[1])
        layers = lids.layers(target, width, height)
        assert len(layers) == (2 if lent else 0)
        assert all(layer.alpha.max() > 0.99 for layer in layers)


def test_a_recoloured_crop_warps_as_the_whole_recoloured_reference(blinking):
    """A lid warped from its recoloured crop (matched once, at construction) is the lid warped
    from the whole reference recoloured, within the crop's rounding: the crop's origin is
    applied without moving the points (whose triangulation a shift can change)."""
    from core.generator.eyes import EYE_PARTS
    from core.generator.inputs import snap_to_pixel_centres
    from core.generator.references import (Recoloured, lid_outline, lid_points, match_colours,
                                           warp_onto)
    from core.generator.composite import bounding_box

    image, landmarks = blinking[EYES_OPEN]
    portrait, reference = Reference(image, landmarks), Reference(*blinking[EYES_CLOSED])
    whole = match_colours(reference.image, reference.skin_colours,
                          portrait.skin_colours).transpose(1, 2, 0)
    target = snap_to_pixel_centres(blinking[CLOSED_NEAR][1])
    height, width = image.shape[:2]
    for parts in EYE_PARTS:
        points = lid_points(parts)
        crop = Recoloured.crop(reference, reference.points[points], 20.0, portrait)
        assert crop.origin[0] > 0 and crop.pixels.shape[0] < height // 2
        box = bounding_box(target[lid_outline(parts), :2], 6.0, width, height)
        from_crop = warp_onto(crop.pixels, reference.points[points], target[points], box,
                              crop.origin)
        from_whole = warp_onto(whole, reference.points[points], target[points], box)
        assert np.abs(from_crop - from_whole).mean() < 0.4
        assert np.abs(from_crop - from_whole).max() < 1.5


def test_a_wide_feather_drawn_coarsely_matches_the_fine_one():
    """feathered_outline blurs a wide feather on a coarser grid: inside it is 1, outside 0,
    and in between within 0.02 of the blur at full size."""
    from core.generator.references import FEATHER_SAMPLES, feathered_outline

    angles = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    outline = np.column_stack([300 + 150 * np.cos(angles), 260 + 110 * np.sin(angles)])
    feather = 6.5 * FEATHER_SAMPLES
    alpha, box = feathered_outline(outline, feather, 640, 520)
    x0, y0, x1, y1 = box
    assert alpha.shape == (y1 - y0, x1 - x0)
    mask = np.zeros(alpha.shape, np.uint8)
    cv2.fillPoly(mask, [np.round(outline - (x0, y0)).astype(np.int32)], 255)
    inward = int(round(feather))
    mask = cv2.erode(mask, np.ones((2 * inward + 1, 2 * inward + 1), np.uint8))
    fine = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), feather / 2)
    assert np.abs(alpha - fine).max() < 0.02
    assert alpha[260 - y0, 300 - x0] > 0.999 and alpha[0, 0] < 1e-3


def test_a_lent_cheek_stops_at_the_jaw_and_reaches_past_the_oval_beside_the_ear(turning):
    """The lent cheek's polygon goes out to the first head ring beside the head (temple, ear)
    and stays on the face oval along the jaw, whose ring lies on the neck."""
    from core.generator.head import OVAL
    from core.generator.references import CHEEK_PARTS, cheek_outline, cheek_warp_points
    from core.landmarks.topology import MESH_POINT_INDICES

    image, _ = turning[FRONTAL]
    height, width = image.shape[:2]
    target = turning[TURNING_TARGET][1]
    warp_points = cheek_warp_points(target, width, height)
    for parts, temple, jaw in zip(CHEEK_PARTS, (127, 356), (172, 397)):
        outline = cheek_outline(warp_points, parts)
        ring = warp_points[len(MESH_POINT_INDICES):]
        assert np.allclose(outline[parts.outline.index(temple)], ring[OVAL.index(temple), :2])
        assert np.allclose(outline[parts.outline.index(jaw)], target[jaw, :2])
        assert not np.allclose(ring[OVAL.index(jaw), :2], target[jaw, :2], atol=5)
