"""Live Link Face (iPhone ARKit) CSV takes -> a motion on the rig.

The app writes one row per captured frame: `Timecode` HH:MM:SS:FF.fff (FF = timecode frame,
.fff = sub-frame), `BlendShapeCount`, the 52 ARKit shapes in PascalCase, then optionally
`HeadYaw/HeadPitch/HeadRoll` and `Left|RightEye Yaw/Pitch/Roll` in radians.

Timing: the timecode's frame rate is not written anywhere; it is the smallest standard rate
above the largest frame field (FF counts 0..rate-1 within each second). Row times are
(timecode frames + sub-frame) / rate, which is exact even across the app's sub-frame drift
(the shared take goes 44.999 -> 46.000: integer frame fields alone would show a false gap).
The capture rate is the row spacing; when the scene runs at the capture rate each row lands on
its own scene frame and keeps its exact values, otherwise the take is resampled linearly.

Angle conventions, checked on the shared take where both gaze shapes and eye angles exist:
eye pitch > 0 looks down (eyeLookDown), eye yaw > 0 looks to the subject's right
(eyeLookInLeft / eyeLookOutRight), and one radian is ~1.6 shape units (full gaze ~35 deg).
That is ARKit's right-handed frame with yaw and roll negated (the app's Unreal convention), so
the head maps onto the rig (core.rig.pose) as yaw = -HeadYaw, pitch = HeadPitch,
roll = HeadRoll, in degrees. (The shared take was recorded with head rotation off - its head
columns are all 0 - so the head signs follow the eyes' convention rather than data.)
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import PortraitError
from ..validate import MAX_DEGREES, MAX_WEIGHT, frame_rate, frame_span
from ..rig.names import ARKIT_NAMES
from ..rig.motion import Motion
from .tracks import dense_tracks, head_curves, make_motion, weight_curves

TIMECODE = re.compile(r"^(\d+):(\d\d):(\d\d)[:;](\d+)(\.\d+)?$")
STANDARD_RATES = (24.0, 25.0, 30.0, 48.0, 50.0, 60.0, 100.0, 120.0, 240.0)
HEAD_COLUMNS = ("HeadYaw", "HeadPitch", "HeadRoll")
EYE_COLUMNS = ("LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
               "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
OPTIONAL_COLUMNS = ("BlendShapeCount",) + HEAD_COLUMNS + EYE_COLUMNS
# Gaze shape units per degree of eye rotation, fitted on the shared take (1.64 per radian).
GAZE_PER_DEGREE = 1.0 / 35.0
MAX_RADIANS = np.radians(MAX_DEGREES)
# Capture and scene rates this close count as equal (timecode clocks drift by ~0.1 %).
SAME_RATE_TOLERANCE = 0.01


@dataclass
class LiveLinkTake:
    """One take: row times, the 52 weights, and the optional head and eye angles."""
    times: np.ndarray  # (N,) seconds from the first row
    timecode_rate: float  # frames per second of the timecode
    weights: np.ndarray  # (N, 52) ARKit order
    head: np.ndarray | None  # (N, 3) yaw, pitch, roll in the rig's degrees
    eyes: np.ndarray | None  # (N, 2, 3) left, right eye: yaw, pitch, roll in the app's degrees

    @property
    def capture_rate(self) -> float:
        """Rows per second, from the median row spacing."""
        if len(self.times) < 2:
            return self.timecode_rate
        return 1.0 / float(np.median(np.diff(self.times)))


def _key(name: str) -> str:
    return name.strip().lower()


def _parse_timecode(text: str, row: str) -> tuple[int, float]:
    """'HH:MM:SS:FF.fff' -> (whole seconds, frame field incl. the sub-frame)."""
    match = TIMECODE.match(text.strip())
    if not match:
        raise PortraitError(f"{row}: bad timecode {text.strip()!r} (expected HH:MM:SS:FF.fff)")
    hours, minutes, seconds, frame, subframe = match.groups()
    if int(minutes) > 59 or int(seconds) > 59:
        raise PortraitError(f"{row}: bad timecode {text.strip()!r}")
    return (int(hours) * 60 + int(minutes)) * 60 + int(seconds), int(frame) + float(subframe or 0)


def _timecode_rate(frame_fields: np.ndarray) -> float:
    highest = int(np.floor(frame_fields.max()))
    for rate in STANDARD_RATES:
        if highest < rate:
            return rate
    raise PortraitError(f"timecode frame field reaches {highest}: no known frame rate")


def _header_columns(header: list[str], path: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Map the header onto (ARKit name -> column, optional name -> column); reject the rest."""
    if not header or _key(header[0]) != "timecode":
        raise PortraitError(f"{path}: not a Live Link Face CSV (the first column must be Timecode)")
    shape_keys = {_key(name): name for name in ARKIT_NAMES}
    optional_keys = {_key(name): name for name in OPTIONAL_COLUMNS}
    shapes, optional = {}, {}
    for column, title in enumerate(header[1:], start=1):
        key = _key(title)
        if key in shape_keys and shape_keys[key] not in shapes:
            shapes[shape_keys[key]] = column
        elif key in optional_keys and optional_keys[key] not in optional:
            optional[optional_keys[key]] = column
        else:
            raise PortraitError(f"{path}: unknown or repeated column {title!r}")
    missing = [name for name in ARKIT_NAMES if name not in shapes]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise PortraitError(f"{path}: missing blendshape columns {', '.join(missing[:3])}{more}")
    for group in (HEAD_COLUMNS, EYE_COLUMNS):
        present = [name for name in group if name in optional]
        if present and len(present) < len(group):
            absent = [name for name in group if name not in optional]
            raise PortraitError(f"{path}: has {present[0]} but no {absent[0]} column")
    return shapes, optional


