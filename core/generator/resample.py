"""The resampler: the one full-resolution step, behind a small backend boundary.

The warp gives a backward displacement field on a coarse lattice (see warp.py); a resampler
upsamples it to every pixel of a box and samples the portrait there, bilinearly, writing the
result into the frame. Two backends give the same picture to within a level or two:

- OpenCVResampler (device "cpu", the default): strip by strip of lattice rows, cv2.resize
  upsamples the positions and cv2.remap samples uint8 directly (positions to 1/32 of a pixel;
  four channels, the fast path).
  Both split rows across threads and compute every pixel on its own, and the strips depend
  only on the box and the lattice, so the bytes do not depend on the thread count.
- TorchResampler (any torch device: "cuda", "mps", or "torch-cpu" for torch's CPU sampler):
  float grid_sample, for a machine with a GPU. torch is imported only here, only when asked.
"""
from __future__ import annotations

import numpy as np

from ..errors import PortraitError
from .composite import Box

CPU = "cpu"
TORCH_CPU = "torch-cpu"
STRIP_PIXELS = 1 << 18  # pixels per strip of the CPU resampler: its positions take 2 MB


def make_resampler(image: np.ndarray, device: str = CPU):
    """The resampler for device over image (H, W, 3) uint8; a one-line error if the device
    needs torch and torch is missing, or names no device torch knows."""
    if device == CPU:
        return OpenCVResampler(image)
    try:
        import torch
    except ImportError:
        raise PortraitError(f"device '{device}' needs torch, which is not installed "
                            "(the CPU needs no torch: use --device cpu)") from None
    try:
        torch_device = torch.device(CPU if device == TORCH_CPU else device)
        return TorchResampler(image, torch_device)
    except (RuntimeError, AssertionError) as exc:
        raise PortraitError(f"device '{device}' is not usable here: {exc}") from None


