"""Boxes, sampling and alpha compositing: work happens only inside boxes where something moves."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1: pixel indices, half-open


def bounding_box(points: np.ndarray, margin: float, width: int, height: int) -> Box | None:
    """Box around points (N, 2) (pixel indices) grown by margin, clipped to the image."""
    if len(points) == 0:
        return None
    x0, y0 = np.floor(points.min(axis=0) - margin).astype(int)
    x1, y1 = np.ceil(points.max(axis=0) + margin).astype(int) + 1
    x0, y0 = max(int(x0), 0), max(int(y0), 0)
    x1, y1 = min(int(x1), width), min(int(y1), height)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def pixel_grid(box: Box) -> np.ndarray:
    """(h, w, 2) float32 x, y pixel indices of every pixel of box."""
    x0, y0, x1, y1 = box
    xs, ys = np.meshgrid(np.arange(x0, x1, dtype=np.float32),
                         np.arange(y0, y1, dtype=np.float32))
    return np.stack([xs, ys], axis=-1)


def sample(planes: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Bilinear colours (C, ...) float32 of a planar image (C, H, W) at pixel positions
    xy (..., 2), clamped at the border. Planar, because numpy is slow on a trailing axis of 3."""
    height, width = planes.shape[1:]
    x = np.clip(xy[..., 0], 0, width - 1)
    y = np.clip(xy[..., 1], 0, height - 1)
    x0 = np.minimum(x.astype(np.int64), max(width - 2, 0))
    y0 = np.minimum(y.astype(np.int64), max(height - 2, 0))
    fx = (x - x0).astype(np.float32)
    fy = (y - y0).astype(np.float32)
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    top = planes[:, y0, x0] * (1 - fx) + planes[:, y0, x1] * fx
    bottom = planes[:, y1, x0] * (1 - fx) + planes[:, y1, x1] * fx
    return top * (1 - fy) + bottom * fy


@dataclass
class Layer:
    """Planar colours (3, h, w) float32 0..255 with coverage (h, w) in [0, 1] on a box."""
    colour: np.ndarray
    alpha: np.ndarray
    box: Box


def blend(frame: np.ndarray, layer: Layer) -> None:
    """Paint layer over frame (H, W, 3) uint8, in place."""
    x0, y0, x1, y1 = layer.box
    region = np.moveaxis(frame[y0:y1, x0:x1], 2, 0).astype(np.float32)
    mixed = region + (layer.colour - region) * layer.alpha
    frame[y0:y1, x0:x1] = np.moveaxis(np.clip(mixed + 0.5, 0, 255).astype(np.uint8), 0, 2)