def read_livelink_csv(path: str | Path) -> LiveLinkTake:
    """Parse a Live Link Face CSV (names matched case-insensitively: PascalCase or camelCase)."""
    path = Path(path)
    if not path.is_file():
        raise PortraitError(f"{path}: no such file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except (UnicodeDecodeError, csv.Error):
        raise PortraitError(f"{path}: not a Live Link Face CSV (not comma-separated text)") from None
    if not rows:
        raise PortraitError(f"{path}: empty file")
    shapes, optional = _header_columns(rows[0], path)
    if len(rows) < 2:
        raise PortraitError(f"{path}: no data rows after the header")

    width = len(rows[0])
    seconds, frame_fields = np.empty(len(rows) - 1, np.int64), np.empty(len(rows) - 1)
    values = np.empty((len(rows) - 1, width - 1))
    for index, row in enumerate(rows[1:]):
        line = index + 2  # 1-based, counting the header, as an editor shows it
        if len(row) != width:
            raise PortraitError(f"{path}: row {line} has {len(row)} fields, the header {width}")
        seconds[index], frame_fields[index] = _parse_timecode(row[0], f"{path}: row {line}")
        try:
            values[index] = [float(cell) for cell in row[1:]]
        except ValueError:
            raise PortraitError(f"{path}: row {line} holds a value that is not a number") from None
    for name, column in (*shapes.items(), *optional.items()):
        limit = MAX_WEIGHT if name in ARKIT_NAMES else MAX_RADIANS
        if name == "BlendShapeCount":
            limit = np.inf
        cells = values[:, column - 1]
        bad = np.flatnonzero(~(np.abs(cells) <= limit))  # NaN fails every comparison
        if len(bad):
            raise PortraitError(f"{path}: row {bad[0] + 2}, column {rows[0][column].strip()!r}: "
                                f"{cells[bad[0]]:g} is not a number within -{limit:g}..{limit:g}")

    try:
        rate = _timecode_rate(frame_fields)
    except PortraitError as exc:
        raise PortraitError(f"{path}: {exc}") from None
    absolute = seconds + frame_fields / rate
    times = absolute - absolute[0]
    backwards = np.flatnonzero(np.diff(times) <= 0)
    if len(backwards):
        raise PortraitError(f"{path}: timecode does not increase at row {backwards[0] + 3}")

    def columns(names):
        return values[:, [optional[name] - 1 for name in names]]

    weights = values[:, [shapes[name] - 1 for name in ARKIT_NAMES]]
    head = None
    if HEAD_COLUMNS[0] in optional:
        yaw, pitch, roll = np.degrees(columns(HEAD_COLUMNS)).T
        head = np.stack([-yaw, pitch, roll], axis=1)
    eyes = np.degrees(columns(EYE_COLUMNS)).reshape(-1, 2, 3) if EYE_COLUMNS[0] in optional else None
    return LiveLinkTake(times, rate, weights, head, eyes)


def gaze_from_eye_rotations(eyes: np.ndarray) -> np.ndarray:
    """Eye angles (N, 2, 3) deg (left, right; yaw, pitch, roll) -> (N, 8) eyeLook* weights.

    Columns: Down, In, Out, Up for the left eye, then the same for the right; ARKit's gaze
    shapes are one-sided, so each angle drives one shape of a pair depending on its sign.
    """
    yaw, pitch = eyes[..., 0] * GAZE_PER_DEGREE, eyes[..., 1] * GAZE_PER_DEGREE
    down, up = np.clip(pitch, 0, 1), np.clip(-pitch, 0, 1)
    rightward, leftward = np.clip(yaw, 0, 1), np.clip(-yaw, 0, 1)
    # A rightward gaze turns the left eye in (towards the nose) and the right eye out.
    left = [down[:, 0], rightward[:, 0], leftward[:, 0], up[:, 0]]
    right = [down[:, 1], leftward[:, 1], rightward[:, 1], up[:, 1]]
    return np.stack(left + right, axis=1)


GAZE_SHAPES = ["eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
               "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight"]


def take_frames(take: LiveLinkTake, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Scene frames (K,) from 0 and the row positions (N,) on them for a scene at `fps`.

    At the capture rate each row is snapped onto its own frame (the drift of the phone's clock
    is not motion); otherwise rows sit at their exact times and frames are interpolated.
    """
    positions = take.times * fps
    if abs(fps / take.capture_rate - 1.0) < SAME_RATE_TOLERANCE:
        snapped = np.rint(positions)
        if (np.diff(snapped) > 0).all():
            positions = snapped
    return np.arange(int(np.floor(positions[-1] + 1e-9)) + 1, dtype=np.float64), positions


def livelink_motion(take: LiveLinkTake, fps: float, frame_start: int = 1,
                    swap_mouth_lr: bool = False, gaze_from_eyes: bool = False,
                    name: str = "livelink") -> Motion:
    """A take as a Motion keyed (LINEAR) on every scene frame from frame_start.

    swap_mouth_lr swaps mouthLeft/mouthRight (some app versions mirror them);
    gaze_from_eyes keys the eyeLook* shapes from the eye rotation columns instead of the take's
    own gaze shapes.
    """
    fps = frame_rate(fps, "scene fps")
    # Before one key per frame is allocated: an hour-long timecode gap would be millions.
    frame_span(frame_start, frame_start + take.times[-1] * fps + 1, name)
    weights = take.weights.copy()
    if swap_mouth_lr:
        left, right = ARKIT_NAMES.index("mouthLeft"), ARKIT_NAMES.index("mouthRight")
        weights[:, [left, right]] = weights[:, [right, left]]
    if gaze_from_eyes:
        if take.eyes is None:
            raise PortraitError("the take has no eye rotation columns to key the gaze from")
        weights[:, [ARKIT_NAMES.index(shape) for shape in GAZE_SHAPES]] = \
            gaze_from_eye_rotations(take.eyes)

    frames, positions = take_frames(take, fps)
    curves = weight_curves(np.stack([np.interp(frames, positions, column)
                                     for column in weights.T], axis=1))
    # A take recorded with head rotation off holds zeros: no head keys, the rig's pose stays free.
    if take.head is not None and np.any(take.head != 0):
        curves.update(head_curves(np.stack([np.interp(frames, positions, column)
                                            for column in take.head.T], axis=1)))
    return make_motion(name, fps, dense_tracks(frames + frame_start, curves), "LINEAR")


def import_livelink(path: str | Path, fps: float, frame_start: int = 1,
                    swap_mouth_lr: bool = False, gaze_from_eyes: bool = False) -> Motion:
    """read_livelink_csv + livelink_motion, named after the file."""
    take = read_livelink_csv(path)
    try:
        return livelink_motion(take, fps, frame_start, swap_mouth_lr, gaze_from_eyes,
                               name=Path(path).stem)
    except PortraitError as exc:  # the take's span at this rate and start: name the file
        raise PortraitError(f"{path}: {exc}") from None
