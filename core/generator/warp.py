"""The dense backward map: a triangle mesh moved to the target, rasterized with a depth test.

The control points are triangulated once, on the source. Each frame the triangles are drawn
at their target positions, and every output pixel takes the source position from the triangle
covering it. Triangles that turn their back to the viewer (their target orientation flips, as
the far cheek does when the head turns) are culled, and where moved triangles overlap the one
nearest the camera wins: the head turns with occlusion instead of folding over itself, and a
mirrored copy of the skin never shows. Inside a triangle the map is affine, so it is exact at
the control points and smooth between them. It is evaluated on a coarse lattice of nodes (a
fixed number of cells across the face) and upsampled, leaving one bilinear grid_sample per
output pixel as the only full-resolution cost.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.spatial import Delaunay

from .composite import Box, bounding_box

INSIDE_TOLERANCE = 1e-5  # barycentric slack (float32) so nodes on shared edges are not lost


def signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Twice the signed area (M,) of each triangle of points (N, 2); > 0 = counter-clockwise
    in image axes (y down)."""
    corner = points[triangles]
    e1, e2 = corner[:, 1] - corner[:, 0], corner[:, 2] - corner[:, 0]
    return e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]


def triangulate(points: np.ndarray) -> np.ndarray:
    """Delaunay triangles (M, 3) of points (N, 2), all with positive signed area (duplicate
    points are left out of every triangle)."""
    triangles = Delaunay(points).simplices
    flipped = signed_areas(points, triangles) < 0
    triangles[flipped] = triangles[flipped][:, ::-1]
    return triangles


def moving_box(target: np.ndarray, source: np.ndarray, triangles: np.ndarray, margin: float,
               width: int, height: int) -> Box | None:
    """Bounding box of the target triangles that have a moving corner (None if none moves).

    target (N, 2 or 3), source (N, 2): control points; triangles (M, 3)."""
    moving = np.any(target[:, :2] != source, axis=1)
    touched = np.unique(triangles[moving[triangles].any(axis=1)])
    if len(touched) == 0:
        return None
    return bounding_box(target[touched, :2], margin, width, height)


