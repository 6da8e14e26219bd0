"""Boxes, sampling and compositing: work happens only inside boxes where something moves.

Painted layers are alpha-blended. Layers lent by another picture (references) are blended band
by band (Burt and Adelson 1983, "A multiresolution spline"): each frequency band of the
difference between layer and frame is mixed with the coverage blurred to that band's scale, so
the lent pixels' fine detail stops at the edge while their shading meets the frame's gradually,
and no seam shows where two pictures' light differs a little.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1: pixel indices, half-open


def bounding_box(points: np.ndarray, margin: float, width: int, height: int) -> Box | None:
    """Box around points (N, 2) (pixel indices) grown by margin, clipped to the image."""
    if len(points) == 0:
        return None
    x, y = points[:, 0], points[:, 1]  # numpy reduces along a length-2 axis slowly
    x0, y0 = max(math.floor(x.min() - margin), 0), max(math.floor(y.min() - margin), 0)
    x1 = min(math.ceil(x.max() + margin) + 1, width)
    y1 = min(math.ceil(y.max() + margin) + 1, height)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def pixel_axes(box: Box) -> tuple[np.ndarray, np.ndarray]:
    """float32 pixel indices of box: x as a row (1, w), y as a column (h, 1). Maps affine in
    the position then cost one full-size operation instead of a few."""
    x0, y0, x1, y1 = box
    return (np.arange(x0, x1, dtype=np.float32)[None, :],
            np.arange(y0, y1, dtype=np.float32)[:, None])


def sample(planes: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear colours (C, ...) float32 of a planar image (C, H, W) (H, W >= 2) at pixel
    positions x, y (...), clamped at the border. Planar, because numpy is slow on a trailing
    axis of 3."""
    height, width = planes.shape[1:]
    x = np.minimum(np.maximum(x, 0), width - 1)  # np.clip's dispatch costs more on small boxes
    y = np.minimum(np.maximum(y, 0), height - 1)
    x0 = np.minimum(x.astype(np.intp), width - 2)
    y0 = np.minimum(y.astype(np.intp), height - 2)
    fx = (x - x0).astype(np.float32)
    fy = (y - y0).astype(np.float32)
    gx, gy = 1 - fx, 1 - fy
    # Gathered by flat index: numpy's planes[:, rows, cols] is several times slower.
    flat, index = planes.reshape(len(planes), -1), y0 * width + x0
    top_left, top_right, bottom_left, bottom_right = (
        np.take(flat, index + offset, axis=1).astype(np.float32)
        for offset in (0, 1, width, width + 1))
    top = top_left * gx + top_right * fx
    bottom = bottom_left * gx + bottom_right * fx
    return top * gy + bottom * fy


@dataclass
class Layer:
    """Planar colours (3, h, w) float32 0..255 with coverage (h, w) in [0, 1] on a box.
    lent: real pixels of another picture (a reference), blended seamlessly (see blend)."""
    colour: np.ndarray
    alpha: np.ndarray
    box: Box
    lent: bool = False


def blend(frame: np.ndarray, layer: Layer) -> None:
    """Paint layer over frame (H, W, 3) uint8, in place: by frequency band if it is lent."""
    import cv2

    if layer.lent:
        blend_bands(frame, layer)
        return
    x0, y0, x1, y1 = layer.box
    region = frame[y0:y1, x0:x1]
    # OpenCV mixes interleaved pixels a pass each, where numpy is slow on a trailing axis of
    # 3: the planes are interleaved once. Both colours are >= 0, so the absolute value
    # convertScaleAbs takes before rounding to uint8 changes nothing.
    mixed = cv2.blendLinear(cv2.merge(list(layer.colour)), region.astype(np.float32),
                            layer.alpha, 1.0 - layer.alpha)
    cv2.convertScaleAbs(mixed, dst=region)


BAND_SMALLEST = 8  # px: the coarsest band's cells are at most 1/BAND_SMALLEST of the layer's size
MAX_BANDS = 5


def band_count(box: Box) -> int:
    """Frequency bands (pyramid levels below the full size) for a layer on box: the coarsest
    band's scale follows the layer's size, so the shading meets over a span proportionate to
    the part, at any resolution."""
    size = min(box[2] - box[0], box[3] - box[1])
    return int(min(max(math.floor(math.log2(max(size, 1) / BAND_SMALLEST)), 0), MAX_BANDS))


def blend_bands(frame: np.ndarray, layer: Layer) -> None:
    """Blend layer into frame (H, W, 3) uint8 band by band, in place. The difference layer -
    frame is split into a Laplacian pyramid and each level weighted by the coverage's Gaussian
    pyramid at that level; the blurred coverage reaches past the box by about 2 ** (bands + 1)
    pixels, so the work runs on the box grown by that much (zero difference outside the box)."""
    import cv2

    bands = band_count(layer.box)
    height, width = frame.shape[:2]
    x0, y0, x1, y1 = layer.box
    pad = 2 ** (bands + 1)
    gx0, gy0 = max(x0 - pad, 0), max(y0 - pad, 0)
    gx1, gy1 = min(x1 + pad, width), min(y1 + pad, height)
    region = frame[gy0:gy1, gx0:gx1]
    inner = (slice(y0 - gy0, y1 - gy0), slice(x0 - gx0, x1 - gx0))
    difference = np.zeros(region.shape, np.float32)
    difference[inner] = layer.colour.transpose(1, 2, 0) - region[inner]
    coverage = np.zeros(region.shape[:2], np.float32)
    coverage[inner] = layer.alpha
    gaussian, masks = [difference], [coverage]
    for _ in range(bands):
        gaussian.append(cv2.pyrDown(gaussian[-1]))
        masks.append(cv2.pyrDown(masks[-1]))
    blended = gaussian[-1] * masks[-1][..., None]
    for level in range(bands - 1, -1, -1):
        size = gaussian[level].shape[1::-1]
        detail = gaussian[level] - cv2.pyrUp(gaussian[level + 1], dstsize=size)
        blended = cv2.pyrUp(blended, dstsize=size) + detail * masks[level][..., None]
    region[...] = np.clip(region + blended + 0.5, 0, 255).astype(np.uint8)
