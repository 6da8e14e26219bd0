"""Stage 3: the generator — the portrait re-rendered for new landmarks, at its own resolution.

    gen = Generator(source_image (H, W, 3) uint8, source_landmarks (478, 3), device="cpu")
    frame = gen.render(target_landmarks (478, 3))  # uint8 (H, W, 3)
    gen.render(next_landmarks, out=frame)          # into the same frame (large frames)

`references=[Reference(image, landmarks), ...]` (references.py): more pictures of the sitter
lending their real mouths, closed lids and turned cheeks; `render(target, frame_reference)`
the driver's own frame (its mouth interior). `DriverDetail(neutral).add(frame, target, driver_frame)` (detail.py) adds
the driver's creases; `DrivingVideo(path, track).render(generator, target, index, mouth,
detail)` (driver.py) does both from a driving video's own frames.

`baselines` holds the simple warps it is measured against (static, similarity, thin-plate).
"""
from .generator import Generator

__all__ = ["Generator"]