def _affine_forms(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Barycentric coordinates b1, b2 in triangles (M, 3, 2) as affine forms of the position
    (x, y): (M, 2, 3) rows (a, b, c) giving a * x + b * y + c; and twice the signed areas."""
    e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    t0 = corners[:, 0]
    # collapsed triangles (a closed eye) give inf/nan forms here; callers cull them by area
    with np.errstate(divide="ignore", invalid="ignore"):
        w1 = np.stack([e2[:, 1], -e2[:, 0]], axis=-1) / area[:, None]
        w2 = np.stack([-e1[:, 1], e1[:, 0]], axis=-1) / area[:, None]
        forms = np.stack([np.column_stack([w1, -(w1 * t0).sum(1)]),
                          np.column_stack([w2, -(w2 * t0).sum(1)])], axis=1)
    return forms, area


def node_displacement(target: np.ndarray, source: np.ndarray, triangles: np.ndarray,
                      origin: tuple[float, float], cell: float,
                      shape: tuple[int, int]) -> np.ndarray:
    """Backward displacement (source - target position) at lattice nodes: (GH, GW, 2).

    target (N, 3) x, y, depth (smaller = nearer); source (N, 2); triangles (M, 3) positive in
    the source. Node (i, j) sits at origin + cell * (j, i). Only triangles with a moving corner
    are drawn (the rest of the lattice keeps zero displacement), each over the nodes of its
    bounding box, all at once; barycentric coordinates are affine in the node's position, so a
    node costs a few multiply-adds. Back-facing triangles are culled, the nearest one wins.
    """
    rows, cols = shape
    moving = np.any(target[:, :2] != source, axis=1)[triangles].any(axis=1)
    corners = (target[triangles[moving], :2] - np.asarray(origin)) / cell  # lattice units
    forms, area = _affine_forms(corners)
    front = area > 1e-12  # culls back faces and collapsed triangles
    triangles, corners, forms = triangles[moving][front], corners[front], forms[front]

    first = np.maximum(np.ceil(corners.min(axis=1)).astype(np.int64), 0)
    last = np.minimum(np.floor(corners.max(axis=1)).astype(np.int64), [cols - 1, rows - 1])
    extent = np.maximum(last - first + 1, 0)  # (M, 2) nodes across, down
    counts = extent[:, 0] * extent[:, 1]
    # Re-based on each triangle's first node the numbers stay small: safe in float32.
    rebased = forms.copy()
    rebased[..., 2] += forms[..., 0] * first[:, None, 0] + forms[..., 1] * first[:, None, 1]
    rebased = rebased.astype(np.float32)

    # Every node of every bounding box: its triangle and its offset in the box.
    local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    across = np.repeat(extent[:, 0], counts)
    dcol, drow = (local % across).astype(np.float32), (local // across).astype(np.float32)
    b1, b2 = (np.repeat(rebased[:, k, 0], counts) * dcol
              + np.repeat(rebased[:, k, 1], counts) * drow
              + np.repeat(rebased[:, k, 2], counts) for k in (0, 1))
    hit = (b1 >= -INSIDE_TOLERANCE) & (b2 >= -INSIDE_TOLERANCE) & \
          (b1 + b2 <= 1.0 + INSIDE_TOLERANCE)
    tri = np.repeat(np.arange(len(counts)), counts)[hit]
    b1, b2 = b1[hit, None], b2[hit, None]
    col = first[tri, 0] + dcol[hit].astype(np.int64)
    row = first[tri, 1] + drow[hit].astype(np.int64)
    node = row * cols + col

    vertex = triangles[tri]
    # Depth test, only where triangles overlap (shared edges, occlusion): elsewhere a node has
    # a single hit and no sorting is needed.
    shared = np.bincount(node, minlength=rows * cols)[node] > 1
    if shared.any():
        overlap = np.flatnonzero(shared)
        corner = target[vertex[overlap], 2]  # (S, 3) depths
        depth = corner[:, 0] + b1[overlap, 0] * (corner[:, 1] - corner[:, 0]) \
            + b2[overlap, 0] * (corner[:, 2] - corner[:, 0])
        order = overlap[np.lexsort((depth, node[overlap]))]  # by node, nearest first
        nearest = order[np.r_[True, node[order][1:] != node[order][:-1]]]
        keep = np.concatenate([np.flatnonzero(~shared), nearest])
        node, b1, b2, vertex = node[keep], b1[keep], b2[keep], vertex[keep]
    s0 = source[vertex[:, 0]]
    mapped = s0 + b1 * (source[vertex[:, 1]] - s0) + b2 * (source[vertex[:, 2]] - s0)
    position = np.asarray(origin) + cell * np.column_stack([node % cols, node // cols])

    displacement = np.zeros((rows * cols, 2), np.float64)
    displacement[node] = mapped - position
    return displacement.reshape(rows, cols, 2)


def lattice(box: Box, cell: int, width: int, height: int) -> tuple[Box, tuple[int, int]]:
    """The node lattice covering box: (the pixel span it covers, (rows, cols) of nodes).

    The span starts on the box and is a whole number of cells, shifted back inside the image
    where it can be, so upsampling by `cell` lands node k exactly on pixel k * cell.
    """
    x0, y0, x1, y1 = box
    cols = -(-(x1 - 1 - x0) // cell) + 1
    rows = -(-(y1 - 1 - y0) // cell) + 1
    span_w, span_h = (cols - 1) * cell + 1, (rows - 1) * cell + 1
    x0 = max(min(x0, width - span_w), 0)
    y0 = max(min(y0, height - span_h), 0)
    return (x0, y0, x0 + span_w, y0 + span_h), (rows, cols)


def source_tensor(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """The portrait (H, W, 3) uint8 as the sampler's input (1, 3, H, W) float32, plus 0.5.

    Bilinear weights sum to one, so every sample keeps the +0.5 and the cast back to uint8
    (which truncates) rounds to nearest without another full-resolution pass.
    """
    tensor = torch.from_numpy(np.ascontiguousarray(image)).to(device)
    return (tensor.permute(2, 0, 1)[None].float() + 0.5).contiguous()


def lattice_nodes(span: Box, cell: int) -> np.ndarray:
    """(rows, cols, 2) pixel positions of the lattice nodes over span."""
    xs = np.arange(span[0], span[2], cell, dtype=np.float64)
    ys = np.arange(span[1], span[3], cell, dtype=np.float64)
    return np.stack(np.meshgrid(xs, ys), axis=-1)


def warp_into(frame: np.ndarray, image: torch.Tensor, source_positions: np.ndarray, span: Box,
              box: Box) -> None:
    """Write box of frame (H, W, 3) uint8 with image (from source_tensor) sampled at the
    source positions (rows, cols, 2) given at the nodes of a lattice over span (see
    `lattice`), upsampled bilinearly to every pixel.
    """
    height, width = image.shape[-2:]
    # Normalised for grid_sample (align_corners: -1/+1 = first/last pixel centres). The
    # identity part of the map is linear, so upsampling it bilinearly loses nothing.
    scale = 2.0 / np.array([max(width - 1, 1), max(height - 1, 1)])
    nodes = torch.from_numpy((source_positions * scale - 1.0).astype(np.float32))
    grid = F.interpolate(nodes.to(image.device).permute(2, 0, 1)[None],
                         size=(span[3] - span[1], span[2] - span[0]), mode="bilinear",
                         align_corners=True).permute(0, 2, 3, 1)
    x0, y0, x1, y1 = box
    grid = grid[:, y0 - span[1]:y1 - span[1], x0 - span[0]:x1 - span[0]]
    warped = F.grid_sample(image, grid, mode="bilinear", padding_mode="border",
                           align_corners=True)
    # one pass: convert (truncating the +0.5 = rounding), reorder to HWC, write into the frame
    torch.from_numpy(frame)[y0:y1, x0:x1].copy_(warped[0].permute(1, 2, 0))


def warp_mesh_into(frame: np.ndarray, image: torch.Tensor, target: np.ndarray,
                   source: np.ndarray, triangles: np.ndarray, box: Box, cell: int) -> None:
    """Write box of frame with image warped by the mesh: control points target (N, 3) x, y,
    depth -> source (N, 2) (pixel indices) over triangles (M, 3), mapped on a lattice of
    `cell` pixels."""
    height, width = image.shape[-2:]
    span, shape = lattice(box, cell, width, height)
    nodes = lattice_nodes(span, cell)
    nodes += soften(node_displacement(target, source, triangles, span[:2], cell, shape), cell)
    warp_into(frame, image, nodes, span, box)


def soften(field: np.ndarray, cell: float) -> np.ndarray:
    """Round off the stair-steps triangle edges leave where the surface folds away (a turned
    face's far cheek): where a [1, 2, 1] / 4 blur across the lattice (rows, cols, 2) moves the
    displacement by more than about a cell, the blurred field is taken; elsewhere the exact
    one, so smooth motion keeps landmarks exact."""
    padded = np.pad(field, ((1, 1), (0, 0), (0, 0)), mode="edge")
    blurred = 0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:]
    padded = np.pad(blurred, ((0, 0), (1, 1), (0, 0)), mode="edge")
    blurred = 0.25 * padded[:, :-2] + 0.5 * padded[:, 1:-1] + 0.25 * padded[:, 2:]
    change = np.abs(blurred - field).max(axis=-1, keepdims=True)
    weight = np.clip((change - 0.25 * cell) / (0.5 * cell), 0.0, 1.0)
    return field + (blurred - field) * weight
