"""Boxes, sampling and alpha compositing: work happens only inside boxes where something moves."""
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
    """Planar colours (3, h, w) float32 0..255 with coverage (h, w) in [0, 1] on a box."""
    colour: np.ndarray
    alpha: np.ndarray
    box: Box


def blend(frame: np.ndarray, layer: Layer) -> None:
    """Paint layer over frame (H, W, 3) uint8, in place."""
    x0, y0, x1, y1 = layer.box
    region = np.moveaxis(frame[y0:y1, x0:x1], 2, 0)  # (3, h, w) view
    mixed = region.astype(np.float32)
    mixed = np.clip(mixed + (layer.colour - mixed) * layer.alpha + 0.5, 0, 255)
    for plane, values in zip(region, mixed):  # plane by plane: numpy interleaves slowly
        plane[...] = values  # truncating the +0.5: rounds