def node_positions(field: np.ndarray, span: Box, box: Box, cell: int
                   ) -> tuple[np.ndarray, tuple[int, int]]:
    """The source positions (r, c, 2) float64 at the lattice nodes whose cells cover box (node
    + field there; the lattice over span has node k on pixel span + k * cell), and the pixel
    (x, y) of the first of them."""
    first_row, first_col = (box[1] - span[1]) // cell, (box[0] - span[0]) // cell
    last_row = -(-(box[3] - 1 - span[1]) // cell)  # the first node on or past the last pixel
    last_col = -(-(box[2] - 1 - span[0]) // cell)
    corner = (span[0] + first_col * cell, span[1] + first_row * cell)
    positions = field[first_row:last_row + 1, first_col:last_col + 1].astype(np.float64)
    positions[..., 0] += corner[0] + cell * np.arange(last_col - first_col + 1)
    positions[..., 1] += corner[1] + cell * np.arange(last_row - first_row + 1)[:, None]
    return positions, corner


def pixel_positions(field: np.ndarray, span: Box, box: Box, cell: int) -> np.ndarray:
    """The source position of every pixel of box (h, w, 2) float32: pixel + the backward
    displacement field (rows, cols, 2) given at the lattice nodes over span (node k on pixel
    span + k * cell, cell odd), upsampled bilinearly."""
    import cv2

    if cell % 2 == 0:
        raise ValueError(f"the lattice cell must be odd, not {cell}")
    x0, y0, x1, y1 = box
    nodes, corner = node_positions(field, span, box, cell)
    if cell == 1:  # a node on every pixel (the fine lattice around closing lids)
        return nodes.astype(np.float32)
    # cv2.resize by a whole factor puts node k at output pixel k * cell + (cell - 1) / 2 and
    # interpolates in float: with an odd cell that is a whole pixel, so cropping gives exactly
    # the bilinear map over box.
    upsampled = cv2.resize(nodes.astype(np.float32), (nodes.shape[1] * cell,
                                                      nodes.shape[0] * cell),
                           interpolation=cv2.INTER_LINEAR)
    top = y0 - corner[1] + (cell - 1) // 2
    left = x0 - corner[0] + (cell - 1) // 2
    return upsampled[top:top + y1 - y0, left:left + x1 - x0]


def strips(span: Box, box: Box, cell: int) -> list[Box]:
    """box cut into strips of whole lattice rows (node k of the lattice over span on pixel
    span + k * cell), each about STRIP_PIXELS: a strip's positions are made and read while
    they are in the cache, instead of a map of the whole box going out to memory and back."""
    x0, y0, x1, y1 = box
    rows = max(1, STRIP_PIXELS // (max(x1 - x0, 1) * cell)) * cell
    node_row = y0 - (y0 - span[1]) % cell
    tops = [y0, *range(node_row + rows, y1, rows)]
    return [(x0, top, x1, bottom) for top, bottom in zip(tops, tops[1:] + [y1])]


class OpenCVResampler:
    """uint8 bilinear resampling on the CPU with OpenCV.

    The portrait is kept with a fourth, unused channel: OpenCV's bilinear remap has a vector
    path for four channels and not for three, and sampling four then dropping one (in the
    cache, strip by strip) costs two thirds of sampling three."""

    def __init__(self, image: np.ndarray):
        import cv2

        self._cv2 = cv2
        self._image = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2RGBA)

    def warp_into(self, frame: np.ndarray, field: np.ndarray, span: Box, box: Box,
                  cell: int) -> None:
        """Sample the portrait into box of frame (H, W, 3) uint8 at pixel + field, the
        backward displacement field (rows, cols, 2) given at the lattice nodes over span
        (node k on pixel span + k * cell, cell odd) and bilinear in between."""
        cv2 = self._cv2
        cut = strips(span, box, cell)
        samples = np.empty(max((y1 - y0) * (x1 - x0) for x0, y0, x1, y1 in cut) * 4, np.uint8)
        for x0, y0, x1, y1 in cut:
            strip = samples[:(y1 - y0) * (x1 - x0) * 4].reshape(y1 - y0, x1 - x0, 4)
            cv2.remap(self._image, pixel_positions(field, span, (x0, y0, x1, y1), cell),
                      None, cv2.INTER_LINEAR, dst=strip, borderMode=cv2.BORDER_REPLICATE)
            cv2.cvtColor(strip, cv2.COLOR_RGBA2RGB, dst=frame[y0:y1, x0:x1])


class TorchResampler:
    """float bilinear resampling with torch's grid_sample on any torch device."""

    def __init__(self, image: np.ndarray, device):
        import torch

        self._torch = torch
        self.device = device
        # The portrait as the sampler's input (1, 3, H, W) float32, plus 0.5: bilinear weights
        # sum to one, so every sample keeps the +0.5 and the cast back to uint8 (which
        # truncates) rounds to nearest. It keeps the image's channels-last memory layout.
        tensor = torch.from_numpy(np.ascontiguousarray(image)).to(device)
        self._source = tensor.permute(2, 0, 1)[None].float() + 0.5
        self.height, self.width = image.shape[:2]

    def warp_into(self, frame: np.ndarray, field: np.ndarray, span: Box, box: Box,
                  cell: int) -> None:
        """As OpenCVResampler.warp_into."""
        torch = self._torch
        x0, y0, x1, y1 = box
        # Only the lattice cells over box need upsampling.
        nodes, part = node_positions(field, span, box, cell)
        # Normalised for grid_sample (align_corners: -1/+1 = first/last pixel centres). The
        # identity part of the map is linear, so upsampling it bilinearly loses nothing.
        scale = 2.0 / np.array([max(self.width - 1, 1), max(self.height - 1, 1)])
        positions = torch.from_numpy((nodes * scale - 1.0).astype(np.float32))
        with torch.inference_mode():
            grid = upsample_lattice(positions.to(self.device), cell)
            grid = grid[y0 - part[1]:y1 - part[1], x0 - part[0]:x1 - part[0]]
            count, step, rows = bands(y1 - y0, torch.get_num_threads())
            row_stride, col_stride, coordinate_stride = grid.stride()
            grid = grid.as_strided((count, rows, x1 - x0, 2),
                                   (step * row_stride, row_stride, col_stride,
                                    coordinate_stride), grid.storage_offset())
            samples = torch.nn.functional.grid_sample(
                self._source.expand(count, -1, -1, -1), grid, mode="bilinear",
                padding_mode="border", align_corners=True)
            # The cast truncates the +0.5 of the source, which rounds.
            planes = samples.to(torch.uint8).cpu().numpy()
        for band, band_planes in enumerate(planes):
            top = y0 + band * step
            for channel, plane in enumerate(band_planes):
                frame[top:top + rows, x0:x1, channel] = plane


def upsample_lattice(values, cell: int):
    """Bilinear upsampling of lattice values (rows, cols, C), a torch tensor, by a whole factor
    `cell`: ((rows - 1) * cell + 1, (cols - 1) * cell + 1, C), node k landing on pixel
    k * cell. Two lerps, the output written once with its channels interleaved, as the sampler
    reads them."""
    import torch

    rows, cols, channels = values.shape
    weight = torch.arange(cell, dtype=values.dtype, device=values.device) / cell
    width = (cols - 1) * cell + 1
    across = values.new_empty(rows, width, channels)
    torch.lerp(values[:, :-1, None], values[:, 1:, None], weight[:, None],
               out=across[:, :-1].view(rows, cols - 1, cell, channels))
    across[:, -1] = values[:, -1]
    upsampled = values.new_empty((rows - 1) * cell + 1, width, channels)
    torch.lerp(across[:-1, None], across[1:, None], weight[:, None, None],
               out=upsampled[:-1].view(rows - 1, cell, width, channels))
    upsampled[-1] = across[-1]
    return upsampled


def bands(height: int, count: int) -> tuple[int, int, int]:
    """Cut `height` rows into at most `count` equal bands: (bands, step between band tops,
    rows per band). The last band ends on the last row; neighbours overlap by < bands rows.
    torch's CPU sampler works on one image per thread, so a box goes in as a batch of bands."""
    count = max(1, min(count, height))
    step = height // count
    return count, step, height - (count - 1) * step
