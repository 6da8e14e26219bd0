"""A contact sheet of paintings driven by a lively talking clip, at the hardest frames.

The clip is tracked and retargeted onto each painting (as `python -m core animate` does). Three
frames are picked on the driver: the largest head motion (rotation and translation against
its first frame), the widest mouth and the strongest gaze (iris off the eye's middle). Each
row is one painting: the painting itself, then its frames at those three moments, cropped to
the head; the top row is the driver. Every cell is scaled to the same height.

    .venv/bin/python bench/contact_sheet.py [--clip NAME] [--paintings A B C] [--at T T T]
                                            [--output PNG]

Writes bench/results/contact_sheet.png (not committed: the faces in the test data may not be
published animated). Look at it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.generator import Generator  # noqa: E402
from core.landmarks import detect_landmarks, inter_ocular, track_frames  # noqa: E402
from core.landmarks.topology import (LEFT_EYE_LOWER, LEFT_EYE_UPPER, LEFT_IRIS_CENTER,  # noqa: E402
                                     RIGHT_EYE_LOWER, RIGHT_EYE_UPPER, RIGHT_IRIS_CENTER)
from core.media import read_image, read_video, resize_image, write_image  # noqa: E402
from core.retarget import head_pose, retarget  # noqa: E402
from core.retarget.pose import rotation_angle  # noqa: E402

TESTDATA = ROOT.parent / "shared" / "testdata"
CLIP = "sadtalker_hdtf_katie_hill_talking.mp4"
PAINTINGS = ["painting_mona_lisa.jpg", "painting_girl_with_a_pearl_earring.jpg",
             "painting_bouguereau_girl_with_book.jpg", "painting_raphael_la_velata.jpg"]
CELL_HEIGHT = 360
MOMENTS = ("head motion", "widest mouth", "strongest gaze")
HEAD_CROP = 2.2  # face heights


def head_motion(track: np.ndarray) -> np.ndarray:
    """(T,) rotation in degrees plus translation in % of the inter-ocular distance, against
    frame 0."""
    scale = float(inter_ocular(track[0]))
    motion = []
    for landmarks in track:
        pose = head_pose(landmarks, track[0])
        angle = np.degrees(rotation_angle(pose.rotation))
        motion.append(angle + 100 * np.linalg.norm(pose.translation[:2]) / scale / 10)
    return np.array(motion)


def mouth_opening(track: np.ndarray) -> np.ndarray:
    """(T,) inner-lip gap in inter-ocular distances."""
    return np.linalg.norm(track[:, 14, :2] - track[:, 13, :2], axis=1) / inter_ocular(track)


def gaze(track: np.ndarray) -> np.ndarray:
    """(T,) how far the irises sit from the middle of their eyes, in eye widths."""
    offsets = []
    for upper, lower, iris in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_IRIS_CENTER),
                               (LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_IRIS_CENTER)):
        corners = track[:, [upper[0], upper[-1]], :2]
        middle = track[:, upper + lower, :2].mean(axis=1)
        width = np.linalg.norm(corners[:, 1] - corners[:, 0], axis=1)
        offsets.append(np.linalg.norm(track[:, iris, :2] - middle, axis=1) / width)
    return np.mean(offsets, axis=0)


def label(image: np.ndarray, text: str) -> np.ndarray:
    import cv2

    image = image.copy()
    (width, height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.55, 1)
    image[:height + 14, :width + 12] //= 3  # a dark band behind the text
    cv2.putText(image, text, (6, height + 6), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255),
                1, cv2.LINE_AA)
    return image


def head_crop(landmarks: np.ndarray, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """A square around the head (HEAD_CROP face heights wide), inside the image: the defects
    this sheet is for are at the face's scale."""
    low, high = landmarks[:, :2].min(axis=0), landmarks[:, :2].max(axis=0)
    centre, side = (low + high) / 2, HEAD_CROP * float(high[1] - low[1])
    x0, y0 = np.maximum(np.round(centre - side / 2).astype(int), 0)
    x1, y1 = np.minimum(np.round(centre + side / 2).astype(int), [shape[1], shape[0]])
    return slice(y0, y1), slice(x0, x1)


def cell(image: np.ndarray) -> np.ndarray:
    width = round(image.shape[1] * CELL_HEIGHT / image.shape[0])
    return resize_image(image, (width, CELL_HEIGHT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", default=CLIP)
    parser.add_argument("--paintings", nargs="*", default=PAINTINGS)
    parser.add_argument("--at", type=int, nargs=3, metavar="FRAME",
                        help="these driver frames instead of the picked ones (to compare runs)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" /
                        "contact_sheet.png")
    args = parser.parse_args()

    frames, fps = read_video(TESTDATA / "driving" / args.clip)
    track, _ = track_frames(frames, fps)
    picked = args.at or [int(np.argmax(measure(track)))
                         for measure in (head_motion, mouth_opening, gaze)]
    rows = [[label(cell(frames[0]), "driver, frame 0")]
            + [label(cell(frames[t]), f"{moment}: frame {t}")
               for moment, t in zip(MOMENTS, picked)]]
    for name in args.paintings:
        portrait = read_image(TESTDATA / "portraits" / name)
        landmarks = detect_landmarks(portrait)
        targets = retarget(track, landmarks)
        generator = Generator(portrait, landmarks)
        crop = head_crop(landmarks, portrait.shape)
        rows.append([label(cell(portrait[crop]), name.removeprefix("painting_").split(".")[0])]
                    + [cell(generator.render(targets[t])[crop]) for t in picked])
    width = max(sum(c.shape[1] for c in row) for row in rows)
    sheet = np.full((CELL_HEIGHT * len(rows), width, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        x = 0
        for image in row:
            sheet[r * CELL_HEIGHT:(r + 1) * CELL_HEIGHT, x:x + image.shape[1]] = image
            x += image.shape[1]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_image(args.output, sheet)
    print(f"frames {dict(zip(MOMENTS, picked))} -> {args.output}")


if __name__ == "__main__":
    main()
