"""The driving video's own frames at render time, for the layers that take real pixels from
the frame the motion came from: its mouth interior (references.py, `--mouth-from-driver`) and
its creases relative to its neutral frame (detail.py, `--detail`)."""
from __future__ import annotations

from functools import cached_property

import numpy as np

from .detail import DriverDetail
from .references import Reference


class DrivingVideo:
    """A driving video's frames with their landmarks: path, and track (T, 478, 3) in its pixels
    as core.landmarks tracked it (the same landmarks the motion was made from), its neutral
    frame an index into it. Frames are decoded forward as asked (media.VideoFrames)."""

    def __init__(self, path, track: np.ndarray, neutral_frame: int = 0):
        from ..errors import PortraitError
        from ..media import VideoFrames

        if not 0 <= neutral_frame < len(track):
            raise PortraitError(f"{path}: the neutral frame {neutral_frame} is outside the "
                                f"driver's {len(track)} frames")
        self.path, self.track, self.neutral_frame = path, track, neutral_frame
        self._frames = VideoFrames(path)

    def __len__(self) -> int:
        return len(self.track)

    def frame(self, index: int) -> Reference:
        """Frame `index` of the driver with its landmarks."""
        return Reference(self._frames[index], self.track[index], f"{self.path} frame {index}")

    def own_frame(self, index: int) -> Reference | None:
        """The driver's frame `index` for the frame rendered from it, None where the driver
        has no such frame (a scene frame past the video's ends)."""
        return self.frame(index) if 0 <= index < len(self) else None

    @cached_property
    def detail(self) -> DriverDetail:
        """The driver's creases relative to its neutral frame."""
        return DriverDetail(self.frame(self.neutral_frame))

    def render(self, generator, target: np.ndarray, index: int, mouth: bool,
               detail: bool) -> np.ndarray:
        """generator's frame (H, W, 3) uint8 for target landmarks (478, 3) with the driver's
        frame `index` lending its mouth interior (mouth) and its creases (detail); the plain
        frame where the driver has no such frame."""
        if not (mouth or detail):
            return generator.render(target)
        return render_driven(generator, target, self.own_frame(index), mouth,
                             self.detail if detail else None)

    def close(self) -> None:
        self._frames.close()


def render_driven(generator, target: np.ndarray, own: Reference | None, mouth: bool,
                  detail: DriverDetail | None, out: np.ndarray | None = None) -> np.ndarray:
    """generator's frame (H, W, 3) uint8 for target landmarks (478, 3), the driver's own frame
    `own` (None: the driver has none here) lending its mouth interior (mouth) and its creases
    (detail, measured on the driver's neutral frame); rendered into out when given (see
    Generator.render), which is returned."""
    if own is None:
        return generator.render(target, out=out)
    frame = generator.render(target, own if mouth else None, out=out)
    if detail is None:
        return frame
    return detail.add(frame, target, own, in_place=out is not None)
