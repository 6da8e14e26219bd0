"""The resampler backends: OpenCV on the CPU (the default) and torch (any device), each
deterministic, and the two giving the same picture to within a few levels."""
from __future__ import annotations

import numpy as np
import pytest

from core.errors import PortraitError
from core.generator import resample
from core.generator.resample import OpenCVResampler, make_resampler, strips
from core.generator.warp import lattice, lattice_nodes

# torch's float sampler against OpenCV's 1/32-pixel positions: on a sharp edge (a photo's
# 100 levels a pixel) a 64th of a pixel is a level or two. Measured on the frame below: 5 at
# most, over 1 in 0.2 % of the pixels' channels, over 3 in 0.003 %.
MAX_LEVELS_APART = 6


def bilinear_reference(image: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Exact float64 bilinear sampling of image (H, W, 3) at positions (h, w, 2), border
    clamped: what both backends approximate."""
    height, width = image.shape[:2]
    x = np.clip(positions[..., 0], 0, width - 1)
    y = np.clip(positions[..., 1], 0, height - 1)
    x0, y0 = np.minimum(np.floor(x).astype(int), width - 2), np.minimum(np.floor(y).astype(int), height - 2)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    pixels = image.astype(np.float64)
    top = pixels[y0, x0] * (1 - fx) + pixels[y0, x0 + 1] * fx
    bottom = pixels[y0 + 1, x0] * (1 - fx) + pixels[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def upsampled_positions(field: np.ndarray, span, box, cell: int) -> np.ndarray:
    """Pixel + bilinearly upsampled field over box, in float64 (the map both backends use)."""
    x0, y0, x1, y1 = box
    u = (np.arange(x0, x1) - span[0]) / cell
    v = (np.arange(y0, y1) - span[1]) / cell
    c0 = np.minimum(np.floor(u).astype(int), field.shape[1] - 2)
    r0 = np.minimum(np.floor(v).astype(int), field.shape[0] - 2)
    fu, fv = (u - c0)[None, :, None], (v - r0)[:, None, None]
    rows, cols = r0[:, None], c0[None, :]
    top = field[rows, cols] * (1 - fu) + field[rows, cols + 1] * fu
    bottom = field[rows + 1, cols] * (1 - fu) + field[rows + 1, cols + 1] * fu
    disp = top * (1 - fv) + bottom * fv
    grid = np.stack(np.meshgrid(np.arange(x0, x1), np.arange(y0, y1)), axis=-1)
    return grid + disp


@pytest.fixture(scope="module")
def warp_case():
    rng = np.random.default_rng(1)
    # Smooth, as a painting is at the scale of a pixel: steps of at most ~12 levels a pixel.
    rows, cols = np.mgrid[0:101, 0:90]
    image = np.stack([127 + 120 * np.sin(cols / 10.0 + k) * np.cos(rows / 13.0 - k)
                      for k in range(3)], axis=-1).round().astype(np.uint8)
    box, cell = (7, 4, 83, 97), 5  # 93 rows: an odd height
    span, shape = lattice(box, cell, 90, 101)
    field = rng.normal(0, 3, (*shape, 2))
    return image, field, span, box, cell


@pytest.mark.parametrize("strip_pixels", [resample.STRIP_PIXELS, 1])
def test_opencv_resampler_matches_exact_bilinear_sampling(warp_case, strip_pixels,
                                                          monkeypatch):
    # strip_pixels 1: a strip per lattice row, each upsampling its own nodes.
    monkeypatch.setattr(resample, "STRIP_PIXELS", strip_pixels)
    image, field, span, box, cell = warp_case
    frame = np.zeros_like(image)
    OpenCVResampler(image).warp_into(frame, field, span, box, cell)
    x0, y0, x1, y1 = box
    expected = bilinear_reference(image, upsampled_positions(field, span, box, cell))
    difference = np.abs(frame[y0:y1, x0:x1] - expected)
    assert difference.max() <= 1.0 and difference.mean() < 0.3
    outside = np.ones(image.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert not frame[outside].any()  # nothing written outside the box


@pytest.mark.parametrize("strip_pixels", [1, 2000, 10 ** 6])
def test_strips_tile_the_box_in_whole_lattice_rows(warp_case, strip_pixels, monkeypatch):
    monkeypatch.setattr(resample, "STRIP_PIXELS", strip_pixels)
    _, _, span, box, cell = warp_case
    cut = strips(span, box, cell)
    assert [(s[0], s[2]) for s in cut] == [(box[0], box[2])] * len(cut)
    assert cut[0][1] == box[1] and cut[-1][3] == box[3]
    assert all(a[3] == b[1] for a, b in zip(cut, cut[1:]))  # no gap, no overlap
    assert all((s[1] - span[1]) % cell == 0 for s in cut[1:])  # each starts on a node row
    lattice_rows = -(-(box[3] - span[1]) // cell) - (box[1] - span[1]) // cell
    assert len(cut) == {1: lattice_rows, 10 ** 6: 1}.get(strip_pixels, len(cut))
    assert 1 < len(cut) < lattice_rows or strip_pixels != 2000


def test_a_lattice_of_one_pixel_cells_gives_each_pixel_its_own_node():
    """With a node on every pixel (the fine lattice around closing lids) nothing is
    interpolated: a part of the box gets pixel + field there, as cv2.resize would give."""
    field = np.random.default_rng(2).normal(0, 3, (40, 50, 2))
    span, part = (5, 7, 55, 47), (9, 12, 40, 30)
    positions = resample.pixel_positions(field, span, part, 1)
    x0, y0, x1, y1 = part
    grid = np.stack(np.meshgrid(np.arange(x0, x1), np.arange(y0, y1)), axis=-1)
    expected = (grid + field[y0 - 7:y1 - 7, x0 - 5:x1 - 5]).astype(np.float32)
    assert positions.dtype == np.float32 and np.array_equal(positions, expected)


def test_opencv_resampler_is_exact_for_whole_pixel_shifts():
    image = np.random.default_rng(4).integers(0, 256, (60, 70, 3), dtype=np.uint8)
    box, cell = (10, 10, 50, 50), 5
    span, shape = lattice(box, cell, 70, 60)
    field = np.zeros((*shape, 2))
    field[...] = (3.0, -2.0)
    frame = image.copy()
    OpenCVResampler(image).warp_into(frame, field, span, box, cell)
    assert np.array_equal(frame[10:50, 10:50], image[8:48, 13:53])


@pytest.mark.parametrize("threads", [1, 2])
def test_opencv_resampler_gives_the_same_bytes_on_any_thread_count(warp_case, threads):
    import cv2

    image, field, span, box, cell = warp_case
    saved = cv2.getNumThreads()
    reference = np.zeros_like(image)
    cv2.setNumThreads(0)  # OpenCV's own choice
    try:
        OpenCVResampler(image).warp_into(reference, field, span, box, cell)
        cv2.setNumThreads(threads)
        frame = np.zeros_like(image)
        OpenCVResampler(image).warp_into(frame, field, span, box, cell)
    finally:
        cv2.setNumThreads(saved)
    assert np.array_equal(frame, reference)


def test_a_device_without_torch_or_unknown_is_a_one_line_error(monkeypatch):
    import sys

    image = np.zeros((20, 20, 3), np.uint8)
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(PortraitError, match="needs torch"):
        make_resampler(image, "cuda")


# --- torch (the optional device backend; `make test` runs these on Python 3.11) -------------

@pytest.mark.torch
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_torch_banded_resample_equals_one_grid_sample(warp_case, threads):
    """torch's box is sampled in row bands, one per thread: the same bytes as one grid_sample
    over the whole box, for any thread count and an odd box height (bands overlap by a row)."""
    import torch
    import torch.nn.functional as F

    from core.generator.resample import TorchResampler, upsample_lattice

    image, field, span, box, cell = warp_case
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        frame = np.zeros_like(image)
        TorchResampler(image, torch.device("cpu")).warp_into(frame, field, span, box, cell)
    finally:
        torch.set_num_threads(saved)
    positions = lattice_nodes(span, cell) + field
    scale = 2.0 / np.array([89, 100])
    grid = upsample_lattice(torch.from_numpy((positions * scale - 1.0).astype(np.float32)), cell)
    grid = grid[box[1] - span[1]:box[3] - span[1], box[0] - span[0]:box[2] - span[0]]
    source = torch.from_numpy(image).permute(2, 0, 1)[None].float() + 0.5
    whole = F.grid_sample(source, grid[None], mode="bilinear", padding_mode="border",
                          align_corners=True)[0].to(torch.uint8).numpy().transpose(1, 2, 0)
    assert np.array_equal(frame[4:97, 7:83], whole)
    assert not frame[:4].any() and not frame[97:].any()


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(9, 7), (1, 5), (4, 1)])
def test_torch_lattice_upsampling_is_bilinear_and_exact_at_the_nodes(shape):
    import torch
    import torch.nn.functional as F

    from core.generator.resample import upsample_lattice

    values = torch.from_numpy(np.random.default_rng(2).normal(0, 50, (*shape, 2)).astype(
        np.float32))
    cell = 6
    upsampled = upsample_lattice(values, cell)
    assert upsampled.shape == ((shape[0] - 1) * cell + 1, (shape[1] - 1) * cell + 1, 2)
    assert torch.equal(upsampled[::cell, ::cell], values)
    if min(shape) == 1:  # a line of nodes: linear interpolation along it
        line = values.reshape(-1, 2).numpy()
        along = np.arange(len(line) * cell - cell + 1) / cell
        expected = np.column_stack([np.interp(along, np.arange(len(line)), line[:, k])
                                    for k in range(2)])
        assert np.allclose(upsampled.reshape(-1, 2).numpy(), expected, atol=1e-4)
    else:
        expected = F.interpolate(values.permute(2, 0, 1)[None], size=upsampled.shape[:2],
                                 mode="bilinear", align_corners=True)[0].permute(1, 2, 0)
        assert torch.allclose(upsampled, expected, atol=1e-4)


@pytest.mark.torch
def test_torch_and_opencv_backends_agree_on_a_real_frame(default_portrait):
    """The same head turn and open mouth through both backends: at most MAX_LEVELS_APART levels
    apart anywhere, and nearly everywhere the same."""
    from core.generator import Generator

    image, landmarks = default_portrait
    target = landmarks.copy()
    target[:, 0] += 0.04 * (target[:, 1] - target[:, 1].mean())  # a shear: every pixel moves
    target[[13, 14, 87, 317, 178, 402, 17, 84, 314], 1] += 12
    cpu = Generator(image, landmarks, device="cpu").render(target)
    torch_cpu = Generator(image, landmarks, device="torch-cpu").render(target)
    difference = np.abs(cpu.astype(int) - torch_cpu)
    assert not np.array_equal(cpu, image)
    assert difference.max() <= MAX_LEVELS_APART, difference.max()
    assert (difference > 1).mean() < 0.01 and (difference > 3).mean() < 1e-4
